"""`routellm-py calibrate --router NAME_OR_PATH --strong-pct 0.3 [--prompts FILE]`.

Prints the threshold that sends the requested share of calls to the strong model
(RouteLLM's calibration), measured on representative prompts: FILE (.txt, one prompt a
line; or .jsonl with a "prompt" field), or the prompts of an eval set (--eval-set
FORMAT:PATH, as `bench` takes it), else every bundled training prompt that is not a
benchmark prompt.

`--write-quantiles` stores the win-rate quantiles of those prompts in the checkpoint
(`win_rate_quantiles.json`, written atomically; `routellm_py.calibration.WinRateQuantiles`),
so that a server answers `router-<name>-s<fraction>` by a lookup, without the data.

`routellm-py calibrate --fit-calibrator --router PATH [--data SOURCES]` instead fits the
checkpoint's win-rate calibrator (`routers/calibration.py`: temperature, Platt or isotonic,
chosen by cross-validated log loss) on the gold score tables SOURCES (default: the
router's training sources), using only prompts the router did not fit; it writes
`calibration.json` and a "## Calibration" section of the model card into PATH and prints
ECE, Brier and log loss before and after; quantiles taken on the default prompts are
recomputed under the new calibrator (others are reported stale).
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
        "--strong-pct", type=float, default=None, help="share of calls to the strong model, 0-1"
    )
    p.add_argument(
        "--fit-calibrator",
        action="store_true",
        help="fit and store the checkpoint's win-rate calibrator instead (see above)",
    )
    p.add_argument(
        "--write-quantiles",
        action="store_true",
        help="store the win-rate quantiles of the prompts in the checkpoint (see above)",
    )
    p.add_argument(
        "--data", default=None, help="with --fit-calibrator: gold score tables, e.g. mmlu-gold"
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
    from routellm_py.lab.calibrate import calibration_report, read_prompts_file
    from routellm_py.routers.base import load_router

    if args.fit_calibrator:
        return fit(args)
    if args.strong_pct is None and not args.write_quantiles:
        raise ValueError("--strong-pct is required (or --write-quantiles, --fit-calibrator)")
    if args.strong_pct is not None and not 0.0 <= args.strong_pct <= 1.0:
        raise ValueError(f"--strong-pct must be in [0, 1] (a fraction), got {args.strong_pct}")
    prompts = read_prompts_file(args.prompts) if args.prompts else None
    sources = f"file {args.prompts}" if args.prompts else None
    router = load_router(args.router)
    if args.eval_set:
        from routellm_py.data.evalset import load_eval_set

        prompts = load_eval_set(args.eval_set, router.strong_model, router.weak_model).prompts
        sources = f"eval set {args.eval_set}"
    if args.write_quantiles:
        return write(args, prompts, sources)
    rep = calibration_report(
        router, args.strong_pct, prompts, data_dir=args.data_dir, cache_dir=args.cache_dir
    )
    print(f"threshold: {rep.threshold!r}")
    print(
        f"strong-call fraction on {rep.n_prompts} calibration prompts: "
        f"{rep.strong_fraction:.4f} (requested {rep.requested:.4f})"
    )
    return 0


def write(args: argparse.Namespace, prompts: list[str] | None, sources: str | None) -> int:
    """`--write-quantiles`: score the prompts, store their quantiles in the checkpoint."""
    from routellm_py.lab.calibrate import write_checkpoint_quantiles
    from routellm_py.routers.base import QUANTILES_FILE

    q = write_checkpoint_quantiles(
        args.router, prompts, sources, data_dir=args.data_dir, cache_dir=args.cache_dir
    )
    print(f"wrote {args.router}/{QUANTILES_FILE}: {len(q.thresholds)} quantiles of win rates")
    print(f"on {q.prompts['n']} prompts ({q.prompts['sources']}; sha256 {q.prompts['sha256']})")
    if args.strong_pct is not None:
        print(f"threshold: {q.threshold(args.strong_pct)!r}")
        print(
            f"strong-call fraction on {q.prompts['n']} calibration prompts: "
            f"{q.strong_fraction(args.strong_pct):.4f} (requested {args.strong_pct:.4f})"
        )
    return 0


def fit(args: argparse.Namespace) -> int:
    """`--fit-calibrator`: fit, store and print the checkpoint's win-rate calibrator."""
    from routellm_py.lab.calibrate import calibrate_checkpoint, refresh_quantiles

    rec = calibrate_checkpoint(args.router, args.data, args.data_dir)
    print(f"{args.router}: {rec['method']} calibrator on {rec['data']['description']}")
    print(f"{rec['data']['n_prompts']} prompts; outcome: {rec['data']['outcome']}")
    cv = ", ".join(f"{m} {v:.4f}" for m, v in rec["cv_log_loss"].items())
    print(f"{rec['selection']}: {cv}")
    for method, why in rec.get("rejected", {}).items():
        print(f"{method} left out: {why}")
    print(f"{'win rates':<26} {'ECE width':>9} {'ECE mass':>9} {'Brier':>7} {'log loss':>8}")
    for label, key in [("raw", "before"), ("calibrated (out-of-fold)", "after_cross_validated")]:
        m = rec[key]
        print(
            f"{label:<26} {m['ece_width']:>9.4f} {m['ece_mass']:>9.4f} {m['brier']:>7.4f} "
            f"{m['log_loss']:>8.4f}"
        )
    print(f"wrote {args.router}/calibration.json and the model card's calibration section")
    print(refresh_quantiles(args.router, args.data_dir))
    return 0
