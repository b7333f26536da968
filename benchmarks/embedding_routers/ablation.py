"""Per-source ablation on the benchmarks (reported, never used to choose anything).

Each router is trained on the full data of one mix at a time (each single source, the
regime (a) and (b) mixes, the balanced mixes) and every trained router runs through the
harness together, so all share one decontaminated evaluation set (the union of the drops).
Checkpoints go to a scratch folder (`--scratch`), results to results/ablation_<router>.*.

Usage: .venv/bin/python benchmarks/embedding_routers/ablation.py --router sw_ranking
       [--encoder minilm] [--params '{"labels": "pair"}'] [--tag NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from common import JUDGE_GOLD, RESULTS, WITH_MMLU, balanced_spec, load_all, select, train

from routellm_py import load_router
from routellm_py.benchmarks import harness


def mixes(battles) -> dict[str, str]:
    out = {s: s for s in WITH_MMLU}
    out["(a) all judge+gold"] = ",".join(JUDGE_GOLD)
    out["(a) balanced"] = balanced_spec(battles, JUDGE_GOLD)
    out["(b) all + mmlu-gold"] = ",".join(WITH_MMLU)
    out["(b) balanced"] = balanced_spec(battles, WITH_MMLU)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--router", required=True)
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--params", default="{}", help="JSON router parameters")
    ap.add_argument("--tag", default=None, help="results name (default: the router)")
    ap.add_argument("--only", default=None, help="comma-separated mix labels to run")
    ap.add_argument("--scratch", default="/tmp/embedding_router_ablation")
    args = ap.parse_args()
    tag = args.tag or args.router
    params = {"encoder": args.encoder, **json.loads(args.params)}
    battles = load_all()
    routers = {}
    for label, spec in mixes(battles).items():
        if args.only and label not in args.only.split(","):
            continue
        if (
            label == "mmlu-gold"
            and params.get("labels", "tiers") == "tiers"
            and args.router == "sw_ranking"
        ):
            params_here = {**params, "labels": "pair"}  # one pair: tiers are undefined
        else:
            params_here = params
        r = train(args.router, spec, select(battles, spec), params_here)
        path = Path(args.scratch) / tag / label.replace(" ", "_").replace("/", "_")
        r.save(path)  # saved, so the harness' score cache keys on the weights
        routers[label] = load_router(path)
    results = harness.run_benchmark(routers, out=RESULTS / f"ablation_{tag}", progress=False)
    rows = []
    for bench, res in results.items():
        t = res.table.set_index("router")
        for label in [*routers, "random (expected)"]:
            rows.append({"benchmark": bench, "mix": label, **t.loc[label].drop("kind").to_dict()})
        print(f"{bench}: evaluated {res.n_evaluated} of {res.n_total}; dropped {res.dropped}")
    table = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.to_csv(RESULTS / f"ablation_{tag}.csv", index=False)
    print(table.pivot(index="mix", columns="benchmark", values="APGR").round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
