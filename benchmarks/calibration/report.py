"""Calibration of routers' win rates on the three benchmarks: raw vs calibrated.

    python benchmarks/calibration/report.py [--routers mf,sw_ranking] [--data-dir DIR]

For each benchmark (the prompts `routellm-py bench` evaluates: MMLU less its gold split,
RouteLLM-listed and near-duplicate prompts dropped) and router: ECE with 10 equal-width and
10 equal-mass bins, Brier score and log loss of P(strong beats weak) against the outcome of
`metrics.pairwise_outcome` (strong score > weak score: 1, lower: 0, a tie: 1/2), for the
raw win rates (`win_rate(raw=True)`) and for the checkpoint's calibrator applied to them.
The calibrators were fitted on training sources only (see each model card); these test
prompts only report how they transfer. Prints a markdown table.
"""

from __future__ import annotations

import argparse

from routellm_py import metrics as M
from routellm_py.benchmarks.harness import evaluation_set
from routellm_py.routers.base import load_router
from routellm_py.routers.calibration import Calibrator

COLUMNS = ("ece_width", "ece_mass", "brier", "log_loss")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--routers", default="mf,sw_ranking")
    p.add_argument("--benchmarks", default="mt-bench,mmlu,gsm8k")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    routers = {name: load_router(name) for name in args.routers.split(",")}
    print(
        "| benchmark | prompts | router | win rates | ECE (width) | ECE (mass) | Brier | log loss |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for bench_name in args.benchmarks.split(","):
        bench, _, _, _ = evaluation_set(bench_name, routers, args.data_dir)
        for name, router in routers.items():
            y = M.pairwise_outcome(
                bench.scores(router.strong_model), bench.scores(router.weak_model)
            )
            raw = router.win_rate(bench.prompts, raw=True)
            calibrator = router.calibrator or Calibrator("identity")
            for label, w in (("raw", raw), (f"calibrated ({calibrator.method})", calibrator(raw))):
                m = M.calibration_summary(w, y)
                cells = " | ".join(f"{m[c]:.4f}" for c in COLUMNS)
                print(f"| {bench_name} | {len(y)} | {name} | {label} | {cells} |")


if __name__ == "__main__":
    main()
