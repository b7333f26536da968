"""The plan of one chat request, written once for the sync and the async caller.

A request plan is a generator that does the bookkeeping (validation, routing record,
attempts, retries, fallback, counters, events) and yields the operations that wait:

- `Route(spec, messages, text)` -> the routing record (scoring may batch or run in a thread),
- `Wait(seconds)` -> None (a retry's backoff),
- `Call(kwargs, stream)` -> the litellm response, or for a stream `(first chunk, rest)`.

A driver performs each operation its own way (blocking, or awaiting) and sends the result
back, or throws the exception it raised; `RequestPlan` steps the generator for it. The
plan's return value is the driver's answer; an exception it raises is the driver's error.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from routellm_py.controller.model_string import RouteSpec


@dataclass(frozen=True)
class Route:
    """Decide where the request goes."""

    spec: RouteSpec
    messages: list[dict[str, Any]]
    text: str


@dataclass(frozen=True)
class Wait:
    """Sleep `seconds` before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Call:
    """Call litellm with `kwargs`; `stream`: read the first chunk too."""

    kwargs: dict[str, Any]
    stream: bool


Op = Route | Wait | Call
Steps = Generator[Op, Any, Any]


@dataclass(frozen=True)
class Done:
    """The plan finished with `value`."""

    value: Any


class RequestPlan:
    """Steps a request generator: `advance(result | exception)` -> the next `Op` or `Done`.

    Exceptions raised by the plan itself (a bad request, every attempt failed) propagate
    out of `advance`; `abort(exc)` throws `exc` (e.g. a cancellation) into the plan so
    that it can record it, and re-raises it."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def start(self) -> Op | Done:
        return self._step(lambda: next(self.steps))

    def advance(self, result: Any = None, error: Exception | None = None) -> Op | Done:
        if error is not None:
            return self._step(lambda: self.steps.throw(error))
        return self._step(lambda: self.steps.send(result))

    def abort(self, exc: BaseException) -> None:
        self.steps.throw(exc)
        raise exc  # the plan did not re-raise it (it must not swallow a cancellation)

    @staticmethod
    def _step(step: Any) -> Op | Done:
        try:
            return step()
        except StopIteration as done:
            return Done(done.value)
