"""Prometheus metrics of the server (`GET /metrics`), through `prometheus_client` (extra
`[serve]`), each app in its own registry.

- `routellm_requests_total{router, model, outcome}`: chat completions by router, model
  (the one that served, else the routed one) and outcome (served / failed / cancelled).
- `routellm_routed_total{router, routed_to}` and `routellm_strong_fraction{router}`: the
  decisions of chat completions (`routed_to`: strong / weak, or for N-way the routed
  model's name), and the share routed strong since start (strong/weak routers).
- `routellm_route_prompts_total{router, routed_to}`: prompts decided by `POST /v1/route`.
- `routellm_routing_seconds{router}`: request arrival to decision (win rate and threshold).
- `routellm_upstream_seconds{model, outcome}`: each upstream attempt (ok / error), to the
  answer or, streamed, to the first chunk.
- `routellm_budget_{target,threshold,realised_fraction}{budget}`: each budget
  (`router-<name>-b<target>`): its target, current threshold and the strong fraction
  realised over its window (shared by all workers when its state is in Redis).
- `routellm_spend_{target_usd_per_1k,lambda,realised_usd_per_1k}{budget}`: each N-way
  dollar budget (`router-<name>-nway-usd<target>`): its target, current lambda and the
  expected spend per 1,000 requests realised over its window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ROUTING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Metrics:
    """The server's counters and histograms; `observe` one request's routing record."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        on = {"registry": self.registry}
        by_router = ["router", "routed_to"]
        self.requests = Counter(
            "routellm_requests", "Chat completions", ["router", "model", "outcome"], **on
        )
        self.routed = Counter(
            "routellm_routed", "Routing decisions of chat completions", by_router, **on
        )
        self.strong_fraction = Gauge(
            "routellm_strong_fraction", "Share routed strong since start", ["router"], **on
        )
        self.route_prompts = Counter(
            "routellm_route_prompts", "POST /v1/route prompts", by_router, **on
        )
        self.routing_seconds = Histogram(
            "routellm_routing_seconds",
            "Seconds from request arrival to the routing decision",
            ["router"],
            buckets=ROUTING_BUCKETS,
            **on,
        )
        self.upstream_seconds = Histogram(
            "routellm_upstream_seconds",
            "Seconds per upstream attempt (streams: to the first chunk)",
            ["model", "outcome"],
            buckets=UPSTREAM_BUCKETS,
            **on,
        )
        self.budget = {
            field: Gauge(f"routellm_{name}", doc, ["budget"], **on)
            for field, name, doc in (
                ("target", "budget_target", "Budget: target strong fraction"),
                ("threshold", "budget_threshold", "Budget: current threshold"),
                (
                    "realised_fraction",
                    "budget_realised_fraction",
                    "Budget: strong fraction realised over its window",
                ),
                ("target_usd_per_1k", "spend_target_usd_per_1k", "Dollar budget: target"),
                ("lambda", "spend_lambda", "Dollar budget: current lambda"),
                (
                    "realised_usd_per_1k",
                    "spend_realised_usd_per_1k",
                    "Dollar budget: USD per 1,000 requests realised over its window",
                ),
            )
        }
        self._counts: dict[str, list[int]] = {}  # router -> [strong, total]

    @classmethod
    def create(cls) -> Metrics | None:
        """Metrics, or None when prometheus_client is not installed."""
        from importlib.util import find_spec

        return cls() if find_spec("prometheus_client") is not None else None

    def observe(self, routing: dict[str, Any], outcome: str) -> None:
        """One chat completion: its decision, attempts and outcome."""
        router = str(routing.get("router"))
        if "routed_to" in routing:
            self.routed.labels(router, routed_label(routing)).inc()
        if routing.get("routed_to") in ("strong", "weak"):
            counts = self._counts.setdefault(router, [0, 0])
            counts[0] += routing["routed_to"] == "strong"
            counts[1] += 1
            self.strong_fraction.labels(router).set(counts[0] / counts[1])
        if "routing_ms" in routing:
            self.routing_seconds.labels(router).observe(routing["routing_ms"] / 1000)
        for attempt in routing.get("attempts", []):
            kind = "ok" if attempt["ok"] else "error"
            self.upstream_seconds.labels(attempt["model"], kind).observe(
                max(0.0, attempt["elapsed_ms"]) / 1000
            )
        model = routing.get("served_model") or routing.get("routed_model")
        self.requests.labels(router, str(model), outcome).inc()

    def observe_route(self, records: Sequence[dict[str, Any]], seconds: float) -> None:
        """One `POST /v1/route` batch, decided in `seconds`."""
        for record in records:
            self.route_prompts.labels(record["router"], routed_label(record)).inc()
        if records:
            self.routing_seconds.labels(records[0]["router"]).observe(seconds)

    def observe_budgets(self, budgets: dict[str, dict[str, Any]]) -> None:
        """Set the budget gauges from `Controller.budget_stats()`."""
        for name, snapshot in budgets.items():
            for field, gauge in self.budget.items():
                if snapshot.get(field) is not None:
                    gauge.labels(name).set(snapshot[field])

    def expose(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def routed_label(routing: dict[str, Any]) -> str:
    """`routed_to` of a record: strong / weak, or for N-way the routed model's name."""
    return str(routing["routed_model"] if "candidates" in routing else routing["routed_to"])
