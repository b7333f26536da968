"""Budget vs static threshold on drifting traffic: realised strong fraction per window.

4,000 MMLU-Pro prompts (easy short ones, then hard long ones; `routellm_py.policy.drift`),
scored by the `length` router (or any router given). For each target, the static
threshold is calibrated on the first half (`threshold_for_strong_fraction`); the budget
(`router-<name>-b<target>`) adapts online. Writes `results/drift.png` (the realised
fraction over each 500-request sliding window, and the budget's threshold) and
`results/drift.json` (per target: worst deviation of each policy after request 200, and
of the static one in the second half).

    python benchmarks/budget/drift.py [--router length] [--targets 0.1,0.3,0.5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.calibration import threshold_for_strong_fraction
from routellm_py.policy.budget import Budget
from routellm_py.policy.drift import drift_prompts, replay, window_fractions
from routellm_py.routers.base import load_router

OUT = Path(__file__).parent / "results"
WINDOW, START = 500, 200


def run(router: str, targets: list[float], n: int, seed: int) -> tuple[dict, dict]:
    w = load_router(router).win_rate(drift_prompts(n, seed=seed))
    summary, series = {}, {}
    for target in targets:
        budget = Budget(target)
        thresholds: list[float] = []

        def decide(x: float, b: Budget = budget, log: list = thresholds) -> float:
            log.append(b.decide(x))
            return log[-1]

        adaptive = replay(w, decide)
        static_t = threshold_for_strong_fraction(w[: n // 2], target)
        static = replay(w, lambda _, t=static_t: t)
        fa, fs = (window_fractions(d, WINDOW, START) for d in (adaptive, static))
        second = window_fractions(static[n // 2 :], WINDOW, 0)
        summary[str(target)] = {
            "budget_max_abs_dev": float(np.abs(fa - target).max()),
            "static_max_abs_dev": float(np.abs(fs - target).max()),
            "static_second_half_min_abs_dev": float(np.abs(second - target).min()),
            "static_threshold": static_t,
            "budget_threshold_range": [float(min(thresholds)), float(max(thresholds))],
        }
        series[target] = (fa, fs, np.array(thresholds))
    return summary, series


def plot(series: dict, router: str, n: int) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True)
    x = np.arange(START, n - WINDOW + 1) + WINDOW  # window end
    for i, (target, (fa, fs, thresholds)) in enumerate(series.items()):
        color = f"C{i}"
        top.plot(x, 100 * fa, color=color, lw=1.5, label=f"budget b{target:g}")
        top.plot(x, 100 * fs, color=color, lw=1, ls="--", label=f"static (1st half) {target:g}")
        top.axhspan(100 * target - 3, 100 * target + 3, color=color, alpha=0.12, lw=0)
        bottom.plot(np.arange(1, n + 1), thresholds, color=color, lw=1, label=f"b{target:g}")
    for ax in (top, bottom):
        ax.axvline(n // 2, color="black", lw=0.8, ls=":")
    top.set_ylabel(f"% strong, last {WINDOW} requests")
    top.set_title(f"Drift (MMLU-Pro easy->hard), router {router}; band: target +/- 3 points")
    top.legend(fontsize=7, ncol=2)
    bottom.set_ylabel("budget threshold")
    bottom.set_xlabel("request")
    return fig


def stream_args(doc: str, targets: str) -> argparse.ArgumentParser:
    """The options of every drift benchmark: --targets, -n (stream length), --seed."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--targets", default=targets)
    p.add_argument("-n", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    return p


def save(name: str, summary: dict, fig: Any) -> None:
    """Write results/<name>.json and results/<name>.png (closing `fig`); print the summary."""
    import matplotlib.pyplot as plt

    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    fig.tight_layout()
    fig.savefig(OUT / f"{name}.png", format="png", dpi=110)
    plt.close(fig)
    print(json.dumps(summary, indent=2))


def main() -> None:
    p = stream_args(__doc__, "0.1,0.3,0.5")
    p.add_argument("--router", default="length")
    args = p.parse_args()
    targets = [float(t) for t in args.targets.split(",")]
    summary, series = run(args.router, targets, args.n, args.seed)
    save("drift", summary, plot(series, args.router, args.n))


if __name__ == "__main__":
    main()
