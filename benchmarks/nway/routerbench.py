"""N-way routing on RouterBench (11 models, real per-prompt USD cost): quality vs dollars.

Estimates come from an `mf` router (all pairs of the 11 models) cross-fitted leave one
task out (arc-challenge, winogrande, mbpp): each task's prompts are scored by a router
trained on the other two, so no prompt is scored by a router that saw it. From the scores
s (n, m): quality q_m = mean over k != m of sigmoid(s_m - s_k) (the Bradley-Terry chance
to beat another model), and the chance of matching the best 2 * sigmoid(s_m - s_best)
(1 for the best). Expected cost per model: its mean cost on the training tasks.
Policies (`routellm_py.policy.nway`), swept over lambda and t, against every single
model, uniform random choice and the oracle (the cheapest correct model; the cheapest
model when none is correct). Realised quality is correctness; realised cost the
RouterBench `<model>|total_cost` of the chosen model on that prompt.

    python benchmarks/nway/routerbench.py          # writes results/routerbench.{json,md,png}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.bundled import ROUTERBENCH_DIR
from routellm_py.data.aliases import canonical_model
from routellm_py.data.paths import resolve_data_dir
from routellm_py.data.scores import score_table
from routellm_py.policy.nway import (
    cheapest_matching_order,
    estimates_from_scores,
    quality_minus_cost_order,
)
from routellm_py.training.train import train_router

OUT = Path(__file__).parent / "results"
LAMBDAS = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
TS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)


def costs(models: list[str], keys: pd.Series) -> np.ndarray:
    """(n, m) USD of each model on each prompt (rows sharing a sample_id: their mean)."""
    parts = []
    for f in sorted((resolve_data_dir(None) / ROUTERBENCH_DIR).glob("*_train.csv")):
        raw = pd.read_csv(f)
        cols = {
            c: canonical_model(c.split("|")[0]) for c in raw.columns if c.endswith("|total_cost")
        }
        parts.append(raw[["sample_id", *cols]].rename(columns=cols))
    table = pd.concat(parts).groupby("sample_id").mean()
    return table.loc[keys.to_numpy(), models].to_numpy(dtype=np.float64)


def cross_fitted_scores(frame: pd.DataFrame, table, models: list[str]) -> np.ndarray:
    """MF scores (n, m), each task scored by a router trained on the other tasks."""
    scores = np.zeros((len(frame), len(models)))
    for task in sorted(frame["task"].unique()):
        held = (frame["task"] == task).to_numpy()
        train = type(table)(table.name, frame[~held].reset_index(drop=True))
        router = train_router(
            "mf", train.to_battles(), strong=models[0], weak=models[1], seed=0, progress=False
        )
        scores[held] = router.model_scores(frame.loc[held, "prompt"].tolist(), models)
        print(f"scored {task}: {held.sum()} prompts")
    return scores


def point(choice: np.ndarray, correct: np.ndarray, cost: np.ndarray) -> dict[str, float]:
    rows = np.arange(len(choice))
    return {
        "accuracy": float(np.nanmean(correct[rows, choice])),
        "usd_per_1k": float(1000 * cost[rows, choice].mean()),
    }


def main() -> None:
    table = score_table("routerbench")
    frame = table.frame
    models = [m for m in table.models]
    correct = frame[models].to_numpy(dtype=np.float64)
    cost = costs(models, frame["key"])
    keep = ~np.isnan(correct).any(axis=1) & ~np.isnan(cost).any(axis=1)
    frame, correct, cost = frame[keep].reset_index(drop=True), correct[keep], cost[keep]
    table = type(table)(table.name, frame)
    s = cross_fitted_scores(frame, table, models)
    q, p_match = estimates_from_scores(s)
    tasks = frame["task"].to_numpy()
    expected = np.zeros_like(cost)
    for task in np.unique(tasks):
        expected[tasks == task] = cost[tasks != task].mean(axis=0)
    rows: list[dict] = []
    for m, name in enumerate(models):
        rows.append({"policy": f"single: {name}", **point(np.full(len(frame), m), correct, cost)})
    rows.append(
        {
            "policy": "random (uniform)",
            "accuracy": float(correct.mean()),
            "usd_per_1k": float(1000 * cost.mean()),
        }
    )
    cheapest_first = np.argsort(cost + (correct == 0) * 1e6, axis=1)[:, 0]
    rows.append({"policy": "oracle", **point(cheapest_first, correct, cost)})
    for lam in LAMBDAS:
        choice = quality_minus_cost_order(q, expected, lam)[:, 0]
        rows.append({"policy": f"quality - {lam:g} x cost", **point(choice, correct, cost)})
    for t in TS:
        choice = cheapest_matching_order(p_match, expected, t)[:, 0]
        rows.append({"policy": f"cheapest matching best >= {t:g}", **point(choice, correct, cost)})
    OUT.mkdir(exist_ok=True)
    (OUT / "routerbench.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| policy | accuracy | USD / 1k requests |", "|---|---|---|"]
    lines += [f"| {r['policy']} | {r['accuracy']:.3f} | {r['usd_per_1k']:.3f} |" for r in rows]
    (OUT / "routerbench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(rows)


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8))
    for prefix, style in (("quality -", "o-"), ("cheapest", "s-")):
        pts = [r for r in rows if r["policy"].startswith(prefix)]
        ax.plot([r["usd_per_1k"] for r in pts], [r["accuracy"] for r in pts], style, label=prefix)
    for r in rows:
        if r["policy"].startswith(("single", "random", "oracle")):
            ax.plot(r["usd_per_1k"], r["accuracy"], "kx" if r["policy"] != "oracle" else "r*")
            ax.annotate(
                r["policy"].removeprefix("single: ")[-22:],
                (r["usd_per_1k"], r["accuracy"]),
                fontsize=6,
            )
    ax.set_xscale("log")
    ax.set_xlabel("USD per 1,000 requests (RouterBench total_cost)")
    ax.set_ylabel("accuracy")
    ax.set_title("N-way routing on RouterBench (mf cross-fitted leave one task out)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "routerbench.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
