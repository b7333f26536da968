"""Routing without LLM calls: routers by name, thresholds, decisions, batched scoring.

A decision follows RouteLLM §3: strong iff P(strong beats weak | prompt) >= alpha. Alpha
comes from a model string (`router-mf-0.116`) or is calibrated for a target share of strong
calls (`router-mf-s0.3`: the (1 - 0.3) quantile of win rates on calibration prompts), or
adapts online to hold a share of strong calls on live traffic (`router-mf-b0.3`: a
`Budget` per router and target, its window in `budget_state`; see `routellm_py.policy`).

Every routing record has an `id`. With a feedback database (`feedback_db`, see
`routellm_py.feedback.store`) each decision is stored (its prompt only with
`store_prompts`) and `feedback(id, rating=... | preference=...)` records its outcome.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from routellm_py.controller.batcher import WinRateBatcher
from routellm_py.controller.budgets import Budgets
from routellm_py.controller.calls import ModelEndpoint
from routellm_py.controller.messages import (
    RouteOn,
    prompt_chars,
    prompt_to_messages,
    routing_text,
)
from routellm_py.controller.model_string import (
    RouteSpec,
    RoutingError,
    check_unit_interval,
    parse_model_string,
)
from routellm_py.controller.nway import Candidate, candidates, check_router, decisions
from routellm_py.policy.budget import (
    DEFAULT_STEP,
    DEFAULT_WINDOW,
    Budget,
    StateFactory,
    local_state,
)
from routellm_py.policy.spend import DEFAULT_SPEND_STEP
from routellm_py.routers.base import Router, load_router

log = logging.getLogger("routellm_py.controller")

Hook = Callable[[dict[str, Any]], Any]


def load_routers(
    routers: Sequence[str | Router], config: dict[str, dict[str, Any]] | None = None
) -> dict[str, Router]:
    """Load routers by name. `config[name]` may give `checkpoint` (a path) and constructor
    parameters: those of an untrained router such as `random`, or overrides of the
    checkpoint's saved ones (e.g. `dtype`, `device_map`)."""
    config = config or {}
    out: dict[str, Router] = {}
    if isinstance(routers, str) or not routers:
        raise ValueError("routers must be a non-empty list of router names, e.g. ['mf']")
    for r in routers:
        if isinstance(r, Router):
            name, router = r.name, r
        else:
            name = str(r)
            if not name or name != name.strip() or name.endswith("-"):
                raise ValueError(f"router name {name!r} is invalid (empty, padded or ends in '-')")
            params = dict(config.get(name) or {})
            checkpoint = params.pop("checkpoint", None)
            router = load_router(name if checkpoint is None else checkpoint, **params)
        if name in out:
            raise ValueError(f"router {name!r} is listed twice")
        out[name] = router
    return out


class RouterSet:
    """Routers (by name, see `load_routers`) plus the models they choose between
    (strong/weak, and the N-way `models`): the routing-only API, held by the `Controller`.

    `route_on`: score the last user message ("last_user") or the recent conversation
    ("window"), at most `max_route_chars`. Async scoring batches concurrent requests
    (`max_batch`) in `routing_threads` worker threads; routers measured to score a batch in
    under `inline_budget_s` run inline (see `batcher`). `on_decision` gets every record.
    Budgets (`router-<name>-b<fraction>`) keep their window of `budget_window` requests,
    feedback step `budget_step` (see `Budget`), in `budget_state(key, window, kind)`
    (default: in-process; `routellm_py.policy.redis_state` shares it across processes).
    Dollar budgets (`router-<name>-nway-usd<USD per 1,000 requests>`, `SpendBudget`) keep
    the same window there, feedback step `spend_step`.
    `feedback_db`: `sqlite:///PATH` or `postgresql://...` to store decisions and feedback
    (prompt text only if `store_prompts`; N-way decisions with every candidate); a failed
    store write is logged, never fails a request.
    `models`: the N-way models (see `routellm_py.controller.nway`), routed to by
    `router-<name>-nway-lambda<lambda>` / `router-<name>-nway-t<t>`; the strong/weak pair
    and its model strings work as without it.
    """

    def __init__(
        self,
        routers: dict[str, Router],
        strong_model: str | dict[str, Any] | ModelEndpoint,
        weak_model: str | dict[str, Any] | ModelEndpoint,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        route_on: RouteOn = "last_user",
        max_route_chars: int = 4000,
        on_decision: Hook | None = None,
        calibration_prompts: Sequence[str] | None = None,
        data_dir: str | Path | None = None,
        max_batch: int = 64,
        routing_threads: int = 4,
        inline_budget_s: float = 0.001,
        budget_state: StateFactory = local_state,
        budget_window: int = DEFAULT_WINDOW,
        budget_step: float = DEFAULT_STEP,
        spend_step: float = DEFAULT_SPEND_STEP,
        feedback_db: str | None = None,
        store_prompts: bool = False,
        models: Sequence[str | dict[str, Any]] | None = None,
    ) -> None:
        if route_on not in ("last_user", "window"):
            raise ValueError(f"route_on must be 'last_user' or 'window', got {route_on!r}")
        if max_route_chars < 1:
            raise ValueError(f"max_route_chars must be >= 1, got {max_route_chars}")
        self.strong = ModelEndpoint.coerce(strong_model).with_defaults(api_base, api_key)
        self.weak = ModelEndpoint.coerce(weak_model).with_defaults(api_base, api_key)
        self.routers = routers
        self.models: list[Candidate] = (
            [] if models is None else candidates(models, api_base, api_key)
        )
        self._nway_routers: set[str] = set()
        self.route_on: RouteOn = route_on
        self.max_route_chars = max_route_chars
        self.on_decision = on_decision
        self.calibration_prompts = calibration_prompts
        self.data_dir = data_dir
        self.routing_threads = routing_threads
        # WinRateBatcher options, one batcher per router and event loop.
        self.batching = {"max_batch": max_batch, "inline_budget_s": inline_budget_s}
        self.routing_batches: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._lock = threading.Lock()
        self._calibration_lock = threading.Lock()
        self._thresholds: dict[tuple[str, float], float] = {}
        self.budgets = Budgets(budget_state, budget_window, budget_step, spend_step)
        self._pool: ThreadPoolExecutor | None = None
        self._batchers: weakref.WeakKeyDictionary[Any, dict[str, WinRateBatcher]] = (
            weakref.WeakKeyDictionary()
        )
        self.feedback_store = None
        if feedback_db is not None:
            from routellm_py.feedback.store import FeedbackStore

            self.feedback_store = FeedbackStore(feedback_db, store_prompts)

    def spec(
        self,
        model: str | None = None,
        router: str | None = None,
        threshold: float | None = None,
        strong_fraction: float | None = None,
    ) -> RouteSpec:
        """The routing target from a model string, or from router + threshold/fraction."""
        if model is not None:
            if router is not None or threshold is not None or strong_fraction is not None:
                raise RoutingError("give either a router model string or router + threshold")
            spec = parse_model_string(model)
        elif router is None or (threshold is None) == (strong_fraction is None):
            raise RoutingError(
                "routing needs a router and exactly one of threshold / strong_fraction, "
                "or a model string such as router-mf-0.116"
            )
        elif threshold is not None:
            spec = RouteSpec(router, threshold=check_unit_interval(threshold, "threshold"))
        else:
            frac = check_unit_interval(strong_fraction, "strong_fraction", "strong_fraction")
            spec = RouteSpec(router, strong_fraction=frac)
        if spec.router not in self.routers:
            raise RoutingError(
                f"unknown router {spec.router!r}; this controller routes with: "
                f"{', '.join(self.routers)} (model strings look like "
                f"router-{next(iter(self.routers))}-0.5)",
                param="model",
                status=404,
                code="model_not_found",
            )
        if spec.policy is not None:
            self._check_nway(spec.router)
        return spec

    def _check_nway(self, router: str) -> None:
        """Refuse an N-way string without `models`, or for a router that cannot score them."""
        if not self.models:
            raise RoutingError(
                "N-way model strings (router-<name>-nway-...) need the controller's models "
                "list (Controller(models=[...]) or controller.models in the serve config)",
                param="model",
            )
        if router not in self._nway_routers:
            try:
                check_router(self.routers[router], router, self.models)
            except ValueError as e:
                raise RoutingError(str(e), param="model") from e
            with self._lock:
                self._nway_routers.add(router)

    def threshold(self, spec: RouteSpec, win_rate: float | None = None) -> float:
        """The spec's threshold, calibrated (once, then cached) for a strong fraction from the
        checkpoint's win-rate quantiles (or `calibration_prompts`, scored); for a
        budget, the threshold of a request with `win_rate` (recorded as decided)."""
        if spec.threshold is not None:
            return spec.threshold
        if spec.budget is not None:
            if win_rate is None:
                raise ValueError("a budget's threshold depends on the request's win rate")
            return self.budget(spec).decide(win_rate)
        key = (spec.router, float(spec.strong_fraction or 0.0))
        with self._calibration_lock:  # one calibration at a time: concurrent asks wait for it
            if key in self._thresholds:
                return self._thresholds[key]
            from routellm_py.calibration import calibrate

            try:  # a lookup in the checkpoint's win-rate quantiles, or calibration_prompts
                t = calibrate(self.routers[spec.router], key[1], self.calibration_prompts)
            except Exception as e:
                raise RoutingError(
                    f"cannot calibrate router {spec.router!r} for strong fraction {key[1]}: "
                    f"{e}; or use a plain threshold (router-{spec.router}-0.5)",
                    status=500,
                    code="calibration_failed",
                ) from e
            self._thresholds[key] = float(t)
            return float(t)

    def budget(self, spec: RouteSpec) -> Budget:
        """The spec's `Budget` (a strong fraction held online; created on first use)."""
        return self.budgets.fraction(spec)

    def budget_stats(self) -> dict[str, dict[str, Any]]:
        """See `Budgets.stats`."""
        return self.budgets.stats()

    def win_rates(
        self, prompts: Sequence[str | Sequence[dict[str, Any]]], router: str
    ) -> list[float]:
        """P(strong wins) per prompt (or messages list), batched; routes on the configured text."""
        self.spec(router=router, threshold=0.0)
        return [float(w) for w in self.routers[router].win_rate(self._texts(prompts))]

    def _texts(self, prompts: Sequence[str | Sequence[dict[str, Any]]]) -> list[str]:
        return [self.text_of(prompt_to_messages(p)) for p in self._check_list(prompts)]

    @staticmethod
    def _check_list(prompts: Any) -> Any:
        if isinstance(prompts, str | bytes):
            raise TypeError("prompts must be a list of prompts, not one string; wrap it: [prompt]")
        return prompts

    def _nway(
        self, spec: RouteSpec, messages: list[list[dict[str, Any]]], texts: list[str]
    ) -> list[dict[str, Any]]:
        """N-way routing records of validated messages lists and their routing `texts`
        (see `controller.nway`)."""
        chars = [prompt_chars(m) for m in messages]
        spend = self.budgets.spend(spec) if spec.policy == "usd" else None
        records = decisions(spec, self.routers[spec.router], self.models, texts, chars, spend)
        return [{**r, "route_on": self.route_on} for r in records]

    def decide(
        self,
        prompts: Sequence[str | Sequence[dict[str, Any]]],
        router: str | None = None,
        threshold: float | None = None,
        *,
        strong_fraction: float | None = None,
        model: str | None = None,
    ) -> list[dict[str, Any]]:
        """The routing record of each prompt (or messages list): router, threshold, win
        rate, routed model; no LLM call. The target is a `model` string or router +
        threshold / strong_fraction."""
        spec = self.spec(model, router, threshold, strong_fraction)
        messages = [prompt_to_messages(p) for p in self._check_list(prompts)]
        texts = [self.text_of(m) for m in messages]
        if spec.policy is not None:
            records = self._nway(spec, messages, texts)
        else:
            t = None if spec.budget is not None else self.threshold(spec)
            rates = [float(w) for w in self.routers[spec.router].win_rate(texts)]
            records = [
                self._decision(spec, self.threshold(spec, w) if t is None else t, w) for w in rates
            ]
        for routing, text in zip(records, texts, strict=True):
            self.store_decision(routing, text)
            self.emit("route", routing)
        return records

    def decide_one(self, spec: RouteSpec, messages: list[dict[str, Any]], text: str) -> dict:
        """The routing record of one chat request (scoring, calibration or budget here)."""
        if spec.policy is not None:
            return self._nway(spec, [messages], [text])[0]
        w = float(self.routers[spec.router].win_rate([text])[0])
        return self._decision(spec, self.threshold(spec, w), w)

    async def adecide_one(
        self, spec: RouteSpec, messages: list[dict[str, Any]], text: str
    ) -> dict[str, Any]:
        """`decide_one` off the event loop: pair routers score in the router's batcher
        (with concurrent requests); N-way scoring, calibration and budgets (whose state
        may be remote) run in a worker thread."""
        loop = asyncio.get_running_loop()
        if spec.policy is not None:
            return await loop.run_in_executor(
                self._executor(), self.decide_one, spec, messages, text
            )
        w = await self._batcher(spec.router).win_rate(text)
        if spec.threshold is not None:
            t = spec.threshold
        else:
            t = await loop.run_in_executor(self._executor(), self.threshold, spec, w)
        return self._decision(spec, t, w)

    def route_batch(
        self,
        prompts: Sequence[str | Sequence[dict[str, Any]]],
        router: str,
        threshold: float | None = None,
        *,
        strong_fraction: float | None = None,
    ) -> list[str]:
        """The model each prompt (or messages list) would go to; no LLM call."""
        records = self.decide(prompts, router, threshold, strong_fraction=strong_fraction)
        return [r["routed_model"] for r in records]

    def route(
        self,
        prompt: str | Sequence[dict[str, Any]],
        router: str,
        threshold: float | None = None,
        *,
        strong_fraction: float | None = None,
    ) -> str:
        """Single-prompt wrapper of `route_batch`."""
        return self.route_batch([prompt], router, threshold, strong_fraction=strong_fraction)[0]

    def text_of(self, messages: list[dict[str, Any]]) -> str:
        return routing_text(messages, self.route_on, self.max_route_chars)

    def _decision(self, spec: RouteSpec, threshold: float, win_rate: float) -> dict[str, Any]:
        strong = win_rate >= threshold
        return {
            "id": f"rt-{uuid.uuid4().hex}",
            "router": spec.router,
            "threshold": threshold,
            "strong_fraction": spec.strong_fraction,
            **({"budget": spec.budget} if spec.budget is not None else {}),
            "win_rate": win_rate,
            "routed_to": "strong" if strong else "weak",
            "routed_model": (self.strong if strong else self.weak).model,
            "route_on": self.route_on,
        }

    # ---- feedback ---------------------------------------------------------------------------
    def feedback(
        self, id: str, rating: str | float | None = None, preference: str | None = None
    ) -> dict[str, Any]:
        """Record the outcome of the decision `id` (a routing record's id): a `rating` of
        the answer ("good", "bad" or a number in [0, 1]) or a pairwise `preference` between
        both models' answers ("strong", "weak", "tie"). Raises `FeedbackError` (400 bad
        value, 404 unknown id, 409 repeated feedback; 501 without a feedback database)."""
        from routellm_py.feedback.store import FeedbackError

        if self.feedback_store is None:
            raise FeedbackError(
                "feedback is off: no feedback database (start the server with --feedback-db "
                "sqlite:///PATH, or pass feedback_db= to the controller)",
                status=501,
                code="feedback_disabled",
            )
        return self.feedback_store.add_feedback(id, rating, preference)

    def store_decision(self, routing: dict[str, Any], text: str) -> None:
        """Store a decision (with `text` if prompts are stored; an N-way one with its
        candidates); errors are logged."""
        if self.feedback_store is None:
            return
        try:
            if "candidates" in routing:
                self.feedback_store.record_nway(routing, text)
            else:
                router = self.routers[routing["router"]]
                self.feedback_store.record_decision(
                    routing, router.strong_model, router.weak_model, text
                )
        except Exception:
            log.exception("feedback store: decision %s was not stored", routing["id"])

    def _store_served(self, routing: dict[str, Any]) -> None:
        served = routing.get("served_model")
        if self.feedback_store is None or not served:
            return
        if "candidates" not in routing:  # strong/weak; N-way: the model's name
            served = "strong" if served == self.strong.model else "weak"
        try:
            self.feedback_store.mark_served(routing["id"], served)
        except Exception:
            log.exception("feedback store: served model of %s was not stored", routing["id"])

    def emit(self, event: str, routing: dict[str, Any]) -> None:
        if event == "completion":
            self._store_served(routing)
        if self.on_decision is None:
            return
        try:
            self.on_decision({"event": event, **routing})
        except Exception:  # a logging hook must not fail requests; its error is logged
            log.exception("on_decision hook raised")

    # ---- worker threads and batchers --------------------------------------------------------
    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.routing_threads, "routellm-route")
            return self._pool

    def _batcher(self, router: str) -> WinRateBatcher:
        per_loop = self._batchers.setdefault(asyncio.get_running_loop(), {})
        if router not in per_loop:

            def count(n: int) -> None:
                with self._lock:
                    self.routing_batches[router][0] += 1
                    self.routing_batches[router][1] += n

            per_loop[router] = WinRateBatcher(
                self.routers[router].win_rate, self._executor(), on_batch=count, **self.batching
            )
        return per_loop[router]

    def batch_counts(self) -> dict[str, dict[str, int]]:
        """Routing batches scored so far and their prompts, per router."""
        with self._lock:
            return {r: {"batches": b, "prompts": p} for r, (b, p) in self.routing_batches.items()}

    def routing_queue(self) -> dict[str, int]:
        """Prompts waiting to be scored, per router (all event loops)."""
        queue: dict[str, int] = defaultdict(int)
        for per_loop in list(self._batchers.values()):
            for name, batcher in list(per_loop.items()):
                queue[name] += len(batcher.pending)
        return dict(queue)

    def close(self) -> None:
        """Stop the routing threads."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._batchers.clear()  # they hold the pool
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if self.feedback_store is not None:
            self.feedback_store.close()

    def __enter__(self) -> RouterSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
