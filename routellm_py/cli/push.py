"""`routellm-py push CHECKPOINT OWNER/NAME [--revision BRANCH] [--private]`.

Uploads a router checkpoint (a path or a name under the checkpoint roots) to the Hugging
Face Hub, its model card as the repository's README.md; load it back anywhere with
`load_router("hf:OWNER/NAME")`. The token comes from `HF_TOKEN` or `hf auth login`.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "push", help="upload a checkpoint to the Hugging Face Hub", description=__doc__
    )
    p.add_argument("checkpoint", help="checkpoint directory or name (e.g. mf)")
    p.add_argument("repo_id", help="Hub repository OWNER/NAME (created if missing)")
    p.add_argument("--revision", default=None, help="branch to commit to (default main)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--message", default=None, help="commit message")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from routellm_py.hub import push_to_hub
    from routellm_py.routers.base import find_checkpoint

    ckpt = Path(args.checkpoint)
    if not ckpt.is_dir():
        ckpt = find_checkpoint(args.checkpoint) or ckpt
    info = push_to_hub(
        ckpt,
        args.repo_id,
        revision=args.revision,
        private=args.private or None,
        commit_message=args.message,
    )
    print(f"pushed {ckpt} to {args.repo_id}: {info.commit_url}")
    return 0
