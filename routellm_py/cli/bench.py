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

--nway evaluates the N-way policies instead (routellm_py/benchmarks/nway.py): on each gold
source of --sources (default routerbench), quality vs USD per 1k prompts of "quality -
lambda x cost" and "cheapest with P(match best) >= t" against each single model, random
and the oracle, with estimates from an mf router fitted held out (leave one task out, or
on --train-sources); writes nway_<source>.{csv,md,json,png} under --out.
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
    p.add_argument("--routers", type=split_list, help="router names or checkpoint paths")
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
    add_nway_options(p)
    p.set_defaults(func=run)


def floats(value: str) -> list[float]:
    """'0,1.5' -> [0.0, 1.5]."""
    try:
        return [float(v) for v in split_list(value)]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from e


def add_nway_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("N-way (--nway)")
    g.add_argument("--nway", action="store_true", help="evaluate the N-way policies")
    g.add_argument(
        "--sources",
        type=split_list,
        default=["routerbench"],
        help="gold sources (routellm_py.data.scores; default routerbench)",
    )
    g.add_argument(
        "--models", type=split_list, default=None, help="models of the one source (default: all)"
    )
    g.add_argument(
        "--train-sources",
        type=split_list,
        default=[],
        help="fit the mf on these sources (default: leave one task out of the evaluated one)",
    )
    g.add_argument(
        "--prices",
        default=None,
        help="JSON {model: litellm cost-map name or {price_in, price_out}} (default: the "
        "source's own costs, else litellm's offline cost map)",
    )
    g.add_argument("--lambdas", type=floats, default=None, help="lambda grid (USD^-1)")
    g.add_argument("--ts", type=floats, default=None, help="t grid, in [0, 1]")


def run_nway(args: argparse.Namespace) -> int:
    from routellm_py._util import json_object
    from routellm_py.benchmarks import nway

    if args.routers not in (None, ["mf"]):
        raise ValueError(
            "--nway fits its own held-out mf router (shipped checkpoints were trained on the "
            "gold sources); leave out --routers"
        )
    if args.models and len(args.sources) > 1:
        raise ValueError("--models needs a single --sources (model names differ by source)")
    prices = json_object(Path(args.prices).read_bytes(), args.prices) if args.prices else None
    for source in args.sources:
        table, meta = nway.run_nway(
            source,
            args.out,
            models=args.models,
            train_sources=args.train_sources,
            prices=prices,
            data_dir=args.data_dir,
            lambdas=args.lambdas or nway.LAMBDAS,
            ts=args.ts or nway.TS,
            progress=args.progress,
        )
        print(f"== N-way on {source}: {meta['prompts']} prompts, {len(meta['models'])} models")
        print(f"held out: {meta['held_out']}; dropped: {meta['dropped']}")
        print(f"costs: {meta['costs']}")
        print(nway.markdown(table))
    print(f"results written to {args.out}/")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.nway:
        return run_nway(args)
    if not args.routers:
        raise ValueError("--routers is required (or use --nway)")
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
