"""`routellm-py bench --routers random,mf [--benchmarks mt-bench,mmlu,gsm8k]
[--eval-set csv:my_eval.csv] [--overhead]`.

Prints one table per benchmark (APGR with a bootstrap 95% interval, CPT(50%), CPT(80%),
$/1k queries, and the calibration of each router's win rates: ECE over 10 equal-width
bins and Brier score against the outcome strong > weak, ties 1/2; rows for each router,
then the untrained `length` baseline, the oracle and random) headed by the random band
(2.5-97.5 percentile of APGR over 1,000 seeded random routers; `*` marks APGRs above it),
and writes CSV, JSON and PNG results (the band shaded; `<benchmark>_reliability.png`, the
reliability diagram) under --out (see benchmarks/README.md).

--eval-set FORMAT:PATH (csv, jsonl or parquet; repeatable) adds your own prompts with the
strong and weak models' scores (columns prompt, strong_score, weak_score: 0/1 or graded;
see routellm_py/data/evalset.py), evaluated like a built-in benchmark: decontaminated
against the routers' training prompts, same table, intervals and plots. With --eval-set
and no --benchmarks, only the eval sets are evaluated.
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
        "--benchmarks",
        type=split_list,
        default=None,
        help="subset of mt-bench,mmlu,gsm8k (default: all three, or none with --eval-set)",
    )
    p.add_argument(
        "--eval-set",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="your own eval set, csv:PATH, jsonl:PATH or parquet:PATH (repeatable)",
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
        "--encoder",
        default=None,
        help="only near-duplicate checks against training embeddings under this encoder "
        "(default: each router's recorded one); others drop exact duplicates only",
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
    from routellm_py.data.benchmarks import BENCHMARKS
    from routellm_py.data.evalset import load_eval_set
    from routellm_py.embeddings.encoders import use_offline_defaults

    use_offline_defaults()  # disk cache, reference encoder backend (serving: RAM, fast path)

    routers = resolve_routers(args.routers)
    eval_sets = [load_eval_set(spec, args.strong, args.weak) for spec in args.eval_set]
    builtin = args.benchmarks if args.benchmarks is not None else [] if eval_sets else BENCHMARKS
    results = run_benchmark(
        routers,
        benchmarks=[*builtin, *eval_sets],
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
