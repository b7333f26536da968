"""The Controller: route each chat completion with its `RouterSet`, then call the chosen
model through litellm as its `AttemptPlan` says (one deadline, bounded retries, optional
fallback). One request plan (`Controller._steps`, see `controller.request`) holds that
logic; `completion` and `acompletion` only perform its waits, blocking or awaiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from routellm_py.controller.calls import (
    Attempt,
    AttemptPlan,
    ModelEndpoint,
    RetryPolicy,
    UpstreamError,
    check_first_chunk,
    litellm_kwargs,
    load_litellm,
)
from routellm_py.controller.counters import Counters, LocalCounters, summarise
from routellm_py.controller.messages import validate_messages
from routellm_py.controller.model_string import RouteSpec, RoutingError
from routellm_py.controller.request import Call, Done, Op, RequestPlan, Route, Steps, Wait
from routellm_py.controller.routing import RouterSet, load_routers
from routellm_py.routers.base import Router


class Controller:
    """Route OpenAI-style chat completions between a strong and a weak model, or (with
    `models` and an N-way model string) among N models in a policy's order.

    `strong_model` / `weak_model`: a litellm model name, a dict or a `ModelEndpoint` with its
    own `api_base` / `api_key` / `api_key_env`; `api_base` / `api_key` are shared defaults.
    Failures (`retry`, a `RetryPolicy`; see `AttemptPlan`): `timeout` is one deadline for
    the whole request, every attempt and wait included (a stream: until its first chunk;
    each call gets the time left, at most `attempt_timeout` if set); `num_retries` retries
    of transient errors, after the provider's Retry-After (up to `max_retry_after`) or
    exponential backoff; then, if `fallback`, the other model (N-way: the next in the
    policy's order). Client errors are neither retried nor fallen back. Every attempt is
    reported in the response's `routing` field (or in `UpstreamError.routing`).
    `counters`: where `stats` counts requests (default in-process; `RedisCounters` shares
    them across workers). Routing options: see `RouterSet`, which the controller holds as
    `router_set`.
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
        counters: Counters | None = None,
        **routing: Any,
    ) -> None:
        self.retry = RetryPolicy(
            timeout, attempt_timeout, num_retries, backoff, max_backoff, max_retry_after, fallback
        )
        self.router_set = RouterSet(
            load_routers(routers, config), strong_model, weak_model, **routing
        )
        self.counters: Counters = counters if counters is not None else LocalCounters()
        # The OpenAI client's shape: controller.chat.completions.create(...).
        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=self.completion, acreate=self.acompletion)
        )

    # ---- the router set's API ---------------------------------------------------------------
    @property
    def routers(self) -> dict[str, Router]:
        return self.router_set.routers

    @property
    def strong(self) -> ModelEndpoint:
        return self.router_set.strong

    @property
    def weak(self) -> ModelEndpoint:
        return self.router_set.weak

    @property
    def models(self) -> list[Any]:
        """The N-way `Candidate`s (empty without `models`)."""
        return self.router_set.models

    @property
    def feedback_store(self) -> Any:
        return self.router_set.feedback_store

    def spec(self, *args: Any, **kwargs: Any) -> RouteSpec:
        """See `RouterSet.spec`."""
        return self.router_set.spec(*args, **kwargs)

    def threshold(self, spec: RouteSpec, win_rate: float | None = None) -> float:
        """See `RouterSet.threshold`."""
        return self.router_set.threshold(spec, win_rate)

    def decide(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """See `RouterSet.decide`."""
        return self.router_set.decide(*args, **kwargs)

    def route(self, *args: Any, **kwargs: Any) -> str:
        """See `RouterSet.route`."""
        return self.router_set.route(*args, **kwargs)

    def route_batch(self, *args: Any, **kwargs: Any) -> list[str]:
        """See `RouterSet.route_batch`."""
        return self.router_set.route_batch(*args, **kwargs)

    def win_rates(self, *args: Any, **kwargs: Any) -> list[float]:
        """See `RouterSet.win_rates`."""
        return self.router_set.win_rates(*args, **kwargs)

    def budget_stats(self) -> dict[str, dict[str, Any]]:
        """See `RouterSet.budget_stats`."""
        return self.router_set.budget_stats()

    def feedback(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """See `RouterSet.feedback`."""
        return self.router_set.feedback(*args, **kwargs)

    # ---- the request plan -------------------------------------------------------------------
    def _prepare(
        self, kwargs: dict[str, Any]
    ) -> tuple[RouteSpec, list[dict[str, Any]], str, dict[str, Any]]:
        """Pop routing arguments from create()'s kwargs; validate; the rest goes to litellm."""
        spec = self.router_set.spec(
            kwargs.pop("model", None),
            kwargs.pop("router", None),
            kwargs.pop("threshold", None),
            kwargs.pop("strong_fraction", None),
        )
        if "messages" not in kwargs:
            raise RoutingError("messages is required", param="messages")
        messages = validate_messages(kwargs.pop("messages"))
        return spec, messages, self.router_set.text_of(messages), kwargs

    def _attempts(self, spec: RouteSpec, routing: dict[str, Any], started: float) -> AttemptPlan:
        """The attempts for a decision made `started` (perf_counter) -> routing_ms: the
        routed model, then the other (pair) or the others in policy order (N-way)."""
        routing["routing_ms"] = round(1000 * (time.perf_counter() - started), 3)
        self.counters.incr(f"routed:{spec.router}", routing["routed_model"])
        rs = self.router_set
        if "candidates" in routing:
            by_name = {c.endpoint.model: c.endpoint for c in rs.models}
            order = [by_name[c["model"]] for c in routing["candidates"]]
        else:
            pair = [rs.strong, rs.weak]
            order = pair if routing["routed_to"] == "strong" else pair[::-1]
        return self.retry.plan(order, routing)

    def _steps(self, kwargs: dict[str, Any], relay: Callable[..., Any]) -> Steps:
        """The request plan of one `create(**kwargs)` (see `controller.request`): route,
        then attempt the models in order until one answers; the routed response, or a
        `RoutedStream` (its first chunk read; the rest through `relay`) for stream=True."""
        started = time.perf_counter()
        spec, messages, text, rest = self._prepare(kwargs)
        routing = yield Route(spec, messages, text)
        plan = self._attempts(spec, routing, started)
        self.router_set.store_decision(plan.routing, text)
        stream = bool(rest.get("stream"))
        try:
            for attempt in plan:
                if attempt.delay:  # asyncio.sleep(0) would still cost an event-loop iteration
                    yield Wait(attempt.delay)
                try:
                    response = yield Call(self._call_kwargs(attempt, messages, rest), stream)
                except Exception as e:  # recorded in the routing metadata, then retried or raised
                    plan.failed(attempt.endpoint, e)
                    self.counters.incr("failed_attempts", attempt.endpoint.model)
                    continue
                if stream:
                    first, chunks = response
                    first = self._served(plan, attempt, first, complete=False)
                    return RoutedStream(relay(plan, attempt, first, chunks), plan.routing)
                return self._served(plan, attempt, response)
        except asyncio.CancelledError:
            self._cancelled(plan.routing)
            raise
        raise self._error(plan.error())

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

    def _served(
        self, plan: AttemptPlan, attempt: Attempt, response: Any, complete: bool = True
    ) -> Any:
        """Record the attempt that answered; a complete response is counted as served now,
        a stream (its first chunk here) when it ends (see `_streaming`)."""
        routing = plan.succeeded(attempt.endpoint)
        if complete:
            self.counters.incr("served", attempt.endpoint.model)
            self.router_set.emit("completion", routing)
        return _tag(response, attempt.endpoint.model, routing)

    def _error(self, error: UpstreamError) -> UpstreamError:
        attempts = error.routing["attempts"]
        self.counters.incr("failed", attempts[-1]["model"] if attempts else "")
        self.router_set.emit("error", error.routing)
        return error

    def _cancelled(self, routing: dict[str, Any]) -> None:
        routing["cancelled"] = True
        self.counters.incr("cancelled", "")
        self.router_set.emit("cancelled", routing)

    # ---- drivers ----------------------------------------------------------------------------
    def completion(self, **kwargs: Any) -> Any:
        """`chat.completions.create`: route, then call litellm (stream=True: an iterator)."""
        plan = RequestPlan(self._steps(kwargs, self._stream))
        step = plan.start()
        while not isinstance(step, Done):
            try:
                step = plan.advance(self._perform(step))
            except _Failed as f:
                step = plan.advance(error=f.error)
        return step.value

    def _perform(self, op: Op) -> Any:
        """One operation of the plan, blocking."""
        if isinstance(op, Route):
            return self.router_set.decide_one(op.spec, op.messages, op.text)
        if isinstance(op, Wait):
            return time.sleep(op.seconds)
        try:
            response = load_litellm().completion(**op.kwargs)
            if not op.stream:
                return response
            chunks = iter(response)
            return check_first_chunk(next(chunks)), chunks
        except Exception as e:
            raise _Failed(e) from e

    async def acompletion(self, **kwargs: Any) -> Any:
        """Async `completion` (the same request plan): routing runs in worker threads,
        batched across concurrent requests; stream=True returns an async iterator.
        Cancelling the task stops the request: no further attempt is made."""
        plan = RequestPlan(self._steps(kwargs, self._astream))
        step = plan.start()
        while not isinstance(step, Done):
            try:
                step = plan.advance(await self._aperform(step))
            except _Failed as f:
                step = plan.advance(error=f.error)
            except asyncio.CancelledError as e:
                plan.abort(e)
        return step.value

    async def _aperform(self, op: Op) -> Any:
        """One operation of the plan, awaited."""
        if isinstance(op, Route):
            return await self.router_set.adecide_one(op.spec, op.messages, op.text)
        if isinstance(op, Wait):
            return await asyncio.sleep(op.seconds)
        try:
            response = await load_litellm().acompletion(**op.kwargs)
            if not op.stream:
                return response
            chunks = response.__aiter__()
            return check_first_chunk(await chunks.__anext__()), chunks
        except Exception as e:
            raise _Failed(e) from e

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
        self.counters.incr("served", attempt.endpoint.model)
        self.router_set.emit("completion", plan.routing)

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
        """A snapshot of the counters (`counters.summarise`: routed per router and model and
        its realised share, requests served and failed (a broken stream included) per
        model, failed attempts, cancelled requests; shared across workers with Redis
        counters); routing batches (count, prompts) and prompts waiting to be scored, per
        router; budgets (target, threshold, realised fraction)."""
        rs = self.router_set
        return {
            "routing_queue": rs.routing_queue(),
            **summarise(self.counters.snapshot()),
            "counters": self.counters.describe(),
            "budgets": rs.budget_stats(),
            "routing_batches": rs.batch_counts(),
        }

    def warmup(self) -> None:
        """Import litellm now (a few seconds), not on the first request."""
        load_litellm()

    def close(self) -> None:
        """Stop the routing threads; close the feedback store."""
        self.router_set.close()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Failed(Exception):
    """An upstream call's error, for the plan to record (not the driver's own bug)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


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
