"""Router training labels from quality samples (Hybrid LLM, Ding et al. 2024 §3).

Quality gap H(x) = q(S(x)) - q(L(x)), small model S, large model L. From K samples
s_i1..s_iK of q(S(x_i)) and K' samples l_i1..l_iK' of q(L(x_i)), the K K' pairwise gaps
H_ikl = s_ik - l_il give:

- r_det  (eq. 1): y_i = 1[s_i1 >= l_i1], one sample per model; trained with BCE.
- r_prob (eq. 2): y_i = (1 / K K') sum_kl 1[H_ikl >= 0], an estimate of Pr[H(x_i) >= 0];
  trained with soft BCE. With K = K' = 1 it equals r_det.
- r_trans (eq. 3): y_i(t) = (1 / K K') sum_kl 1[H_ikl >= -t], an estimate of
  Pr[H(x_i) >= -t], at t* = argmax_t D(t) with D(t) = (1/N^2) sum_ij |y_i(t) - y_j(t)|,
  the mean pairwise label difference: t* spreads the labels out the most.

D(t) costs O(N log N), not O(N^2): with y sorted ascending (1-based ranks i),
sum_ij |y_i - y_j| = 2 sum_i (2i - N - 1) y_(i). For 0/1 labels (K = K' = 1) with a
fraction p of ones, D = 2 p (1 - p), so t* is the relaxation that balances the labels best.

The grid of t is exact: y(t) only changes where -t crosses a gap value, so the candidates
are t = 0 and every -H_ikl > 0 (capped at `max_grid` quantiles). Ties go to the smallest t.
t < 0 is not searched: the paper relaxes the small model's bar, it never raises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LABEL_MODES = ("det", "prob", "trans")
MAX_GRID = 512


@dataclass(frozen=True)
class QualityLabels:
    """Labels y in [0, 1] per query (y = Pr[small is good enough]) and how they were made."""

    y: np.ndarray
    mode: str
    t: float  # the relaxation used: t* for "trans", 0 otherwise
    objective: float  # D(t) of the labels (mean pairwise absolute difference)
    k_small: int
    k_large: int

    def summary(self) -> dict[str, float | int | str]:
        """JSON-friendly description for checkpoint configs and reports."""
        return {
            "mode": self.mode,
            "t_star": self.t,
            "objective": self.objective,
            "mean_label": float(self.y.mean()),
            "n": len(self.y),
            "k_small": self.k_small,
            "k_large": self.k_large,
        }


def check_samples(small: np.ndarray, large: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) and (N, K') float arrays; 1-D input means K = 1. Finite, same N >= 1."""
    s = np.asarray(small, dtype=np.float64)
    lg = np.asarray(large, dtype=np.float64)
    s, lg = (a[:, None] if a.ndim == 1 else a for a in (s, lg))
    if s.ndim != 2 or lg.ndim != 2 or s.shape[0] != lg.shape[0] or s.shape[0] == 0:
        raise ValueError(
            f"small and large samples must be (N, K) and (N, K') with the same N >= 1; "
            f"got {s.shape} and {lg.shape}"
        )
    if s.shape[1] == 0 or lg.shape[1] == 0:
        raise ValueError("each model needs at least one quality sample per query (K >= 1)")
    for name, a in (("small", s), ("large", lg)):
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            raise ValueError(
                f"{name} samples of query {int(np.flatnonzero(bad)[0])} hold NaN/inf "
                f"({int(bad.sum())} such queries); drop queries without scores first"
            )
    return s, lg


def pairwise_gaps(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """H_ikl = s_ik - l_il for every sample pair, shape (N, K * K')."""
    s, lg = check_samples(small, large)
    return (s[:, :, None] - lg[:, None, :]).reshape(len(s), -1)


def mean_abs_pairwise_difference(y: np.ndarray) -> float:
    """D = (1/N^2) sum_ij |y_i - y_j| in O(N log N) via the sorted-values identity."""
    v = np.sort(np.asarray(y, dtype=np.float64).reshape(-1))
    n = len(v)
    if n == 0:
        raise ValueError("no labels")
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum((2 * ranks - n - 1) * v) / n**2)


def relaxed_labels(gaps: np.ndarray, t: float) -> np.ndarray:
    """y_i(t) = fraction of the sample gaps H_ikl >= -t (eq. 3; eq. 2 at t = 0)."""
    return (np.asarray(gaps) >= -float(t)).mean(axis=1)


def t_grid(gaps: np.ndarray, max_grid: int = MAX_GRID) -> np.ndarray:
    """Candidate t: 0 and each distinct -H > 0 (where y(t) can change), ascending."""
    cands = np.unique(np.concatenate([[0.0], -gaps[gaps < 0]]))
    if len(cands) > max_grid:
        cands = np.unique(np.concatenate([[0.0], np.quantile(cands, np.linspace(0, 1, max_grid))]))
    return cands


def select_t(
    gaps: np.ndarray, max_grid: int = MAX_GRID
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(t*, D(t*), grid, D over the grid): grid search of eq. 3, smallest t among ties."""
    grid = t_grid(gaps, max_grid)
    objective = np.array([mean_abs_pairwise_difference(relaxed_labels(gaps, t)) for t in grid])
    best = int(np.argmax(objective))  # first maximiser = smallest t
    return float(grid[best]), float(objective[best]), grid, objective


def make_labels(small: np.ndarray, large: np.ndarray, mode: str = "trans") -> QualityLabels:
    """r_det, r_prob or r_trans labels (see module doc) from quality samples."""
    if mode not in LABEL_MODES:
        raise ValueError(f"label mode must be one of {LABEL_MODES}, got {mode!r}")
    s, lg = check_samples(small, large)
    if mode == "det":
        y = (s[:, 0] >= lg[:, 0]).astype(np.float64)
        t = 0.0
    elif mode == "prob":
        y, t = relaxed_labels(pairwise_gaps(s, lg), 0.0), 0.0
    else:
        gaps = pairwise_gaps(s, lg)
        t = select_t(gaps)[0]
        y = relaxed_labels(gaps, t)
    return QualityLabels(y, mode, t, mean_abs_pairwise_difference(y), s.shape[1], lg.shape[1])
