"""Global Bradley-Terry ratings and model tiers (the `sw_ranking` router's tiers).

RouteLLM §5.1 (Ong et al., 2024): Arena battles between any two specific models are sparse, so
models are clustered into tiers by their Elo score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from routellm_py.data.battles import Battles

ELO_BASE, ELO_SCALE = 1000.0, 400.0 / np.log(10.0)


def fit_bradley_terry(
    battles: Battles,
    *,
    prior: float = 1.0,
    scale: str = "elo",
    max_iter: int = 10_000,
    tol: float = 1e-10,
) -> pd.Series:
    """Bradley-Terry strengths p_i with P(i beats j) = p_i / (p_i + p_j), best model first.

    Fitted by minorisation-maximisation (Hunter 2004): p_i <- W_i / sum_j N_ij / (p_i + p_j),
    where W_i is i's weighted wins (a tie counts half; soft labels count fractionally) and
    N_ij the weighted games between i and j. `prior` > 0 adds that many games, half won and
    half lost, against a virtual player of average strength, so the fit exists even for
    unbeaten or disconnected models; with prior=0 the plain MLE is returned when it exists.
    scale="elo": 1000 + 400 log10(p_i) (Chatbot Arena scale); "log": ln p_i; both centred
    so the mean over models is the base (1000 or 0).
    """
    if scale not in ("elo", "log"):
        raise ValueError(f"scale must be 'elo' or 'log', got {scale!r}")
    if prior < 0:
        raise ValueError(f"prior must be >= 0, got {prior}")
    models = battles.models
    n = len(models)
    index = {m: i for i, m in enumerate(models)}
    f = battles.frame
    a, b = f["model_a"].map(index).to_numpy(), f["model_b"].map(index).to_numpy()
    w, y = f["weight"].to_numpy(), battles.soft_label()
    wins = np.zeros((n + 1, n + 1))  # row n: the virtual reference player
    np.add.at(wins, (a, b), w * y)
    np.add.at(wins, (b, a), w * (1.0 - y))
    wins[:n, n] = wins[n, :n] = prior / 2.0
    if prior == 0:
        wins = wins[:n, :n]
        _check_mle_exists(wins, models)
    games = wins + wins.T
    total = wins.sum(axis=1)
    p = np.ones(len(total))
    for _ in range(max_iter):
        new = total / (games / (p[:, None] + p[None, :])).sum(axis=1)
        new /= new[n] if prior > 0 else np.exp(np.log(new).mean())
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    theta = np.log(p[:n])
    theta -= theta.mean()
    ratings = ELO_BASE + ELO_SCALE * theta if scale == "elo" else theta
    return pd.Series(ratings, index=models, name="rating").sort_values(ascending=False)


def _check_mle_exists(wins: np.ndarray, models: list[str]) -> None:
    """With no prior the MLE is finite only if every model won and lost some weight and the
    comparison graph is connected."""
    from scipy.sparse.csgraph import connected_components

    for label, amount in [("won", wins.sum(axis=1)), ("lost", wins.sum(axis=0))]:
        if (amount <= 0).any():
            never = [m for m, v in zip(models, amount, strict=True) if v <= 0]
            raise ValueError(
                f"with prior=0 the BT fit diverges: {never} never {label}; use prior > 0"
            )
    n_parts, _ = connected_components(wins + wins.T > 0, directed=False)
    if n_parts > 1:
        raise ValueError(
            f"with prior=0 the BT fit is not identified: {n_parts} disconnected "
            "groups of models; use prior > 0"
        )


def assign_tiers(ratings: pd.Series | Mapping[str, float], n_tiers: int) -> dict[str, int]:
    """Cluster models into `n_tiers` tiers by rating: exact 1-D k-means (minimum within-tier
    sum of squares, dynamic programming over the sorted ratings). Tier 0 is the best."""
    r = pd.Series(ratings, dtype=np.float64).sort_values(ascending=False)
    n = len(r)
    if not 1 <= n_tiers <= n:
        raise ValueError(f"n_tiers must be in [1, {n}] (number of rated models), got {n_tiers}")
    x = r.to_numpy()
    s1, s2 = np.concatenate([[0.0], np.cumsum(x)]), np.concatenate([[0.0], np.cumsum(x * x)])

    def sse(i: int, j: int) -> float:  # within-cluster sum of squares of x[i:j]
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / (j - i)

    cost = np.full((n_tiers + 1, n + 1), np.inf)
    cut = np.zeros((n_tiers + 1, n + 1), dtype=int)
    cost[0, 0] = 0.0
    for k in range(1, n_tiers + 1):
        for j in range(k, n + 1):
            options = [cost[k - 1, i] + sse(i, j) for i in range(k - 1, j)]
            best = int(np.argmin(options))
            cost[k, j], cut[k, j] = options[best], best + k - 1
    tiers = np.empty(n, dtype=int)
    j = n
    for k in range(n_tiers, 0, -1):
        i = cut[k, j]
        tiers[i:j] = k - 1
        j = i
    return dict(zip(r.index, tiers.tolist(), strict=True))
