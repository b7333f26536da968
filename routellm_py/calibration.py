"""Choosing a routing threshold.

* `threshold_for_strong_fraction`: RouteLLM's calibration, the (1 - pct) quantile of win
  rates on representative prompts, so that a fraction pct of calls go strong.
* `select_threshold_max_drop`: Hybrid LLM §4.5, the threshold with the highest cost
  advantage whose relative quality drop versus all-strong stays within a budget, chosen
  on a validation set; `evaluate_threshold` reports it on a test set (their Table 3).

Thresholds are placed midway between adjacent distinct win rates (see
`metrics.routing_points`), so float noise in a re-computed win rate does not flip a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routellm_py.metrics import (
    relative_quality_drop,
    routed_curve,
    routing_points,
)
from routellm_py.routers.base import Router


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and what it does: `cost_advantage` = fraction of calls routed weak,
    `quality_drop` = (q_all_strong - q) / |q_all_strong| (fractions; 0.01 = 1%)."""

    threshold: float
    cost_advantage: float
    quality_drop: float


@dataclass(frozen=True)
class Calibration:
    """Result of calibrating on `n_prompts` prompts: the threshold and the strong-call
    fraction it realises there (`requested` is what was asked for)."""

    threshold: float
    strong_fraction: float
    requested: float
    n_prompts: int


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


def threshold_for_strong_fraction(win_rates: Sequence[float], strong_fraction: float) -> float:
    """The (1 - pct) quantile of win rates, chosen exactly: of the thresholds realisable on
    these prompts, the one whose strong fraction (share with win_rate >= t) is nearest to
    `strong_fraction`, hence within one prompt of it when win rates are distinct (tied
    prompts move together). Equal distances go to the larger strong fraction."""
    f = float(strong_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction!r}")
    t, x = _candidates(_win_rates(win_rates))
    dist = np.abs(x - f)
    j = int(np.flatnonzero(dist <= dist.min() + 1e-12)[-1])
    return float(t[j])


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


def default_calibration_prompts(data_dir: str | Path | None = None) -> list[str]:
    """Every bundled training prompt (`data.sources.bundled_prompts`) that is not a prompt
    of MMLU, GSM8K or MT-Bench, so calibration never sees evaluation prompts."""
    from routellm_py.data.benchmarks import BENCHMARKS, load_benchmark
    from routellm_py.data.sources import bundled_prompts

    held_out = {p for name in BENCHMARKS for p in load_benchmark(name, data_dir).prompts}
    return [p for p in bundled_prompts(data_dir) if p not in held_out]


def calibration_report(
    router: Router,
    strong_fraction: float,
    prompts: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Calibration:
    """Score the calibration prompts (cached) and pick the threshold for `strong_fraction`."""
    from routellm_py.benchmarks.scores import default_cache_dir, score_prompts

    if prompts is None:
        prompts = default_calibration_prompts(data_dir)
    cache = default_cache_dir() if cache_dir is None else cache_dir
    w = score_prompts(router, prompts, cache_dir=cache, progress=progress)
    t = threshold_for_strong_fraction(w, strong_fraction)
    return Calibration(t, float(np.mean(w >= t)), float(strong_fraction), len(w))


def calibrate(
    router: Router,
    strong_fraction: float,
    prompts: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
) -> float:
    """The threshold that sends `strong_fraction` of calls strong on the calibration prompts."""
    return calibration_report(router, strong_fraction, prompts, data_dir).threshold


def read_prompts_file(path: str | Path) -> list[str]:
    """Prompts from a .txt file (one per line; empty lines are skipped) or a .jsonl file
    (one object per line with a "prompt" string)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"prompts file {p} does not exist")
    if p.suffix == ".txt":
        prompts = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif p.suffix == ".jsonl":
        from routellm_py.data.adapters.common import read_jsonl

        prompts = [r["prompt"] for r in read_jsonl(p, needed=("prompt",))]
        bad = [i for i, q in enumerate(prompts, 1) if not isinstance(q, str)]
        if bad:
            raise ValueError(f'{p}: record {bad[0]}: "prompt" must be a string')
    else:
        raise ValueError(f"prompts file {p} must end in .txt (one per line) or .jsonl")
    if not prompts:
        raise ValueError(f"prompts file {p} holds no prompts")
    return prompts
