"""`routellm-py data verify|sources|summary`: check a data directory, list the training
sources, or summarise the battles a `--data` spec yields."""

from __future__ import annotations

import argparse
import sys

from routellm_py.cli.common import add_data_dir, add_models


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="check and inspect data", description=__doc__)
    actions = p.add_subparsers(dest="action", required=True)
    v = actions.add_parser("verify", help="check files against routellm_py/data/manifest.json")
    add_data_dir(v)
    actions.add_parser("sources", help="list the training sources a --data spec may name")
    s = actions.add_parser("summary", help="battles, prompts, models, ties per source")
    s.add_argument("--data", required=True, help="comma-separated sources, e.g. routerbench")
    add_data_dir(s)
    add_models(s)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return {"verify": _verify, "sources": _sources, "summary": _summary}[args.action](args)


def _verify(args: argparse.Namespace) -> int:
    from routellm_py.data.manifest import check_files

    checks = check_files(args.data_dir)
    width = max(len(c.path) for c in checks)
    for c in checks:
        print(f"{c.status:<8} {c.path:<{width}}  {c.dataset}")
    bad = [c for c in checks if c.status != "OK"]
    print(f"{len(checks) - len(bad)}/{len(checks)} files OK", file=sys.stderr)
    return 1 if bad else 0


def _sources(args: argparse.Namespace) -> int:
    import routellm_py.feedback.battles  # noqa: F401 (registers the feedback: source)
    from routellm_py.data.sources import SOURCES

    for name, s in SOURCES.items():
        print(f"{name + (':PATH' if s.takes_path else ''):<20} {s.help}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    import routellm_py.feedback.battles  # noqa: F401 (registers the feedback: source)
    from routellm_py.data.sources import load_sources

    # rows the adapters leave out or merge are logged to stderr as they load
    battles = load_sources(args.data, args.data_dir, args.strong, args.weak)
    print(battles.summary().to_string())
    return 0
