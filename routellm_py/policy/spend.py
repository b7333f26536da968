"""Dollar budget for N-way routing: hold a target spend per 1,000 requests while traffic
drifts, by adapting lambda of "best quality - lambda x expected cost" online.

A fixed lambda spends whatever the traffic makes it spend: longer prompts cost more input
tokens, harder prompts raise the strong models' estimates. A `SpendBudget` instead adapts
lambda from the traffic, as `Budget` does the threshold of a strong fraction. Per request,
with its estimates q (m,) and expected costs c (m,) included in the window:

    tau    = target USD per request (the target per 1,000 requests / 1000)
    e      = tau * n - S                           (dollars not yet spent in the window)
    a      = max(0, tau + e / step)                (the spend per request to aim for now)
    lambda = the smallest lambda at which the window's requests, each routed to
             argmax_j q_j - lambda * c_j, would spend a mean of at most a

where the window holds the last `window` requests (their q, c and the chosen model), n of
them, S their realised spend (the expected cost of each chosen model: prompt tokens x input
price + expected output tokens x output price, `policy.nway.expected_cost`). The
mean spend is non-increasing in lambda (per request, a larger lambda never picks a dearer
model), so lambda is found by bisection on log lambda. As for `Budget`: the search over
the window is the feed-forward part (it follows the traffic's prices and estimates), the
spend error e the feedback (a shortfall of one request's target moves the aim by
tau / step). Defaults: window 500 requests, step 5 (chosen on the MMLU-Pro drift stream, a
training source, among 5, 10 and 30: the smallest worst 500-request deviation; see
`tests/policy/test_spend.py`). A target above what best-quality routing (lambda = 0)
spends is not reached: lambda stays 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from routellm_py.policy.budget import WindowedBudget
from routellm_py.policy.nway import quality_minus_cost_order

LAMBDA_MAX = 1e12  # beyond it every choice is the cheapest model (estimates are in [0, 1])
DEFAULT_SPEND_STEP = 5.0
SEARCH_STEPS = 40  # bisection steps on log lambda between the bracket's ends


def chosen_costs(quality: np.ndarray, cost: np.ndarray, lam: float) -> np.ndarray:
    """(n,) expected cost of the model each request goes to at `lam` (ties: lower index)."""
    first = quality_minus_cost_order(quality, cost, lam)[:, 0]
    return cost[np.arange(len(cost)), first]


def spend_lambda(quality: np.ndarray, cost: np.ndarray, aim: float) -> float:
    """The smallest lambda (to a relative 2^-40 or so) at which the mean chosen cost of the
    (n, m) requests is <= `aim`; 0 if lambda = 0 already is, `LAMBDA_MAX` if none is."""
    if chosen_costs(quality, cost, 0.0).mean() <= aim:
        return 0.0
    # Bracket: every lambda below lo spends too much, hi spends at most aim.
    lo, hi = 0.0, 1.0
    while chosen_costs(quality, cost, hi).mean() > aim:
        lo, hi = hi, hi * 1e3
        if hi >= LAMBDA_MAX:
            return LAMBDA_MAX
    low = math.log(lo) if lo > 0 else math.log(hi) - 30.0
    high = math.log(hi)
    for _ in range(SEARCH_STEPS):
        mid = (low + high) / 2
        if chosen_costs(quality, cost, math.exp(mid)).mean() > aim:
            low = mid
        else:
            high = mid
    return math.exp(high)


class SpendBudget(WindowedBudget):
    """One target spend in USD per 1,000 requests (`target`), held online (see the module)."""

    default_step = DEFAULT_SPEND_STEP
    lam = float("nan")  # the last decision's lambda

    @staticmethod
    def check_target(target: float) -> float:
        if not (math.isfinite(target) and target > 0):
            raise ValueError(f"a dollar budget must be > 0 USD per 1,000 requests: {target}")
        return target

    def decide(self, quality: np.ndarray, cost: np.ndarray) -> float:
        """lambda for a request with estimates `quality` (m,) and expected costs `cost` (m,);
        the decision (the argmax of quality - lambda x cost) is recorded."""
        quality = np.asarray(quality, dtype=np.float64)
        cost = np.asarray(cost, dtype=np.float64)
        tau = self.target / 1000
        with self._lock:
            past = self.state.recent()[-(self.window - 1) :]
            past = [e for e in past if len(e[1]) == len(cost)]  # not another models list's
            spent = sum(c[j] for _, c, j in past)
            aim = max(0.0, tau + (tau * len(past) - spent) / self.step)
            qs = np.array([q for q, _, _ in past] + [quality])
            cs = np.array([c for _, c, _ in past] + [cost])
            self.lam = spend_lambda(qs, cs, aim)
            chosen = int(quality_minus_cost_order(quality[None], cost[None], self.lam)[0, 0])
            self.state.push((quality.tolist(), cost.tolist(), chosen))
            return self.lam

    def snapshot(self) -> dict[str, Any]:
        """Target, last lambda and the spend per 1,000 requests realised over the window."""
        past = self.state.recent()
        realised = 1000 * sum(c[j] for _, c, j in past) / len(past) if past else None
        return {
            "target_usd_per_1k": self.target,
            "lambda": self.lam if math.isfinite(self.lam) else None,
            "realised_usd_per_1k": realised,
            "window_requests": len(past),
            "window": self.window,
            "step": self.step,
            **self.state.describe(),
        }
