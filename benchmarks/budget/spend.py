"""Dollar budget vs static lambda on drifting traffic: realised USD per 1,000 requests.

The 4,000-prompt MMLU-Pro drift stream (short easy prompts, then long hard ones;
`routellm_py.policy.drift`) routed N-way among three models the shipped `mf` router knows,
at fixed illustrative prices (USD per token) and 100 expected output tokens each. For each
target, the static lambda is the one that spends the target on the first half
(`spend_lambda`); the dollar budget (`router-mf-nway-usd<target>`, `SpendBudget`) adapts
lambda online. Writes `results/spend.json` (per target: worst relative deviation of each
policy over 500-request windows after request 200, and of the static one in the second
half) and `results/spend.png`.

    python benchmarks/budget/spend.py [--targets 0.8,1.1] [--steps 5,10,30]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from drift import START, WINDOW, save, stream_args  # this folder's drift benchmark

from routellm_py.policy.drift import nway_stream, replay_spend, window_fractions
from routellm_py.policy.nway import Price
from routellm_py.policy.spend import SpendBudget, spend_lambda
from routellm_py.routers.base import load_router

MODELS = ["gpt-4-1106-preview", "gpt-3.5-turbo-0613", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
PRICES = [Price(1e-5, 3e-5), Price(1e-6, 2e-6), Price(6e-7, 6e-7)]


def worst(spent_per_1k: np.ndarray, target: float, start: int = START) -> float:
    """The worst relative deviation from `target` over the sliding windows from `start`."""
    return float(np.abs(window_fractions(spent_per_1k, WINDOW, start) / target - 1).max())


def run(targets: list[float], steps: list[float], n: int, seed: int) -> tuple[dict, dict]:
    quality, cost = nway_stream(load_router("mf"), MODELS, PRICES, 100.0, n, seed=seed)
    summary, series = {}, {}
    for target in targets:
        lam = spend_lambda(quality[: n // 2], cost[: n // 2], target / 1000)
        static = 1000 * replay_spend(quality, cost, lambda q, c, x=lam: x)
        second = window_fractions(static[n // 2 :], WINDOW, 0) / target - 1
        row = {
            "static_lambda": lam,
            "static_max_rel_dev": worst(static, target),
            "static_second_half_min_rel_dev": float(np.abs(second).min()),
        }
        for step in steps:
            adaptive = 1000 * replay_spend(quality, cost, SpendBudget(target, step=step).decide)
            row[f"budget_step{step:g}_max_rel_dev"] = worst(adaptive, target)
            series[(target, step)] = window_fractions(adaptive, WINDOW, START)
        series[(target, None)] = window_fractions(static, WINDOW, START)
        summary[str(target)] = row
    return summary, series


def plot(series: dict, n: int) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    x = np.arange(START, n - WINDOW + 1) + WINDOW  # window end
    targets = sorted({t for t, _ in series})
    for i, target in enumerate(targets):
        color = f"C{i}"
        ax.axhspan(0.95 * target, 1.05 * target, color=color, alpha=0.12, lw=0)
        for (t, step), values in series.items():
            if t == target:
                label = f"${t:g}: " + (
                    "static lambda" if step is None else f"budget, step {step:g}"
                )
                ax.plot(x, values, color=color, lw=1 if step else 1.5, ls="-" if step else "--",
                        label=label)  # fmt: skip
    ax.axvline(n // 2, color="black", lw=0.8, ls=":")
    ax.set(xlabel="request", ylabel=f"USD per 1,000, last {WINDOW} requests")
    ax.set_title("N-way dollar budget under drift (mf, 3 models); band: target +/- 5%")
    ax.legend(fontsize=7, ncol=2)
    return fig


def main() -> None:
    p = stream_args(__doc__, "0.8,1.1")
    p.add_argument("--steps", default="5,10,30")
    args = p.parse_args()
    targets = [float(t) for t in args.targets.split(",")]
    steps = [float(s) for s in args.steps.split(",")]
    summary, series = run(targets, steps, args.n, args.seed)
    save("spend", summary, plot(series, args.n))


if __name__ == "__main__":
    main()
