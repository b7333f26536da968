"""LLM calls through litellm: per-model endpoints and the plan of attempts of one request
(bounded retries honouring Retry-After, fallback, one deadline), shared by the sync and
async callers.

Every attempt, failed or not, is recorded; when all fail, `UpstreamError` carries the
record. litellm is imported lazily, with its cost map read from the local copy
(`LITELLM_LOCAL_MODEL_COST_MAP=True`), so nothing is fetched from the network.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import math
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from routellm_py._util import offline_litellm as load_litellm  # noqa: F401 (re-export)

# litellm parameters that choose where a request goes or with which credentials.
ENDPOINT_KEYS = ("api_base", "api_key", "api_version")


@dataclass(frozen=True)
class ModelEndpoint:
    """A litellm model name plus where and how to call it.

    `api_key_env` names an environment variable read at call time, so keys need not sit
    in config files; `extra` holds further litellm kwargs for this model only.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model must be a non-empty string, got {self.model!r}")

    @classmethod
    def coerce(cls, value: str | dict[str, Any] | ModelEndpoint) -> ModelEndpoint:
        """Accept a model name, a dict of the fields, or an endpoint."""
        if isinstance(value, ModelEndpoint):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            known = {"model", "api_base", "api_key", "api_key_env", "extra"}
            unknown = set(value) - known
            if unknown or "model" not in value:
                raise ValueError(
                    f"model endpoint needs 'model' and only {sorted(known)}; got {sorted(value)}"
                )
            return cls(**value)
        raise TypeError(f"model must be a str, dict or ModelEndpoint, got {type(value).__name__}")

    def with_defaults(self, api_base: str | None, api_key: str | None) -> ModelEndpoint:
        """Fill a missing api_base/api_key from shared values (the reference's behaviour)."""
        return ModelEndpoint(
            self.model,
            self.api_base or api_base,
            self.api_key or (None if self.api_key_env else api_key),
            self.api_key_env,
            dict(self.extra),
        )

    def secret(self) -> str | None:
        """The configured key (literal or from `api_key_env`), or None."""
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def resolved_key(self) -> str | None:
        """The key to call with; a named but unset environment variable is an error."""
        key = self.secret()
        if self.api_key_env and not key:
            raise ValueError(f"environment variable {self.api_key_env} (api key) is not set")
        return key

    def call_kwargs(self) -> dict[str, Any]:
        """litellm kwargs for this endpoint (model, api_base, api_key, extras)."""
        kw: dict[str, Any] = {"model": self.model, **self.extra}
        if self.api_base:
            kw["api_base"] = self.api_base
        key = self.resolved_key()
        if key:
            kw["api_key"] = key
        return kw


@functools.cache
def _mcp_handler_needs_skip() -> bool:
    """litellm sends any request with `tools` through its MCP handler, which imports the
    optional `mcp` package (ModuleNotFoundError without it). Versions with that handler
    accept `_skip_mcp_handler`, the flag the handler itself uses."""
    from importlib.util import find_spec

    return (
        find_spec("mcp") is None
        and find_spec("litellm.responses.mcp.chat_completions_handler") is not None
    )


def litellm_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Work around litellm's MCP import for plain function tools (no `"type": "mcp"` tool)."""
    tools = kwargs.get("tools")
    plain = isinstance(tools, list) and not any(
        isinstance(t, dict) and t.get("type") == "mcp" for t in tools
    )
    if tools and plain and _mcp_handler_needs_skip():
        return {**kwargs, "_skip_mcp_handler": True}
    return kwargs


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Provider statuses that the other model would refuse too: the request itself (400, 422) or
# this server's credentials / model names (401, 403, 404). Neither retried nor fallen back.
CLIENT_ERRORS = frozenset({400, 401, 403, 404, 422})
_TIMEOUTS = ("Timeout", "APITimeoutError", "TimeoutError")
_TRANSIENT = ("APIConnectionError", "MidStreamFallbackError", "EmptyStreamError")


class EmptyStreamError(RuntimeError):
    """A stream whose first chunk already ends it with nothing in it: what litellm makes of
    a 200 body that is not SSE (an HTML page, a non-OpenAI JSON). Retried like a 5xx."""

    status_code = 502


def check_first_chunk(chunk: Any) -> Any:
    """The first chunk of a stream, refused (EmptyStreamError) if it ends the stream without
    a role, text or tool call; OpenAI-compatible servers always open with the role."""
    choices = getattr(chunk, "choices", None) or []
    if not choices:
        return chunk  # usage-only or provider-metadata chunks carry no choices
    for choice in choices:
        delta = getattr(choice, "delta", None)
        said = any(
            getattr(delta, k, None) for k in ("role", "content", "tool_calls", "function_call")
        )
        if said or getattr(choice, "finish_reason", None) is None:
            return chunk
    raise EmptyStreamError("the upstream stream ended before any content (not an OpenAI stream)")


@dataclass(frozen=True)
class Failure:
    """What a failed call means: the HTTP `status` for our client, whether retrying the same
    model (`retry`) or trying the other (`fallback`) may help, and the provider's
    Retry-After in seconds, if it sent one."""

    status: int
    retry: bool
    fallback: bool
    retry_after: float | None = None


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's `retry-after-ms` / `Retry-After` (seconds or an HTTP date), if any."""
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if not headers:
        return None
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    try:
        if "retry-after-ms" in lower:
            seconds = float(lower["retry-after-ms"]) / 1000
        elif "retry-after" in lower:
            value = lower["retry-after"].strip()
            if value.replace(".", "", 1).isdigit():
                seconds = float(value)
            else:
                when = email.utils.parsedate_to_datetime(value)
                now = datetime.datetime.now(datetime.timezone.utc)
                seconds = (when - now).total_seconds()
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def classify(exc: BaseException) -> Failure:
    """How to answer a failed call and whether to try again.

    Timeouts -> 504; rate limits -> 429 (retried after the provider's Retry-After);
    CLIENT_ERRORS -> 400 for the request's own faults (400, 422), 502 for ours (401, 403,
    404), never retried nor fallen back; other provider 4xx -> 400 (402: 502), not retried;
    5xx, connection errors and malformed answers -> 502, retried; anything else (a bug or a
    misconfiguration) -> 502, not retried.
    """
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if name in _TIMEOUTS or status == 408:
        return Failure(504, True, True)
    if status == 429:
        return Failure(429, True, True, retry_after_s(exc))
    if status in CLIENT_ERRORS:
        return Failure(400 if status in (400, 422) else 502, False, False)
    if isinstance(status, int) and 400 <= status < 500:
        return Failure(502 if status == 402 else 400, False, True)
    if status is None and name not in _TRANSIENT:
        return Failure(502, False, True)
    return Failure(502, True, True)


class UpstreamError(RuntimeError):
    """Every attempt (retries and fallback included) failed; `routing` holds the record,
    `retry_after` the provider's Retry-After seconds when the answer is a 429."""

    def __init__(
        self, message: str, status: int, routing: dict[str, Any], retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.routing = routing
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """One call of a plan: wait `delay` s, then call `endpoint` with `timeout` s (the time
    left before the request's deadline, at most the plan's `attempt_timeout`)."""

    endpoint: ModelEndpoint
    delay: float
    timeout: float


class AttemptPlan:
    """The attempts of one request, for the sync and the async caller alike: the routed
    model with bounded retries, then the other model (N-way: the others, in order) if
    `fallback`, all within one
    deadline (`deadline_s` from the plan's creation, delays included); `attempt_timeout`
    (optional) bounds each call, so that a hung call leaves time for a retry.

    A retry waits the provider's Retry-After when it sent one (a longer one than
    `max_retry_after` ends that model's retries), else `backoff * 2**k` (capped at
    `max_backoff`, with jitter). Client errors (`CLIENT_ERRORS`) end the plan. Iterate to
    get `Attempt`s; report each outcome with `failed` / `succeeded`.
    """

    def __init__(
        self,
        routed: ModelEndpoint,
        other: ModelEndpoint | Sequence[ModelEndpoint],
        routing: dict[str, Any],
        *,
        num_retries: int,
        backoff: float,
        max_backoff: float,
        fallback: bool,
        deadline_s: float = 600.0,
        attempt_timeout: float | None = None,
        max_retry_after: float = 30.0,
        secrets: tuple[str, ...] = (),
    ) -> None:
        others = [other] if isinstance(other, ModelEndpoint) else list(other)
        self.order = [routed, *others] if fallback else [routed]
        self.routing = routing
        self.num_retries = num_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.deadline_s = deadline_s
        self.deadline = time.monotonic() + deadline_s
        self.attempt_timeout = attempt_timeout or math.inf
        self.max_retry_after = max_retry_after
        self.secrets = tuple(s for s in secrets if s)
        self.routing.setdefault("attempts", [])
        self._failure: Failure | None = None
        self._started = 0.0

    def __iter__(self) -> Iterator[Attempt]:
        for i, endpoint in enumerate(self.order):
            if i and self._failure is not None and not self._failure.fallback:
                return
            for k in range(self.num_retries + 1):
                delay = self._retry_delay(k) if k else 0.0
                if delay is None:
                    break
                timeout = self.deadline - time.monotonic() - delay
                if timeout <= 0:
                    self.routing["deadline_exceeded"] = True
                    return
                self._started = time.perf_counter() + delay
                yield Attempt(endpoint, delay, min(timeout, self.attempt_timeout))

    def _retry_delay(self, k: int) -> float | None:
        """Seconds to wait before retry `k` >= 1 of the same model; None: do not retry."""
        failure = self._failure
        if failure is None or not failure.retry:
            return None
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self.max_retry_after else None
        return min(self.max_backoff, self.backoff * 2 ** (k - 1)) * random.uniform(0.5, 1.0)

    def scrub(self, text: str) -> str:
        """An error message without API keys or terminal colour codes, at most 500 chars."""
        text = _ANSI.sub("", text)
        for s in self.secrets:
            text = text.replace(s, "***")
        return text[:500]

    def _record(self, endpoint: ModelEndpoint, exc: BaseException | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "model": endpoint.model,
            "attempt": len(self.routing["attempts"]) + 1,
            "ok": exc is None,
            "elapsed_ms": round(1000 * (time.perf_counter() - self._started), 1),
        }
        if exc is not None:
            entry["error"] = type(exc).__name__
            entry["status_code"] = getattr(exc, "status_code", None)
            entry["message"] = self.scrub(str(exc))
        self.routing["attempts"].append(entry)
        return entry

    def failed(self, endpoint: ModelEndpoint, exc: BaseException) -> None:
        self._record(endpoint, exc)
        self._failure = classify(exc)

    def succeeded(self, endpoint: ModelEndpoint) -> dict[str, Any]:
        self._record(endpoint, None)
        self.routing["served_model"] = endpoint.model
        self.routing["fallback_used"] = endpoint.model != self.routing["routed_model"]
        return self.routing

    def error(self) -> UpstreamError:
        self.routing.setdefault("served_model", None)
        routed = self.routing["routed_model"]
        self.routing["fallback_used"] = any(a["model"] != routed for a in self.routing["attempts"])
        last = self.routing["attempts"][-1]
        n = len(self.routing["attempts"])
        failure = self._failure or Failure(502, False, False)
        late = (
            f" (deadline of {self.deadline_s:g} s reached)"
            if self.routing.get("deadline_exceeded")
            else ""
        )
        return UpstreamError(
            f"upstream call failed after {n} attempt(s){late}; last: {last['model']}: "
            f"{last.get('error')}: {last.get('message')}",
            failure.status,
            self.routing,
            failure.retry_after if failure.status == 429 else None,
        )

    def mid_stream_error(self, endpoint: ModelEndpoint, exc: BaseException) -> UpstreamError:
        """A stream broke after its first chunk was sent: it cannot be retried."""
        self.failed(endpoint, exc)
        self.routing["attempts"][-1]["mid_stream"] = True
        return self.error()


@dataclass(frozen=True)
class RetryPolicy:
    """How a controller calls models: `timeout` s for a whole request, `attempt_timeout`
    (optional) per call, `num_retries` retries with `backoff` (capped at `max_backoff`, a
    Retry-After up to `max_retry_after`), then the fallback order if `fallback`. Each
    request gets its own `AttemptPlan` from `plan`."""

    timeout: float = 600.0
    attempt_timeout: float | None = None
    num_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0
    fallback: bool = False

    def __post_init__(self) -> None:
        if (
            self.num_retries < 0
            or not self.timeout > 0
            or self.backoff < 0
            or self.max_retry_after < 0
        ):
            raise ValueError(
                "need num_retries >= 0, timeout > 0, backoff >= 0 and max_retry_after >= 0"
            )
        if self.attempt_timeout is not None and not self.attempt_timeout > 0:
            raise ValueError(f"attempt_timeout must be > 0 (or None), got {self.attempt_timeout}")

    def plan(self, order: Sequence[ModelEndpoint], routing: dict[str, Any]) -> AttemptPlan:
        """The attempts of one request: `order[0]` (the routed model), then the others."""
        return AttemptPlan(
            order[0],
            order[1:],
            routing,
            num_retries=self.num_retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            fallback=self.fallback,
            deadline_s=self.timeout,
            attempt_timeout=self.attempt_timeout,
            max_retry_after=self.max_retry_after,
            secrets=tuple(e.secret() or "" for e in order),
        )
