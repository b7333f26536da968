"""HTTP plumbing shared by the server and the browser pages (`ui.app`): OpenAI-style JSON
errors (`ApiError`) and the bounded, checked read of a JSON request body (`read_json`).

Imports nothing beyond the standard library, so the CLI reads these defaults without
loading the server or the controller.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
BODY_TIMEOUT_S = 30.0
MAX_JSON_DEPTH = 64
MAX_ROUTE_BATCH = 1024
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    421: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_busy",
}


class ApiError(Exception):
    """An error answered as OpenAI-style JSON with HTTP `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str | None = None,
        routing: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.body: dict[str, Any] = {
            "message": message,
            "type": kind or _ERROR_TYPES.get(status, "api_error"),
            "param": param,
            "code": code,
        }
        if routing is not None:
            self.body["routing"] = routing


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def check_json(value: Any, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Refuse what Python's JSON parser lets through but nothing downstream can use:
    nesting deeper than `max_depth`, non-finite numbers (`1e999`) and strings holding a
    lone UTF-16 surrogate (`"\\ud800"`, which cannot be encoded as UTF-8)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if depth > max_depth:
            raise ApiError(400, f"request JSON is nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key, v in item.items():
                _check_text(key, where or "a key")
                stack.append((v, depth + 1, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ApiError(400, f"{where} is {item}: numbers must be finite", param=where)
    return value


def _check_text(text: str, where: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = text[e.start : e.end].encode("unicode_escape").decode()
        raise ApiError(
            400,
            f"{where} holds a lone UTF-16 surrogate ({bad}); send valid Unicode text",
            param=where,
            code="invalid_unicode",
        ) from None


async def read_json(request: Any, limit: int, timeout: float = BODY_TIMEOUT_S) -> Any:
    """The request body parsed as JSON (`check_json`): `Content-Type: application/json`
    (415), at most `limit` bytes (413), read within `timeout` seconds (408)."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ApiError(
            415,
            f"Content-Type must be application/json, got {ctype!r}",
            code="unsupported_media_type",
        )
    declared = request.headers.get("content-length")
    too_big = f"request body exceeds {limit} bytes; send a smaller request"
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, too_big, code="request_too_large")

    async def read() -> bytes:
        parts, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, too_big, code="request_too_large")
            parts.append(chunk)
        return b"".join(parts)

    try:
        raw = await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        raise ApiError(
            408, f"request body not received within {timeout:g} s", code="body_timeout"
        ) from None
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(
            400, f"request JSON is nested deeper than {MAX_JSON_DEPTH} levels", code="invalid_json"
        ) from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, NaN / Infinity
        raise ApiError(400, f"request body is not valid JSON: {e}", code="invalid_json") from e
    return check_json(body)
