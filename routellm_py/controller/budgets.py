"""The online budgets of a router set, by model string: strong fractions
(`router-<name>-b<fraction>`, `policy.budget.Budget`) and N-way dollar budgets
(`router-<name>-nway-usd<USD per 1,000 requests>`, `policy.spend.SpendBudget`), each
created on first use with its window in `state(key, window, kind)` (in-process by
default; `policy.redis_state` shares it across processes)."""

from __future__ import annotations

import threading
from typing import Any

from routellm_py.controller.model_string import RouteSpec
from routellm_py.policy.budget import (
    DEFAULT_STEP,
    DEFAULT_WINDOW,
    Budget,
    StateFactory,
    WindowedBudget,
    local_state,
)
from routellm_py.policy.spend import DEFAULT_SPEND_STEP, SpendBudget


class Budgets:
    """Budgets by model string: `window` requests each, feedback step `step` (strong
    fractions) or `spend_step` (dollars)."""

    def __init__(
        self,
        state: StateFactory = local_state,
        window: int = DEFAULT_WINDOW,
        step: float = DEFAULT_STEP,
        spend_step: float = DEFAULT_SPEND_STEP,
    ) -> None:
        self.state = state
        self.window = window
        self.steps = {"fraction": step, "spend": spend_step}
        self.by_name: dict[str, WindowedBudget] = {}
        self._lock = threading.Lock()

    def _get(self, name: str, key: str, kind: str, target: float) -> Any:
        with self._lock:
            if name not in self.by_name:
                made = Budget if kind == "fraction" else SpendBudget
                self.by_name[name] = made(
                    target,
                    self.state(key, self.window, kind),
                    window=self.window,
                    step=self.steps[kind],
                )
            return self.by_name[name]

    def fraction(self, spec: RouteSpec) -> Budget:
        """The `Budget` of `router-<name>-b<fraction>`."""
        target = float(spec.budget or 0.0)
        name = f"router-{spec.router}-b{target:g}"
        return self._get(name, f"{spec.router}:{target:g}", "fraction", target)

    def spend(self, spec: RouteSpec) -> SpendBudget:
        """The `SpendBudget` of `router-<name>-nway-usd<dollars>`."""
        usd = float(spec.policy_param or 0.0)
        name = f"router-{spec.router}-nway-usd{usd:g}"
        return self._get(name, f"{spec.router}:usd{usd:g}", "spend", usd)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per model string: target, current threshold (strong fraction) or lambda
        (dollars), what it realised over its window, and where its state lives."""
        with self._lock:
            budgets = dict(self.by_name)
        return {name: b.snapshot() for name, b in budgets.items()}
