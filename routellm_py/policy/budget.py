"""Budget control: send a target share of calls to the strong model while traffic drifts.

RouteLLM (§3) calibrates the threshold alpha once, on calibration prompts; it realises its
strong fraction only while live prompts look like those. A budget instead adapts alpha
from the traffic. For each request, with its win rate w included in the window:

    e     = target * n - s                        (strong calls missing in the window)
    f*    = clip(target + e / step, 0, 1)         (the share to aim for now)
    alpha = the threshold sending a share f* of the window's win rates strong,
            i.e. their (1 - f*) quantile;  strong iff w >= alpha

where the window is the last `window` requests (win rate and decision each), n of them,
s routed strong. The quantile is the feed-forward part: it follows the win-rate
distribution as it moves. The count error e is the feedback: a deficit (or excess) of one
strong call moves f* by 1/step, so what the quantile misses (its lag after a shift,
sampling noise) is paid back within about `step` requests, and the realised fraction over
the window stays close to the target. Defaults: window 500 requests, step 10 calls
(chosen on the MMLU-Pro drift stream, a training source; see `benchmarks/budget`).

The window lives behind `BudgetState` (in-process `LocalState`, or `RedisState` in
`routellm_py.policy.redis_state` so that server workers share one budget).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

DEFAULT_WINDOW = 500
DEFAULT_STEP = 10.0


class BudgetState(Protocol):
    """The recent decisions of one budget, shared by whoever routes with it. An entry is a
    tuple: `(win rate, routed strong)` for a `Budget`, `(qualities, costs, chosen)` for a
    `routellm_py.policy.spend.SpendBudget`."""

    def recent(self) -> list[Any]:
        """The last `window` entries, oldest first."""

    def push(self, entry: Any) -> None:
        """Record one decision."""

    def describe(self) -> dict[str, Any]:
        """Where the state lives and its health (for /stats)."""


# (budget key, window, kind) -> state; kind: "fraction" (a `Budget`) or "spend".
StateFactory = Callable[[str, int, str], BudgetState]


class LocalState:
    """In-process window of entries."""

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.entries: deque[Any] = deque(maxlen=window)

    def recent(self) -> list[Any]:
        return list(self.entries)

    def push(self, entry: Any) -> None:
        self.entries.append(entry)

    def replace(self, entries: Sequence[Any]) -> None:
        """Take another copy's entries (the newest `window`)."""
        self.entries.clear()
        self.entries.extend(entries)

    def describe(self) -> dict[str, Any]:
        return {"state": "local"}


def local_state(key: str, window: int, kind: str = "fraction") -> LocalState:
    """The default `StateFactory`: one in-process window per budget."""
    return LocalState(window)


def aimed_fraction(target: float, strong: np.ndarray, step: float) -> float:
    """f* = clip(target + (target * n - s) / step, 0, 1) over the window's decisions."""
    error = target * len(strong) - float(np.sum(strong))
    return min(1.0, max(0.0, target + error / step))


def fraction_threshold(win_rates: np.ndarray, fraction: float) -> float:
    """The threshold sending round(fraction * m) of the m win rates strong (ties go
    together, strong); above the largest win rate when that count is 0."""
    ordered = np.sort(win_rates)[::-1]
    k = int(round(fraction * len(ordered)))
    if k == 0:
        return math.nextafter(float(ordered[0]), math.inf)
    return float(ordered[k - 1])


def adaptive_threshold(
    win_rates: np.ndarray, strong: np.ndarray, target: float, step: float = DEFAULT_STEP
) -> float:
    """alpha for the newest win rate (last of `win_rates`; `strong`: the decisions of the
    others): the quantile of the window at the fraction the count feedback aims for."""
    return fraction_threshold(win_rates, aimed_fraction(target, strong, step))


class WindowedBudget:
    """What every online budget holds: its `target` (checked by `check_target`), its
    `state` (the last `window` decisions; default in-process), the feedback `step`
    (default `default_step`), and a lock around each decision."""

    default_step = DEFAULT_STEP

    def __init__(
        self,
        target: float,
        state: BudgetState | None = None,
        *,
        window: int = DEFAULT_WINDOW,
        step: float | None = None,
    ) -> None:
        step = self.default_step if step is None else step
        if window < 2 or not step > 0:
            raise ValueError(f"need window >= 2 and step > 0, got {window} and {step}")
        self.target = self.check_target(float(target))
        self.window = window
        self.step = float(step)
        self.state: BudgetState = state if state is not None else LocalState(window)
        self._lock = threading.Lock()

    @staticmethod
    def check_target(target: float) -> float:
        """`target` if valid, else a ValueError saying what is."""
        raise NotImplementedError


class Budget(WindowedBudget):
    """One target strong fraction, adapted online (see the module docstring)."""

    threshold = float("nan")  # the last decision's alpha

    @staticmethod
    def check_target(target: float) -> float:
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"budget target must be a strong fraction in [0, 1], got {target}")
        return target

    def decide(self, win_rate: float) -> float:
        """The threshold for a request with this win rate (strong iff win_rate >= it);
        the decision is recorded."""
        with self._lock:
            past = self.state.recent()[-(self.window - 1) :]
            rates = np.array([w for w, _ in past] + [win_rate], dtype=np.float64)
            strong = np.array([s for _, s in past], dtype=bool)
            self.threshold = adaptive_threshold(rates, strong, self.target, self.step)
            self.state.push((float(win_rate), bool(win_rate >= self.threshold)))
            return self.threshold

    def snapshot(self) -> dict[str, Any]:
        """Target, last threshold and the realised strong fraction over the window."""
        past = self.state.recent()
        realised = sum(s for _, s in past) / len(past) if past else None
        threshold = self.threshold if math.isfinite(self.threshold) else None
        return {
            "target": self.target,
            "threshold": threshold,
            "realised_fraction": realised,
            "window_requests": len(past),
            "window": self.window,
            "step": self.step,
            **self.state.describe(),
        }
