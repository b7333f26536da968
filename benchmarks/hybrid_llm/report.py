"""Tables from `run_cv.py`'s predictions, in the style of Hybrid LLM (Ding et al. 2024):

- Table 1: relative quality drop vs all-at-large at 10/20/40% cost advantage (share of
  queries routed to the small model), pooled over the five test folds, with the expected
  value of random routing beside it; the average quality gap difference (§4.3).
- Table 3: threshold chosen on the validation fold for a maximum quality drop (§4.5),
  cost advantage and drop on validation and test, averaged over the five rotations.

    python benchmarks/hybrid_llm/report.py   # writes results/report.md and results/summary.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ADVANTAGES = (0.1, 0.2, 0.4)
MAX_DROPS = (0.01, 0.05)


def table1(pred: pd.DataFrame) -> pd.DataFrame:
    """Quality drop and gap difference at each cost advantage per test fold (each fold scored
    by its own model), then mean and standard deviation over the folds."""
    from routellm_py.metrics import avg_quality_gap_difference, quality_drop_at_cost_advantage

    rows = []
    test = pred[pred.split == "test"]
    for (pair, mode, k), g in test.groupby(["pair", "mode", "rotation"], sort=False):
        w, ql, qs = g.win_rate.to_numpy(), g.q_large.to_numpy(), g.q_small.to_numpy()
        routed = quality_drop_at_cost_advantage(w, ql, qs, ADVANTAGES)
        rand = quality_drop_at_cost_advantage(np.zeros_like(w), ql, qs, ADVANTAGES)
        for a in ADVANTAGES:
            rows.append(
                {
                    "pair": pair,
                    "labels": f"r_{mode}",
                    "cost_advantage": a,
                    "rotation": k,
                    "quality_drop": routed[a],
                    "random_drop": rand[a],
                    "gap_difference": avg_quality_gap_difference(w, qs - ql, a),
                }
            )
    per = pd.DataFrame(rows).drop(columns="rotation")
    g = per.groupby(["pair", "labels", "cost_advantage"], sort=False)
    return g.mean().join(g.std().add_suffix("_std")).reset_index()


def table3(pred: pd.DataFrame) -> pd.DataFrame:
    """Threshold chosen on validation per rotation, evaluated on test; means over rotations."""
    from routellm_py.calibration import evaluate_threshold, select_threshold_max_drop

    rows = []
    for (pair, mode, k), g in pred.groupby(["pair", "mode", "rotation"], sort=False):
        val, test = g[g.split == "val"], g[g.split == "test"]
        for d in MAX_DROPS:
            c = select_threshold_max_drop(val.win_rate, val.q_large, val.q_small, d)
            t = evaluate_threshold(c.threshold, test.win_rate, test.q_large, test.q_small)
            rows.append(
                {
                    "pair": pair,
                    "labels": f"r_{mode}",
                    "max_drop": d,
                    "rotation": k,
                    "val_cost_advantage": c.cost_advantage,
                    "val_drop": c.quality_drop,
                    "test_cost_advantage": t.cost_advantage,
                    "test_drop": t.quality_drop,
                }
            )
    per = pd.DataFrame(rows)
    return (
        per.groupby(["pair", "labels", "max_drop"], sort=False)
        .mean(numeric_only=True)
        .drop(columns="rotation")
        .reset_index()
    )


def label_table(data_dir: str | None = None) -> pd.DataFrame:
    """t* and the share of positive labels per pair and label mode on all 300 prompts."""
    from run_cv import PAIRS

    from routellm_py.quality import JudgeScores, make_labels

    scorer = JudgeScores("arena-bench-v1", data_dir)
    rows = []
    for name, small, large in PAIRS:
        s = scorer.samples(small, large)
        for mode in ("det", "prob", "trans"):
            lab = make_labels(s.small, s.large, mode)
            rows.append(
                {
                    "pair": name,
                    "small": small,
                    "large": large,
                    "n": len(s),
                    "missing": s.n_missing,
                    "mean_q_small": s.small.mean(),
                    "mean_q_large": s.large.mean(),
                    "labels": f"r_{mode}",
                    "t_star": lab.t,
                    "positive_share": lab.y.mean(),
                    "objective_D": lab.objective,
                }
            )
    return pd.DataFrame(rows)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(t1: pd.DataFrame, t3: pd.DataFrame, labels: pd.DataFrame, n_folds: int) -> str:
    out = ["## Labels on arena-bench-v1 (K = 1: r_prob = r_det)\n"]
    out.append(
        "| pair | small | large | n | mean q small | mean q large | labels | t* "
        "| positive share | D(t) |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in labels.itertuples():
        out.append(
            f"| {r.pair} | {r.small} | {r.large} | {r.n} | {r.mean_q_small:.2f} | "
            f"{r.mean_q_large:.2f} | {r.labels} | {r.t_star:g} | {pct(r.positive_share)} | "
            f"{r.objective_D:.3f} |"
        )
    out.append(
        f"\n## Table 1 style: quality drop at a cost advantage (mean ± sd, {n_folds} test folds)\n"
    )
    out.append("| pair | labels | cost adv. | quality drop | random routing | gap difference |")
    out.append("|---|---|---|---|---|---|")
    for r in t1.itertuples():
        out.append(
            f"| {r.pair} | {r.labels} | {pct(r.cost_advantage)} | {pct(r.quality_drop)} ± "
            f"{pct(r.quality_drop_std)} | {pct(r.random_drop)} | {r.gap_difference:+.2f} ± "
            f"{r.gap_difference_std:.2f} |"
        )
    out.append(
        f"\n## Table 3 style: threshold chosen on validation (mean of {n_folds} rotations)\n"
    )
    out.append(
        "| pair | labels | max drop | val cost adv. | val drop | test cost adv. | test drop |"
    )
    out.append("|---|---|---|---|---|---|---|")
    for r in t3.itertuples():
        out.append(
            f"| {r.pair} | {r.labels} | {pct(r.max_drop)} | {pct(r.val_cost_advantage)} | "
            f"{pct(r.val_drop)} | {pct(r.test_cost_advantage)} | {pct(r.test_drop)} |"
        )
    return "\n".join(out) + "\n"


def main() -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--predictions", default=str(HERE / "results" / "predictions.csv"))
    p.add_argument(
        "--out", default=str(HERE / "results"), help="folder for report.md, summary.json"
    )
    args = p.parse_args()
    sys.path.insert(0, str(HERE))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pred = pd.read_csv(args.predictions, dtype={"key": str})
    # Only rotations finished for every pair and label mode, so all rows average the same folds.
    combos = set(zip(pred["pair"], pred["mode"], strict=True))
    done = [
        k
        for k, g in pred.groupby("rotation")
        if set(zip(g["pair"], g["mode"], strict=True)) == combos
    ]
    pred = pred[pred.rotation.isin(done)]
    t1, t3, labels = table1(pred), table3(pred), label_table()
    (out / "report.md").write_text(markdown(t1, t3, labels, pred.rotation.nunique()))
    summary = {
        "table1": t1.to_dict(orient="records"),
        "table3": t3.to_dict(orient="records"),
        "labels": labels.to_dict(orient="records"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print((out / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
