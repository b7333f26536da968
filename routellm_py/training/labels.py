"""From strong-vs-weak battles to per-prompt classifier targets (RouteLLM §4.1).

Each battle between the strong and the weak model is oriented with the strong model as
side a (`Battles.pair`) and read as p = P(strong wins) (`Battles.soft_label`: the judge's
fractional preference where given, else 1 / 0 / 0.5 for a win / loss / tie).

* Three outcome labels (BERT router), order `OUTCOME_LABELS`:
  a tie -> (0, 1, 0); otherwise (p, 0, 1 - p).
* K graded labels (causal-LM router, tokens [[1]]..[[K]]): label k stands for
  P(strong wins) = g_k = (k - 1) / (K - 1). p is split between the two nearest grid points
  by linear interpolation, so the target's expected grade sum_k t_k g_k equals p exactly:
  loss -> [[1]], tie -> [[(K+1)/2]] (K odd), win -> [[K]].

Several battles on one prompt (e.g. several judges) become one training row whose target
is their weight-averaged target and whose sample weight is their summed weight; for the
cross-entropy this is the same objective as one row per battle, at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OUTCOME_LABELS = ("strong_wins", "tie", "weak_wins")


def outcome_targets(battles: Any) -> np.ndarray:
    """(n, 3) targets over `OUTCOME_LABELS` for battles oriented strong = model_a."""
    p = battles.soft_label()
    tie = (battles.frame["outcome"] == "tie").to_numpy()
    t = np.stack([p, np.zeros_like(p), 1.0 - p], axis=1)
    t[tie] = (0.0, 1.0, 0.0)
    return t


def graded_targets(p: np.ndarray, n_labels: int) -> np.ndarray:
    """(n, K) targets: p in [0, 1] interpolated onto the grid g_k = k / (K - 1), k = 0..K-1."""
    if n_labels < 2:
        raise ValueError(f"n_labels must be >= 2, got {n_labels}")
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("p must be a 1-d array of probabilities in [0, 1]")
    pos = p * (n_labels - 1)
    lo = np.minimum(np.floor(pos).astype(int), n_labels - 2)
    frac = pos - lo
    t = np.zeros((len(p), n_labels))
    rows = np.arange(len(p))
    t[rows, lo] = 1.0 - frac
    t[rows, lo + 1] += frac
    return t


def strong_weak_battles(battles: Any, strong: str, weak: str) -> Any:
    """Battles between `strong` and `weak` only, strong as side a; an empty result is an error."""
    pair = battles.pair(strong, weak)
    if len(pair) == 0:
        raise ValueError(
            f"no battles between {strong!r} and {weak!r} in the training data "
            f"(models present: {', '.join(battles.models[:20])}); choose --strong/--weak "
            "from those, or add a source that compares them"
        )
    return pair


def aggregate_by_prompt(
    prompts: list[str], targets: np.ndarray, weights: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One row per distinct prompt: weight-averaged target, summed weight (first-seen order)."""
    index: dict[str, int] = {}
    for p in prompts:
        index.setdefault(p, len(index))
    rows = np.fromiter((index[p] for p in prompts), dtype=int, count=len(prompts))
    w = np.asarray(weights, dtype=np.float64)
    total = np.bincount(rows, weights=w, minlength=len(index))
    agg = np.stack(
        [
            np.bincount(rows, weights=w * targets[:, k], minlength=len(index))
            for k in range(targets.shape[1])
        ],
        axis=1,
    )
    return list(index), agg / total[:, None], total


def subsample(n: int, max_examples: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of size min(n, max_examples) (all if None)."""
    if max_examples is None or max_examples >= n:
        return np.arange(n)
    if max_examples < 1:
        raise ValueError(f"max_examples must be >= 1, got {max_examples}")
    return np.sort(np.random.default_rng(seed).choice(n, size=max_examples, replace=False))
