"""`routellm-py score --router mf --input prompts.parquet --output scores.parquet`.

Scores every row of a parquet prompt log in batches, streaming row groups (memory flat in
the input size), with progress; an interrupted run resumes from its part files. Output
columns: `row`, the --keep columns, `win_rate`. `--engine ray` runs Ray Data with one router
per actor (`pip install 'routellm-py[ray]'`; --ray-address points at a cluster).
"""

from __future__ import annotations

import argparse

from routellm_py.cli.common import split_list


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score", help="score a parquet prompt log (batch, resumable)", description=__doc__
    )
    p.add_argument("--router", required=True, help="router name, checkpoint path or hf:OWNER/NAME")
    p.add_argument("--input", required=True, help="input .parquet")
    p.add_argument("--output", required=True, help="output .parquet")
    p.add_argument("--column", default="prompt", help="prompt column (default prompt)")
    p.add_argument("--keep", type=split_list, default=[], help="input columns to copy, e.g. id")
    p.add_argument("--batch-size", type=int, default=1024, help="rows per batch (1024)")
    p.add_argument("--engine", choices=["local", "ray"], default="local")
    p.add_argument("--concurrency", type=int, default=2, help="ray: router actors (2)")
    p.add_argument("--actor-cpus", type=float, default=1.0, help="ray: CPUs reserved per actor (1)")
    p.add_argument("--ray-address", default=None, help="ray: cluster address (default: local)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routellm_py.scoring import score_parquet

    if args.engine == "ray" and args.ray_address:
        import ray

        ray.init(address=args.ray_address)
    rep = score_parquet(
        args.router,
        args.input,
        args.output,
        column=args.column,
        keep=args.keep,
        batch_size=args.batch_size,
        engine=args.engine,
        concurrency=args.concurrency,
        actor_cpus=args.actor_cpus,
    )
    resumed = f", {rep.n_resumed_batches} batches resumed" if rep.n_resumed_batches else ""
    print(f"scored {rep.n_rows} rows into {rep.output} ({rep.n_blank} blank{resumed})")
    return 0
