"""`routellm-py route "PROMPT" ... --router mf (--threshold 0.116 | --strong-pct 0.3)`.

Prints one JSON object per prompt (JSON lines): the router's win rate P(strong beats weak)
and the decision, "strong" iff win_rate >= threshold (RouteLLM §3). No LLM is called.
Prompts come from the arguments and/or --file (.txt one per line, or .jsonl with
"prompt"). --strong-pct picks the threshold that sends that share of calls strong on
calibration prompts (as `routellm-py calibrate`).
"""

from __future__ import annotations

import argparse
import json

from routellm_py.cli.common import add_data_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "route", help="win rate and routing decision for prompts (no LLM call)", description=__doc__
    )
    p.add_argument("prompts", nargs="*", help="prompt texts")
    p.add_argument("--router", required=True, help="router name, checkpoint path or hf:OWNER/NAME")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--threshold", type=float, help="strong iff win rate >= this (0-1)")
    how.add_argument("--strong-pct", type=float, help="share of calls to send strong (0-1)")
    p.add_argument("--file", default=None, help=".txt (one prompt a line) or .jsonl ('prompt')")
    p.add_argument(
        "--calibration-prompts", default=None, help="prompts for --strong-pct (default: bundled)"
    )
    add_data_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routellm_py.lab.calibrate import calibration_report, read_prompts_file
    from routellm_py.routers.base import load_router, validate_threshold

    prompts = list(args.prompts) + (read_prompts_file(args.file) if args.file else [])
    if not prompts:
        raise ValueError("no prompts: pass PROMPT arguments or --file FILE")
    router = load_router(args.router)
    if args.strong_pct is not None:
        if not 0.0 <= args.strong_pct <= 1.0:
            raise ValueError(f"--strong-pct must be in [0, 1] (a fraction), got {args.strong_pct}")
        calib = read_prompts_file(args.calibration_prompts) if args.calibration_prompts else None
        threshold = calibration_report(
            router, args.strong_pct, calib, data_dir=args.data_dir, progress=False
        ).threshold
    else:
        threshold = validate_threshold(args.threshold)
    for i, (prompt, w) in enumerate(zip(prompts, router.win_rate(prompts), strict=True)):
        decision = "strong" if w >= threshold else "weak"
        model = router.strong_model if decision == "strong" else router.weak_model
        row = {"index": i, "prompt": prompt, "win_rate": float(w), "threshold": threshold}
        print(json.dumps({**row, "decision": decision, "model": model}))
    return 0
