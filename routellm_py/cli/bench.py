"""`routellm-py bench --routers random,mf --benchmarks mt-bench,mmlu,gsm8k [--overhead]`.

Prints one table per benchmark (APGR, CPT(50%), CPT(80%), $/1k queries, oracle and random
rows) and writes CSV, JSON and PNG results under --out (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from routellm_py.cli.common import add_data_dir, add_models, split_list
from routellm_py.metrics import DEFAULT_OUTPUT_TOKENS

OVERHEAD_PROMPTS = 1000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="evaluate routers on MT-Bench, MMLU, GSM8K", description=__doc__
    )
    p.add_argument(
        "--routers", type=split_list, required=True, help="router names or checkpoint paths"
    )
    p.add_argument(
        "--benchmarks", type=split_list, default=["mt-bench", "mmlu", "gsm8k"], help="subset"
    )
    add_models(p)
    add_data_dir(p)
    p.add_argument("--out", default="benchmarks/results", help="results folder")
    p.add_argument("--cache-dir", default=None, help="score cache (default: OUT/cache)")
    p.add_argument(
        "--no-decontaminate",
        dest="decontaminate",
        action="store_false",
        help="keep RouteLLM-listed and near-duplicate (cosine >= 0.95) training prompts",
    )
    p.add_argument(
        "--encoder", default=None, help="encoder spec for decontamination (default: minilm)"
    )
    p.add_argument("--limit", type=int, default=None, help="evaluate a seeded sample of N prompts")
    p.add_argument("--batch-size", type=int, default=256, help="prompts per win_rate call")
    p.add_argument(
        "--output-tokens",
        type=float,
        default=DEFAULT_OUTPUT_TOKENS,
        help=f"assumed output tokens per query for costs (default {DEFAULT_OUTPUT_TOKENS})",
    )
    p.add_argument("--overhead", action="store_true", help="also measure routing overhead")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routellm_py.benchmarks.harness import print_results, resolve_routers, run_benchmark
    from routellm_py.embeddings.encoders import use_offline_defaults

    use_offline_defaults()  # disk cache, reference encoder backend (serving: RAM, fast path)

    routers = resolve_routers(args.routers)
    results = run_benchmark(
        routers,
        benchmarks=args.benchmarks,
        data_dir=args.data_dir,
        strong=args.strong,
        weak=args.weak,
        out=args.out,
        decontaminate=args.decontaminate,
        limit=args.limit,
        cache_dir=args.cache_dir,
        batch_size=args.batch_size,
        output_tokens=args.output_tokens,
        encoder_spec=args.encoder,
        progress=args.progress,
    )
    print_results(results)
    if args.overhead:
        from routellm_py.benchmarks.overhead import overhead_table

        prompts = [p for r in results.values() for p in r.prompts][:OVERHEAD_PROMPTS]
        table = overhead_table(routers, prompts, Path(args.out))
        print("== routing overhead\n" + table.to_string(index=False, float_format="%.3f"))
    print(f"results written to {args.out}/")
    return 0
