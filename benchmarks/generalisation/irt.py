"""Item-response labels: how much the strong class gains on a prompt, predicted from every
model's score on it (Rasch 1960; the one-parameter logistic model of IRT). The "irt-gap"
label scheme of `protocol.prompt_table`; measured and rejected (README, "Item-response
labels"), so it is not one of the library's label schemes.

A source scores models m on prompts i with s_mi in [0, 1] (correctness, a rescaled grade, a
win probability). The model: P(m succeeds on i) = sigmoid(theta_m - d_i), ability theta_m,
difficulty d_i. Fit by penalised maximum likelihood over the observed (m, i),

    L = sum_obs -[s log p + (1 - s) log(1 - p)] + lam/2 (sum_i d_i^2 + sum_m theta_m^2),

with alternating Newton steps (each d_i and each theta_m is a one-dimensional convex
problem given the other side). The "irt-gap" label of prompt i for strong class S and weak
class W is

    y(i) = 1/2 + 1/2 (mean_{m in S} sigmoid(theta_m - d_i) - mean_{m in W} sigmoid(theta_m - d_i)),

the expected class gap at the prompt's difficulty. Unlike 1 - mean score ("difficulty"), it is
largest at medium difficulty, between the two classes' abilities, and small where both
classes fail, as on the hardest math; unlike the raw class gap ("gap"), it pools every
model's score, so it is much less noisy per prompt.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from routellm_py.routers.calibration import sigmoid


def fit_rasch(
    scores: np.ndarray, lam: float = 1.0, iters: int = 100, tol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """(difficulty per row, ability per column) of the penalised Rasch model on `scores`
    (prompts x models, values in [0, 1], NaN where a model has no score)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be a prompts x models matrix, got shape {s.shape}")
    obs = np.isfinite(s)
    if ((s[obs] < 0) | (s[obs] > 1)).any():
        raise ValueError("scores must lie in [0, 1]; rescale grades first")
    s = np.where(obs, s, 0.0)
    d, theta = np.zeros(s.shape[0]), np.zeros(s.shape[1])

    def residual_and_curvature() -> tuple[np.ndarray, np.ndarray]:
        p = sigmoid(theta[None, :] - d[:, None])
        return np.where(obs, p - s, 0.0), np.where(obs, p * (1 - p), 0.0)

    for _ in range(iters):
        r, v = residual_and_curvature()
        step_d = (-r.sum(axis=1) + lam * d) / (v.sum(axis=1) + lam)
        d -= step_d
        r, v = residual_and_curvature()
        step_t = (r.sum(axis=0) + lam * theta) / (v.sum(axis=0) + lam)
        theta -= step_t
        if max(np.abs(step_d).max(initial=0), np.abs(step_t).max(initial=0)) < tol:
            break
    return d, theta


def class_gap_labels(
    scores: np.ndarray,
    models: Sequence[str],
    strong: Collection[str],
    weak: Collection[str],
    lam: float = 1.0,
) -> np.ndarray:
    """The "irt-gap" label of every row of `scores` (prompts x `models`; see the module doc).
    Both classes need at least one model among `models`."""
    s_idx = [j for j, m in enumerate(models) if m in strong]
    w_idx = [j for j, m in enumerate(models) if m in weak]
    if not s_idx or not w_idx:
        raise ValueError(
            f"irt-gap needs a strong-class and a weak-class model among {list(models)[:20]}; "
            f"strong class {sorted(strong)}, weak class {sorted(weak)}"
        )
    d, theta = fit_rasch(scores, lam)
    p = sigmoid(theta[None, :] - d[:, None])
    return 0.5 + 0.5 * (p[:, s_idx].mean(axis=1) - p[:, w_idx].mean(axis=1))
