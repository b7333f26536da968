"""A drifting request stream from real prompts, and how a threshold policy fares on it.

`drift_prompts`: MMLU-Pro gold prompts (a training source, never a benchmark), easy ones
first, then hard ones: the first half are drawn from the questions the weak model
(Mixtral-8x7B-Instruct) answers correctly and that are shorter than the median, the
second half from those it gets wrong that are longer than the median. The win rates of
any router that reads difficulty or length shift up half-way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def drift_prompts(n: int = 4000, data_dir: str | Path | None = None, seed: int = 0) -> list[str]:
    """`n` prompts: n // 2 easy short ones, then n - n // 2 hard long ones (see above)."""
    from routellm_py.data.scores import score_table

    frame = score_table("mmlu-pro", data_dir).frame
    chars = frame["prompt"].str.len().to_numpy()
    weak = frame[WEAK].to_numpy(dtype=np.float64)
    short = chars < np.median(chars)
    easy = np.flatnonzero(short & (weak == 1.0))
    hard = np.flatnonzero(~short & (weak == 0.0))
    rng = np.random.default_rng(seed)
    halves = []
    for pool, k in ((easy, n // 2), (hard, n - n // 2)):
        if len(pool) == 0:
            raise ValueError("mmlu-pro has no prompts for one half of the drift stream")
        halves.append(rng.choice(pool, size=k, replace=len(pool) < k))
    prompts = frame["prompt"].tolist()
    return [prompts[i] for i in np.concatenate(halves)]


def window_fractions(
    strong: Sequence[bool] | np.ndarray, window: int = 500, start: int = 200
) -> np.ndarray:
    """Realised strong fraction (of booleans; of numbers such as spend: the mean) of every
    `window`-request window starting at or after request `start` (a sliding window, one
    per start position)."""
    s = np.concatenate([[0], np.cumsum(np.asarray(strong, dtype=np.float64))])
    starts = np.arange(start, len(strong) - window + 1)
    return (s[starts + window] - s[starts]) / window


def replay(win_rates: Sequence[float], decide: Callable[[float], float]) -> np.ndarray:
    """Route each win rate in turn with `decide` (win rate -> threshold); the decisions."""
    return np.array([w >= decide(float(w)) for w in win_rates], dtype=bool)


def replay_spend(
    quality: np.ndarray, cost: np.ndarray, decide: Callable[[np.ndarray, np.ndarray], float]
) -> np.ndarray:
    """Route each request (rows of (n, m) estimates and expected costs) with `decide`
    ((quality, cost) -> lambda of best quality - lambda x cost); the chosen models' costs."""
    from routellm_py.policy.spend import chosen_costs

    return np.array(
        [
            chosen_costs(q[None], c[None], decide(q, c))[0]
            for q, c in zip(quality, cost, strict=True)
        ]
    )


def nway_stream(
    router: Any,
    models: Sequence[str],
    prices: Sequence[Any],
    output_tokens: float,
    n: int = 4000,
    data_dir: str | Path | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Quality estimates and expected costs (n, m) of the drift stream for N-way routing:
    `router.model_scores` for `models` (names the router knows), `prices` (`Price` each),
    the same expected answer length for every model (`policy.nway.expected_cost`)."""
    from routellm_py.policy.nway import estimate_tokens, estimates_from_scores, expected_cost

    prompts = drift_prompts(n, data_dir, seed)
    quality, _ = estimates_from_scores(router.model_scores(prompts, list(models)))
    tokens = np.array([estimate_tokens(len(p)) for p in prompts])
    return quality, expected_cost(tokens, list(prices), [output_tokens] * len(models))
