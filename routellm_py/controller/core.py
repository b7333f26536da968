"""The Controller: route each chat completion to the strong or the weak model, then call it
through litellm as its `AttemptPlan` says (one deadline, bounded retries, optional
fallback); the sync and async paths are thin drivers of that one plan."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from routellm_py.controller.calls import (
    Attempt,
    AttemptPlan,
    ModelEndpoint,
    UpstreamError,
    check_first_chunk,
    litellm_kwargs,
    load_litellm,
)
from routellm_py.controller.messages import validate_messages
from routellm_py.controller.model_string import RouteSpec, RoutingError
from routellm_py.controller.routing import Routing
from routellm_py.routers.base import Router


class Controller(Routing):
    """Route OpenAI-style chat completions between a strong and a weak model, or (with
    `models` and an N-way model string) among N models in a policy's order.

    `strong_model` / `weak_model`: a litellm model name, a dict or a `ModelEndpoint` with its
    own `api_base` / `api_key` / `api_key_env`; `api_base` / `api_key` are shared defaults.
    Failures (see `AttemptPlan`): `timeout` is one deadline for the whole request, every
    attempt and wait included (a stream: until its first chunk; each call gets the time
    left, at most `attempt_timeout` if set); `num_retries` retries of transient errors,
    after the provider's Retry-After (up to `max_retry_after`) or exponential backoff;
    then, if `fallback`, the other model (N-way: the next in the policy's order). Client
    errors are neither retried nor fallen back. Every attempt is reported in the
    response's `routing` field (or in `UpstreamError.routing`). Routing options: see `Routing`.
    """

    def __init__(
        self,
        routers: Sequence[str | Router],
        strong_model: str | dict[str, Any] | ModelEndpoint,
        weak_model: str | dict[str, Any] | ModelEndpoint,
        config: dict[str, dict[str, Any]] | None = None,
        *,
        timeout: float = 600.0,
        attempt_timeout: float | None = None,
        num_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        fallback: bool = False,
        **routing: Any,
    ) -> None:
        if num_retries < 0 or not timeout > 0 or backoff < 0 or max_retry_after < 0:
            raise ValueError(
                "need num_retries >= 0, timeout > 0, backoff >= 0 and max_retry_after >= 0"
            )
        if attempt_timeout is not None and not attempt_timeout > 0:
            raise ValueError(f"attempt_timeout must be > 0 (or None), got {attempt_timeout}")
        super().__init__(routers, strong_model, weak_model, config, **routing)
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self.num_retries = num_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.fallback = fallback
        # Counters (router -> routed model -> n, the reference's `model_counts`), per model.
        self.model_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.served_counts: dict[str, int] = defaultdict(int)
        self.failed_counts: dict[str, int] = defaultdict(int)
        self.failed_attempts: dict[str, int] = defaultdict(int)
        self.cancelled = 0
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

    def _plan(self, spec: RouteSpec, routing: dict[str, Any], started: float) -> AttemptPlan:
        """The attempts for a decision made `started` (perf_counter) -> routing_ms: the
        routed model, then the other (pair) or the others in policy order (N-way)."""
        routing["routing_ms"] = round(1000 * (time.perf_counter() - started), 3)
        with self._lock:
            self.model_counts[spec.router][routing["routed_model"]] += 1
        if "candidates" in routing:
            by_name = {c.endpoint.model: c.endpoint for c in self.models}
            order = [by_name[c["model"]] for c in routing["candidates"]]
        else:
            pair = [self.strong, self.weak]
            order = pair if routing["routed_to"] == "strong" else pair[::-1]
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

    def _decide_one(self, spec: RouteSpec, messages: list[dict[str, Any]], text: str) -> dict:
        """The routing record of one request (sync: scoring, calibration or budget)."""
        if spec.policy is not None:
            return self._nway(spec, [messages])[0]
        w = float(self.routers[spec.router].win_rate([text])[0])
        return self._decision(spec, self.threshold(spec, w), w)

    def _call_kwargs(
        self, attempt: Attempt, messages: list[dict[str, Any]], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        # max_retries=0: the SDK's hidden retries are off; AttemptPlan retries and records.
        call = {
            **attempt.endpoint.call_kwargs(),
            "messages": messages,
            "timeout": attempt.timeout,
            "max_retries": 0,
            **kwargs,
        }
        return litellm_kwargs(call)

    def _failed(self, plan: AttemptPlan, attempt: Attempt, exc: Exception) -> None:
        plan.failed(attempt.endpoint, exc)
        with self._lock:
            self.failed_attempts[attempt.endpoint.model] += 1

    def _served(
        self, plan: AttemptPlan, attempt: Attempt, response: Any, complete: bool = True
    ) -> Any:
        """Record the attempt that answered; a complete response is counted as served now,
        a stream (its first chunk here) when it ends (see `_streaming`)."""
        routing = plan.succeeded(attempt.endpoint)
        if complete:
            self._count(self.served_counts, attempt.endpoint.model)
            self._emit("completion", routing)
        return _tag(response, attempt.endpoint.model, routing)

    def _count(self, counter: dict[str, int], model: str) -> None:
        with self._lock:
            counter[model] += 1

    def _error(self, error: UpstreamError) -> UpstreamError:
        attempts = error.routing["attempts"]
        self._count(self.failed_counts, attempts[-1]["model"] if attempts else "")
        self._emit("error", error.routing)
        return error

    def completion(self, **kwargs: Any) -> Any:
        """`chat.completions.create`: route, then call litellm (stream=True: an iterator)."""
        started = time.perf_counter()
        spec, messages, text, rest = self._prepare(kwargs)
        plan = self._plan(spec, self._decide_one(spec, messages, text), started)
        self._store(plan.routing, text)
        litellm = load_litellm()
        for attempt in plan:
            time.sleep(attempt.delay)
            try:
                response = litellm.completion(**self._call_kwargs(attempt, messages, rest))
                if rest.get("stream"):
                    chunks = iter(response)
                    first = check_first_chunk(next(chunks))
            except Exception as e:  # recorded in the routing metadata, then retried or raised
                self._failed(plan, attempt, e)
                continue
            if rest.get("stream"):
                first = self._served(plan, attempt, first, complete=False)
                return RoutedStream(self._stream(plan, attempt, first, chunks), plan.routing)
            return self._served(plan, attempt, response)
        raise self._error(plan.error())

    async def acompletion(self, **kwargs: Any) -> Any:
        """Async twin of `completion` (the same `AttemptPlan`): routing runs in worker
        threads, batched across concurrent requests; stream=True returns an async iterator.
        Cancelling the task stops the request: no further attempt is made."""
        started = time.perf_counter()
        spec, messages, text, rest = self._prepare(kwargs)
        loop = asyncio.get_running_loop()
        if spec.policy is not None:  # N-way: scored in a worker thread, one prompt at a time
            decide = self._decide_one
            routing = await loop.run_in_executor(self._executor(), decide, spec, messages, text)
        else:
            w = await self._batcher(spec.router).win_rate(text)
            if spec.threshold is not None:
                t = spec.threshold
            else:  # calibration or a budget's (possibly remote) state: off the event loop
                t = await loop.run_in_executor(self._executor(), self.threshold, spec, w)
            routing = self._decision(spec, t, w)
        plan = self._plan(spec, routing, started)
        self._store(plan.routing, text)
        litellm = load_litellm()
        try:
            for attempt in plan:
                if attempt.delay:  # sleep(0) would still cost a full event-loop iteration
                    await asyncio.sleep(attempt.delay)
                try:
                    call = self._call_kwargs(attempt, messages, rest)
                    response = await litellm.acompletion(**call)
                    if rest.get("stream"):
                        chunks = response.__aiter__()
                        first = check_first_chunk(await chunks.__anext__())
                except Exception as e:  # recorded in the routing metadata, then retried or raised
                    self._failed(plan, attempt, e)
                    continue
                if rest.get("stream"):
                    first = self._served(plan, attempt, first, complete=False)
                    stream = self._astream(plan, attempt, first, chunks)
                    return RoutedStream(stream, plan.routing)
                return self._served(plan, attempt, response)
        except asyncio.CancelledError:
            self._cancelled(plan.routing)
            raise
        raise self._error(plan.error())

    def _cancelled(self, routing: dict[str, Any]) -> None:
        routing["cancelled"] = True
        with self._lock:
            self.cancelled += 1
        self._emit("cancelled", routing)

    @contextmanager
    def _streaming(self, plan: AttemptPlan, attempt: Attempt) -> Iterator[None]:
        """The outcome of a stream after its first chunk: served when it ends, failed (an
        UpstreamError; it cannot be retried) when it breaks, cancelled when its reader stops."""
        try:
            yield
        except Exception as e:
            raise self._error(plan.mid_stream_error(attempt.endpoint, e)) from e
        except BaseException:  # GeneratorExit or CancelledError: nobody reads any more
            self._cancelled(plan.routing)
            raise
        self._count(self.served_counts, attempt.endpoint.model)
        self._emit("completion", plan.routing)

    def _stream(
        self, plan: AttemptPlan, attempt: Attempt, first: Any, chunks: Iterator
    ) -> Iterator:
        with self._streaming(plan, attempt):
            yield first
            for chunk in chunks:
                yield _tag(chunk, attempt.endpoint.model)

    async def _astream(
        self, plan: AttemptPlan, attempt: Attempt, first: Any, chunks: AsyncIterator
    ) -> AsyncIterator:
        with self._streaming(plan, attempt):
            yield first
            async for chunk in chunks:
                yield _tag(chunk, attempt.endpoint.model)

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters: routed per router and model; requests served and
        failed (a broken stream included) per model; failed attempts; cancelled requests;
        routing batches (count, prompts) and prompts waiting to be scored, per router;
        budgets (target, threshold, realised fraction)."""
        queue = self.routing_queue()
        budgets = self.budget_stats()
        with self._lock:
            return {
                "routing_queue": queue,
                "routed": {r: dict(c) for r, c in self.model_counts.items()},
                "served": dict(self.served_counts),
                "failed": dict(self.failed_counts),
                "failed_attempts": dict(self.failed_attempts),
                "cancelled": self.cancelled,
                "budgets": budgets,
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
    """A copy of `response` naming the serving model in `model`, with the routing record as
    `routing`. A (shallow) copy, never the object itself: litellm's logging thread may be
    serialising that one, and mutating it under its feet can panic pydantic-core
    ("dictionary changed size during iteration")."""
    update: dict[str, Any] = {"model": model}
    if routing is not None:
        update["routing"] = routing
    return response.model_copy(update=update)
