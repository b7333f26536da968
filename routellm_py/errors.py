"""The error a bad request ends in, with the HTTP status a server answers it with: raised by
the controller (model string, router, threshold, messages) and by the feedback store
(malformed, unknown or repeated feedback), and defined below both.
"""

from __future__ import annotations


class RoutingError(ValueError):
    """A request is invalid (bad model string, router, threshold, messages or feedback).

    `status` is the HTTP status a server should answer with; `param` names the offending
    request field; `code` is an OpenAI-style error code.
    """

    def __init__(
        self, message: str, *, param: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.param = param
        self.status = status
        self.code = code
