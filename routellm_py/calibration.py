"""Choosing a routing threshold (runtime: no data adapters, no benchmarks).

* `threshold_for_strong_fraction`: RouteLLM's calibration, the (1 - pct) quantile of win
  rates on representative prompts, so that a fraction pct of calls go strong.
* `WinRateQuantiles`: that calibration done ahead of time. A checkpoint's
  `win_rate_quantiles.json` holds the thresholds of a fixed grid of strong fractions on its
  calibration prompts (which prompts: source names, count, sha256), so `router-mf-s0.3` is
  a lookup (`calibrate`), offline and instant. `routellm-py calibrate --write-quantiles`
  (`lab.calibrate.write_checkpoint_quantiles`) computes them on any prompt set.
* `select_threshold_max_drop`: Hybrid LLM §4.5, the threshold with the highest cost
  advantage whose relative quality drop versus all-strong stays within a budget, chosen
  on a validation set; `evaluate_threshold` reports it on a test set (their Table 3).

Thresholds are placed midway between adjacent distinct win rates (see
`metrics.routing_points`), so float noise in a re-computed win rate does not flip a decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import atomic_write
from routellm_py.metrics import (
    relative_quality_drop,
    routed_curve,
    routing_points,
)
from routellm_py.routers.base import QUANTILES_FILE, Router
from routellm_py.routers.calibration import calibrator_digest

GRID = 1001  # strong fractions 0, 0.001, ..., 1


class CalibrationError(ValueError):
    """No threshold for a strong fraction can be looked up (no or stale quantiles)."""


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and what it does: `cost_advantage` = fraction of calls routed weak,
    `quality_drop` = (q_all_strong - q) / |q_all_strong| (fractions; 0.01 = 1%)."""

    threshold: float
    cost_advantage: float
    quality_drop: float


def _win_rates(win_rates: Sequence[float]) -> np.ndarray:
    w = np.asarray(win_rates, dtype=np.float64).reshape(-1)
    if len(w) == 0:
        raise ValueError("no win rates to calibrate on")
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
        raise ValueError("win rates must be finite and in [0, 1]")
    return w


def _candidates(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds in [0, 1] with the strong fraction each realises exactly on `w`.
    'Route none' (threshold 1.0) is only realisable if no win rate equals 1."""
    t, x = routing_points(w)
    t = np.clip(t, 0.0, 1.0)
    keep = np.ones(len(t), dtype=bool)
    keep[0] = w.max() < 1.0
    return t[keep], x[keep]


def _nearest(x: np.ndarray, f: float) -> int:
    """Index of the strong fraction in `x` nearest to f; equal distances go to the larger."""
    dist = np.abs(x - f)
    return int(np.flatnonzero(dist <= dist.min() + 1e-12)[-1])


def _check_fraction(strong_fraction: float) -> float:
    f = float(strong_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction!r}")
    return f


def threshold_for_strong_fraction(win_rates: Sequence[float], strong_fraction: float) -> float:
    """The (1 - pct) quantile of win rates, chosen exactly: of the thresholds realisable on
    these prompts, the one whose strong fraction (share with win_rate >= t) is nearest to
    `strong_fraction`, hence within one prompt of it when win rates are distinct (tied
    prompts move together). Equal distances go to the larger strong fraction."""
    f = _check_fraction(strong_fraction)
    t, x = _candidates(_win_rates(win_rates))
    return float(t[_nearest(x, f)])


def prompts_digest(prompts: Sequence[str]) -> str:
    """sha256 of the prompts sorted and joined by NUL (order-free, repeats count)."""
    return hashlib.sha256("\x00".join(sorted(prompts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True, eq=False)  # arrays: compare fields with np.array_equal
class WinRateQuantiles:
    """Thresholds for a grid of strong fractions on a checkpoint's calibration prompts.

    With G = len(thresholds) (GRID = 1001), entry k is the (k / (G - 1)) quantile in the
    sense of `threshold_for_strong_fraction`: the threshold it returns for strong fraction
    1 - k / (G - 1) on these prompts, and `strong_fractions[k]` is the share of them it
    sends strong. `threshold(f)` returns entry k = round((1 - f)(G - 1)), a half-way f going
    to the smaller k (the larger strong fraction, the tie rule of
    `threshold_for_strong_fraction`). So on the grid (f a multiple of 1 / (G - 1), e.g.
    0.3) the lookup equals `threshold_for_strong_fraction` on the same prompts exactly, and
    off it, its strong fraction there is that of a fraction at most 1 / (2 (G - 1)) away.
    Tied win rates move together, as there. `prompts`: {"sources", "n", "sha256"
    (`prompts_digest`)}; `calibrator`: `calibrator_digest` of the win rates' calibrator.
    """

    thresholds: np.ndarray
    strong_fractions: np.ndarray
    prompts: dict[str, Any]
    calibrator: str

    def __post_init__(self) -> None:
        t, x = self.thresholds, self.strong_fractions
        if t.ndim != 1 or len(t) < 2 or x.shape != t.shape:
            raise ValueError("quantiles need >= 2 thresholds and one strong fraction each")
        bad = not (np.all(np.isfinite(t)) and np.all((t >= 0) & (t <= 1)))
        if bad or np.any(np.diff(t) < 0) or np.any(np.diff(x) > 0):
            raise ValueError("quantile thresholds must lie in [0, 1] and not decrease")

    @classmethod
    def fit(
        cls, win_rates: Sequence[float], prompts: dict[str, Any], calibrator: str, grid: int = GRID
    ) -> WinRateQuantiles:
        """The grid of `threshold_for_strong_fraction` on these win rates."""
        w = _win_rates(win_rates)
        t, x = _candidates(w)
        js = [_nearest(x, 1.0 - k / (grid - 1)) for k in range(grid)]
        return cls(t[js].astype(np.float64), x[js].astype(np.float64), prompts, calibrator)

    def _index(self, strong_fraction: float) -> int:
        g = len(self.thresholds) - 1
        return int(np.ceil(round((1.0 - _check_fraction(strong_fraction)) * g, 9) - 0.5))

    def threshold(self, strong_fraction: float) -> float:
        """The threshold for `strong_fraction` (the lookup rule of the class doc)."""
        return float(self.thresholds[self._index(strong_fraction)])

    def strong_fraction(self, strong_fraction: float) -> float:
        """The share of calibration prompts that `threshold(strong_fraction)` sends strong."""
        return float(self.strong_fractions[self._index(strong_fraction)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "grid": len(self.thresholds),
            "rule": "thresholds[k]: threshold_for_strong_fraction(w, 1 - k/(grid-1))",
            "prompts": self.prompts,
            "calibrator": self.calibrator,
            "thresholds": self.thresholds.tolist(),
            "strong_fractions": self.strong_fractions.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WinRateQuantiles:
        if d.get("format_version") != 1:
            raise ValueError(f"format_version {d.get('format_version')!r} is not 1")
        t, x = (np.asarray(d[k], dtype=np.float64) for k in ("thresholds", "strong_fractions"))
        return cls(t, x, dict(d["prompts"]), str(d["calibrator"]))


def read_quantiles(directory: str | Path) -> WinRateQuantiles | None:
    """The quantiles stored in a checkpoint directory, or None if it has none."""
    path = Path(directory) / QUANTILES_FILE
    if not path.is_file():
        return None
    try:
        return WinRateQuantiles.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CalibrationError(
            f"{path} is not valid win-rate quantiles ({e}); rewrite it with "
            f"`routellm-py calibrate --router {directory} --write-quantiles`"
        ) from e


def write_quantiles(directory: str | Path, quantiles: WinRateQuantiles) -> Path:
    """Write `win_rate_quantiles.json` into a checkpoint (atomically: tmp + rename)."""
    path = Path(directory) / QUANTILES_FILE
    atomic_write(path, json.dumps(quantiles.to_dict(), indent=1) + "\n")
    return path


def checkpoint_quantiles(router: Router) -> WinRateQuantiles:
    """The router's checkpoint quantiles, checked against the calibrator it applies."""
    d = router.checkpoint_dir
    fix = (
        f"run `routellm-py calibrate --router {d} --write-quantiles` (or pass calibration_prompts)"
        if d is not None
        else "pass calibration_prompts, or save it (`router.save(DIR)`) and run "
        "`routellm-py calibrate --router DIR --write-quantiles`"
    )
    quantiles = None if d is None else read_quantiles(d)
    if quantiles is None:
        where = "it was not loaded from a checkpoint" if d is None else f"no {d / QUANTILES_FILE}"
        raise CalibrationError(f"router {router.name!r} has no win-rate quantiles ({where}): {fix}")
    if quantiles.calibrator != calibrator_digest(router.calibrator):
        raise CalibrationError(
            f"{d / QUANTILES_FILE} was computed under another win-rate calibrator than "
            f"{router.name!r} applies now (calibration.json changed): {fix}"
        )
    return quantiles


def calibrate(
    router: Router, strong_fraction: float, prompts: Sequence[str] | None = None
) -> float:
    """The threshold that sends `strong_fraction` of calls strong: on `prompts` (scored now,
    `threshold_for_strong_fraction`), else looked up in the checkpoint's quantiles."""
    if prompts is not None:
        return threshold_for_strong_fraction(router.win_rate(prompts), strong_fraction)
    return checkpoint_quantiles(router).threshold(strong_fraction)


def select_threshold_max_drop(
    win_rates: Sequence[float],
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
    max_drop: float,
) -> ThresholdChoice:
    """Hybrid LLM §4.5: search every realisable threshold; return the one with the highest
    cost advantage whose relative quality drop vs all-strong is <= `max_drop` (a fraction,
    0.01 = 1%). All-strong (drop 0) always qualifies."""
    if not max_drop >= 0:
        raise ValueError(f"max_drop must be >= 0 (a fraction, 0.01 = 1%), got {max_drop!r}")
    w = _win_rates(win_rates)
    curve = routed_curve(w, strong_scores, weak_scores)
    t, x = _candidates(w)
    y = curve.y[np.searchsorted(curve.x, x)]
    drops = np.array([relative_quality_drop(q, curve.strong) for q in y])
    j = int(np.flatnonzero(drops <= max_drop + 1e-12)[0])  # x ascending: first = cheapest
    return ThresholdChoice(float(t[j]), float(1.0 - x[j]), float(drops[j]))


def evaluate_threshold(
    threshold: float,
    win_rates: Sequence[float],
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
) -> ThresholdChoice:
    """What a fixed threshold does on another (test) set: its cost advantage and drop."""
    w = _win_rates(win_rates)
    s, k = np.asarray(strong_scores, dtype=np.float64), np.asarray(weak_scores, dtype=np.float64)
    if s.shape != w.shape or k.shape != w.shape:
        raise ValueError(f"scores must have shape {w.shape} like the win rates")
    strong = w >= float(threshold)
    quality = float(np.mean(np.where(strong, s, k)))
    return ThresholdChoice(
        float(threshold), float(1.0 - strong.mean()), relative_quality_drop(quality, s.mean())
    )
