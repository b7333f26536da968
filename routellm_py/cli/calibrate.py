"""`routellm-py calibrate --router NAME_OR_PATH --strong-pct 0.3 [--prompts FILE]`.

Prints the threshold that sends the requested share of calls to the strong model
(RouteLLM's calibration), measured on representative prompts: FILE (.txt, one prompt a
line; or .jsonl with a "prompt" field), or the prompts of an eval set (--eval-set
FORMAT:PATH, as `bench` takes it), else every bundled training prompt that is not a
benchmark prompt.
"""

from __future__ import annotations

import argparse

from routellm_py.cli.common import add_data_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="threshold for a target share of strong calls", description=__doc__
    )
    p.add_argument("--router", required=True, help="router name or checkpoint path")
    p.add_argument(
        "--strong-pct", type=float, required=True, help="share of calls to the strong model, 0-1"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--prompts", default=None, help=".txt (one per line) or .jsonl with 'prompt'"
    )
    which.add_argument(
        "--eval-set",
        metavar="FORMAT:PATH",
        help="the prompts of an eval set (csv:, jsonl:, parquet:)",
    )
    p.add_argument("--cache-dir", default=None, help="score cache (default: $ROUTELLM_PY_CACHE)")
    add_data_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routellm_py.calibration import calibration_report, read_prompts_file
    from routellm_py.routers.base import load_router

    if not 0.0 <= args.strong_pct <= 1.0:
        raise ValueError(f"--strong-pct must be in [0, 1] (a fraction), got {args.strong_pct}")
    prompts = read_prompts_file(args.prompts) if args.prompts else None
    router = load_router(args.router)
    if args.eval_set:
        from routellm_py.data.evalset import load_eval_set

        prompts = load_eval_set(args.eval_set, router.strong_model, router.weak_model).prompts
    rep = calibration_report(
        router, args.strong_pct, prompts, data_dir=args.data_dir, cache_dir=args.cache_dir
    )
    print(f"threshold: {rep.threshold!r}")
    print(
        f"strong-call fraction on {rep.n_prompts} calibration prompts: "
        f"{rep.strong_fraction:.4f} (requested {rep.requested:.4f})"
    )
    return 0
