"""LLM calls through litellm: per-model endpoints, bounded retries with backoff, fallback.

Every attempt, failed or not, is recorded; when all fail, `UpstreamError` carries the
record. litellm is imported lazily, with its cost map read from the local copy
(`LITELLM_LOCAL_MODEL_COST_MAP=True`), so nothing is fetched from the network.
"""

from __future__ import annotations

import functools
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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


def load_litellm() -> Any:
    """Import litellm quietly and offline (local model cost map, no debug banners)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


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


def error_status(exc: BaseException) -> tuple[int, bool]:
    """(HTTP status to report to our client, whether a retry may help) for a failed call.

    Timeouts -> 504; rate limits -> 429; provider 4xx on the request itself -> 400 (the
    client's request is at fault, no retry); provider auth errors -> 502 (server
    misconfigured, no retry); 5xx, connection and malformed responses -> 502, retried.
    """
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if name in ("Timeout", "APITimeoutError") or status == 408:
        return 504, True
    if status == 429:
        return 429, True
    if isinstance(status, int) and status in (401, 402, 403):
        return 502, False
    if isinstance(status, int) and 400 <= status < 500:
        return 400, False
    if status is None and name not in ("APIConnectionError", "MidStreamFallbackError"):
        return 502, False  # not a provider error (a bug or a misconfiguration): do not retry
    return 502, True


class UpstreamError(RuntimeError):
    """Every attempt (retries and fallback included) failed; `routing` holds the record."""

    def __init__(self, message: str, status: int, routing: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.routing = routing


class AttemptPlan:
    """The attempts of one request: the routed model with bounded retries and exponential
    backoff (`backoff * 2**k`, capped, with jitter), then the other model if `fallback`.

    Iterate to get (endpoint, delay_s); report each outcome with `failed` / `succeeded`.
    """

    def __init__(
        self,
        routed: ModelEndpoint,
        other: ModelEndpoint,
        routing: dict[str, Any],
        *,
        num_retries: int,
        backoff: float,
        max_backoff: float,
        fallback: bool,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.order = [routed, other] if fallback else [routed]
        self.routing = routing
        self.num_retries = num_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.secrets = tuple(s for s in secrets if s)
        self.routing.setdefault("attempts", [])
        self._retry = True
        self._last_status = 502
        self._started = 0.0

    def __iter__(self) -> Iterator[tuple[ModelEndpoint, float]]:
        for endpoint in self.order:
            self._retry = True
            for k in range(self.num_retries + 1):
                if k and not self._retry:
                    break
                delay = 0.0
                if k:
                    delay = min(self.max_backoff, self.backoff * 2 ** (k - 1))
                    delay *= random.uniform(0.5, 1.0)
                self._started = time.perf_counter() + delay
                yield endpoint, delay

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
        self._last_status, self._retry = error_status(exc)

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
        return UpstreamError(
            f"upstream call failed after {n} attempt(s); last: {last['model']}: "
            f"{last.get('error')}: {last.get('message')}",
            self._last_status,
            self.routing,
        )

    def mid_stream_error(self, endpoint: ModelEndpoint, exc: BaseException) -> UpstreamError:
        """A stream broke after its first chunk was sent: it cannot be retried."""
        self._record(endpoint, exc)
        self.routing["attempts"][-1]["mid_stream"] = True
        self._last_status = error_status(exc)[0]
        return self.error()
