"""The Controller: route each chat completion to the strong or the weak model, then call it
through litellm with timeouts, bounded retries with backoff and an optional fallback."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from routellm_py.controller.calls import (
    AttemptPlan,
    ModelEndpoint,
    UpstreamError,
    litellm_kwargs,
    load_litellm,
)
from routellm_py.controller.messages import validate_messages
from routellm_py.controller.model_string import RouteSpec, RoutingError
from routellm_py.controller.routing import Routing
from routellm_py.routers.base import Router


class Controller(Routing):
    """Route OpenAI-style chat completions between a strong and a weak model.

    `strong_model` / `weak_model`: a litellm model name, a dict or a `ModelEndpoint` with its
    own `api_base` / `api_key` / `api_key_env`; `api_base` / `api_key` are shared defaults.
    Failures: `timeout` per call, `num_retries` retries of transient errors with exponential
    backoff, then, if `fallback`, the other model. Every attempt is reported in the response's
    `routing` field (or in `UpstreamError.routing`). Routing options: see `Routing`.
    """

    def __init__(
        self,
        routers: Sequence[str | Router],
        strong_model: str | dict[str, Any] | ModelEndpoint,
        weak_model: str | dict[str, Any] | ModelEndpoint,
        config: dict[str, dict[str, Any]] | None = None,
        *,
        timeout: float = 600.0,
        num_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        fallback: bool = False,
        **routing: Any,
    ) -> None:
        if num_retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("need num_retries >= 0, timeout > 0 and backoff >= 0")
        super().__init__(routers, strong_model, weak_model, config, **routing)
        self.timeout = timeout
        self.num_retries = num_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.fallback = fallback
        # Counters (router -> routed model -> n, the reference's `model_counts`), per model.
        self.model_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.served_counts: dict[str, int] = defaultdict(int)
        self.failed_attempts: dict[str, int] = defaultdict(int)
        # The OpenAI client's shape: controller.chat.completions.create(...).
        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=self.completion, acreate=self.acompletion)
        )

    # ---- completions -----------------------------------------------------------------------
    def _prepare(
        self, kwargs: dict[str, Any]
    ) -> tuple[RouteSpec, list[dict[str, Any]], str, dict[str, Any]]:
        """Pop routing arguments from create()'s kwargs; validate; the rest goes to litellm."""
        spec = self.spec(
            kwargs.pop("model", None),
            kwargs.pop("router", None),
            kwargs.pop("threshold", None),
            kwargs.pop("strong_fraction", None),
        )
        if "messages" not in kwargs:
            raise RoutingError("messages is required", param="messages")
        messages = validate_messages(kwargs.pop("messages"))
        return spec, messages, self._text(messages), kwargs

    def _plan(self, spec: RouteSpec, threshold: float, win_rate: float) -> AttemptPlan:
        routing = self._decision(spec, threshold, win_rate)
        strong = routing["routed_to"] == "strong"
        with self._lock:
            self.model_counts[spec.router][routing["routed_model"]] += 1
        secrets = tuple(e.secret() or "" for e in (self.strong, self.weak))
        return AttemptPlan(
            self.strong if strong else self.weak,
            self.weak if strong else self.strong,
            routing,
            num_retries=self.num_retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            fallback=self.fallback,
            secrets=secrets,
        )

    def _call_kwargs(
        self, endpoint: ModelEndpoint, messages: list[dict[str, Any]], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        # max_retries=0: the SDK's hidden retries are off; AttemptPlan retries and records.
        call = {
            **endpoint.call_kwargs(),
            "messages": messages,
            "timeout": self.timeout,
            "max_retries": 0,
            **kwargs,
        }
        return litellm_kwargs(call)

    def _failed(self, plan: AttemptPlan, endpoint: ModelEndpoint, exc: Exception) -> None:
        plan.failed(endpoint, exc)
        with self._lock:
            self.failed_attempts[endpoint.model] += 1

    def _served(self, plan: AttemptPlan, endpoint: ModelEndpoint, response: Any) -> Any:
        routing = plan.succeeded(endpoint)
        with self._lock:
            self.served_counts[endpoint.model] += 1
        self._emit("completion", routing)
        return _tag(response, endpoint.model, routing)

    def _error(self, error: UpstreamError) -> UpstreamError:
        self._emit("error", error.routing)
        return error

    def completion(self, **kwargs: Any) -> Any:
        """`chat.completions.create`: route, then call litellm (stream=True: an iterator)."""
        spec, messages, text, rest = self._prepare(kwargs)
        t = self.threshold(spec)
        w = float(self.routers[spec.router].win_rate([text])[0])
        plan = self._plan(spec, t, w)
        litellm = load_litellm()
        for endpoint, delay in plan:
            if delay:
                time.sleep(delay)
            try:
                response = litellm.completion(**self._call_kwargs(endpoint, messages, rest))
                if rest.get("stream"):
                    chunks = iter(response)
                    first = next(chunks)
            except Exception as e:  # recorded in the routing metadata, then retried or raised
                self._failed(plan, endpoint, e)
                continue
            if rest.get("stream"):
                first = self._served(plan, endpoint, first)
                return RoutedStream(self._stream(plan, endpoint, first, chunks), plan.routing)
            return self._served(plan, endpoint, response)
        raise self._error(plan.error())

    def _stream(
        self, plan: AttemptPlan, endpoint: ModelEndpoint, first: Any, chunks: Iterator
    ) -> Iterator:
        yield first
        try:
            for chunk in chunks:
                yield _tag(chunk, endpoint.model)
        except Exception as e:
            raise self._error(plan.mid_stream_error(endpoint, e)) from e

    async def acompletion(self, **kwargs: Any) -> Any:
        """Async twin of `completion`: routing runs in worker threads, batched across
        concurrent requests; stream=True returns an async iterator."""
        spec, messages, text, rest = self._prepare(kwargs)
        loop = asyncio.get_running_loop()
        if spec.threshold is not None:
            t = spec.threshold
        else:
            t = await loop.run_in_executor(self._executor(), self.threshold, spec)
        w = await self._batcher(spec.router).win_rate(text)
        plan = self._plan(spec, t, w)
        litellm = load_litellm()
        for endpoint, delay in plan:
            if delay:  # sleep(0) would still cost a full event-loop iteration
                await asyncio.sleep(delay)
            try:
                response = await litellm.acompletion(**self._call_kwargs(endpoint, messages, rest))
                if rest.get("stream"):
                    chunks = response.__aiter__()
                    first = await chunks.__anext__()
            except Exception as e:  # recorded in the routing metadata, then retried or raised
                self._failed(plan, endpoint, e)
                continue
            if rest.get("stream"):
                first = self._served(plan, endpoint, first)
                return RoutedStream(self._astream(plan, endpoint, first, chunks), plan.routing)
            return self._served(plan, endpoint, response)
        raise self._error(plan.error())

    async def _astream(
        self, plan: AttemptPlan, endpoint: ModelEndpoint, first: Any, chunks: AsyncIterator
    ) -> AsyncIterator:
        yield first
        try:
            async for chunk in chunks:
                yield _tag(chunk, endpoint.model)
        except Exception as e:
            raise self._error(plan.mid_stream_error(endpoint, e)) from e

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters: routed per router and model, served, failed attempts,
        routing batches (count, prompts) and prompts waiting to be scored, per router."""
        queue = self.routing_queue()
        with self._lock:
            return {
                "routing_queue": queue,
                "routed": {r: dict(c) for r, c in self.model_counts.items()},
                "served": dict(self.served_counts),
                "failed_attempts": dict(self.failed_attempts),
                "routing_batches": {
                    r: {"batches": b, "prompts": p} for r, (b, p) in self.routing_batches.items()
                },
            }

    def warmup(self) -> None:
        """Import litellm now (a few seconds), not on the first request."""
        load_litellm()


class RoutedStream:
    """The chunks of a streamed completion (iterate, or `async for` from `acreate`) and its
    routing record as `.routing` (also attached to the first chunk)."""

    def __init__(self, chunks: Iterator[Any] | AsyncIterator[Any], routing: dict[str, Any]):
        self.chunks = chunks
        self.routing = routing

    def __iter__(self) -> Iterator[Any]:
        return self.chunks  # type: ignore[return-value]

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.chunks  # type: ignore[return-value]


def _tag(response: Any, model: str, routing: dict[str, Any] | None = None) -> Any:
    """Name the serving model in `model`; attach the routing record as `routing`."""
    response.model = model
    if routing is not None:
        response.routing = routing
    return response
