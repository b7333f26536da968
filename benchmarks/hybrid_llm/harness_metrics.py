"""Hybrid-LLM metrics of routers on the harness benchmarks (MT-Bench, MMLU, GSM8K): relative
quality drop vs all-strong at 10/20/40% cost advantage (Ding et al. 2024, Table 1) and the
average quality gap difference (§4.3), on the prompts `routellm-py bench` evaluates.

    python benchmarks/hybrid_llm/harness_metrics.py --routers random,/tmp/routers/quality_gap \
        --benchmarks mt-bench,gsm8k --cache-dir /tmp/qgap/scores

Win rates come from (and go to) the bench's score cache, so routers already benchmarked
are not scored again. Pass the same --limit / --no-decontaminate as the bench run.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

ADVANTAGES = (0.1, 0.2, 0.4)


def main() -> int:
    from routellm_py.benchmarks.harness import evaluation_set, resolve_routers
    from routellm_py.benchmarks.scores import score_prompts
    from routellm_py.metrics import avg_quality_gap_difference, quality_drop_at_cost_advantage

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--routers", required=True, help="comma-separated names or checkpoint paths")
    p.add_argument("--benchmarks", default="mt-bench,mmlu,gsm8k")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--no-decontaminate", action="store_true")
    args = p.parse_args()
    routers = resolve_routers(args.routers.split(","))
    head = " | ".join(f"drop @{100 * a:.0f}% | gap diff @{100 * a:.0f}%" for a in ADVANTAGES)
    for name in args.benchmarks.split(","):
        bench, n_total, dropped, _ = evaluation_set(
            name, routers, args.data_dir, not args.no_decontaminate, args.limit
        )
        print(f"\n{name}: {len(bench)} of {n_total} prompts (left out: {dropped})")
        print(f"| router | {head} |\n|---|" + "---|" * 2 * len(ADVANTAGES))
        for label, router in routers.items():
            w = score_prompts(router, bench.prompts, args.cache_dir, progress=False)
            strong, weak = bench.scores(router.strong_model), bench.scores(router.weak_model)
            drops = quality_drop_at_cost_advantage(w, strong, weak, ADVANTAGES)
            cells = [
                f"{100 * drops[a]:.2f}% | {avg_quality_gap_difference(w, weak - strong, a):+.3f}"
                for a in ADVANTAGES
            ]
            print(f"| {label} | " + " | ".join(cells) + " |")
        first = next(iter(routers.values()))
        s, k = bench.scores(first.strong_model), bench.scores(first.weak_model)
        rand = quality_drop_at_cost_advantage(np.zeros(len(s)), s, k, ADVANTAGES)
        cells = [f"{100 * rand[a]:.2f}% | 0" for a in ADVANTAGES]
        print("| random (expected) | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
