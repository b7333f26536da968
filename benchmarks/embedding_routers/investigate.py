"""Why a router does not beat random on a benchmark: diagnostics, never used for choices.

For each benchmark (the harness's decontaminated evaluation set) and router:
* the spread of its win rates (std; a near-constant router routes like a random one),
* ROC-AUC of the win rate for "strong correct/better and weak not" among non-tie prompts,
* the spread of a random router's APGR on the same prompts (1,000 seeded permutations), to
  see whether a gap to 0.5 is larger than chance on this many prompts,
* how close the benchmark prompts are to the router's training prompts (mean of the max
  MiniLM cosine), which is what similarity weighting and the MF projection rely on.

Usage: .venv/bin/python benchmarks/embedding_routers/investigate.py ROUTER [ROUTER ...]
"""

from __future__ import annotations

import sys

import numpy as np
from common import RESULTS, roc_auc, write_json

from routellm_py import load_router
from routellm_py import metrics as M
from routellm_py.benchmarks.harness import evaluation_set, resolve_routers, training_prompts
from routellm_py.data.decontaminate import max_cosine
from routellm_py.embeddings import get_encoder


def main() -> int:
    names = sys.argv[1:]
    routers = resolve_routers(names)
    enc = get_encoder("minilm")
    out: dict = {}
    rng = np.random.default_rng(0)
    for bench_name in ("mt-bench", "mmlu", "gsm8k"):
        bench, *_ = evaluation_set(bench_name, routers)
        s, w = (
            bench.scores(routers[names[0]].strong_model),
            bench.scores(routers[names[0]].weak_model),
        )
        rand = [M.apgr(M.routed_curve(rng.permutation(len(s)), s, w)) for _ in range(1000)]
        row = {
            "n": len(bench),
            "random_apgr_2.5_50_97.5": np.percentile(rand, [2.5, 50, 97.5]).round(3).tolist(),
            "routers": {},
        }
        q = enc.encode(bench.prompts)
        non_tie = s != w
        for name in names:
            r = load_router(name)
            wr = r.win_rate(bench.prompts)
            train = training_prompts(r, None)
            row["routers"][name] = {
                "apgr": M.apgr(M.routed_curve(wr, s, w)),
                "win_rate_mean": float(wr.mean()),
                "win_rate_std": float(wr.std()),
                "auc_non_tie": roc_auc(wr[non_tie], s[non_tie] > w[non_tie]),
                "mean_max_cosine_to_train": float(max_cosine(q, enc.encode(train)).mean()),
            }
        out[bench_name] = row
        print(bench_name, row, file=sys.stderr)
    write_json(RESULTS / "investigate.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
