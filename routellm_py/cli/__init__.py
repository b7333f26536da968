"""`routellm-py` command line: one module per subcommand, imported only when its turn comes.

Each module defines `add_parser(subparsers)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

COMMANDS = {
    "bench": "routellm_py.cli.bench",
    "train": "routellm_py.cli.train",
    "calibrate": "routellm_py.cli.calibrate",
    "select-threshold": "routellm_py.cli.select_threshold",
    "serve": "routellm_py.cli.serve",
    "ui": "routellm_py.cli.ui",
    "data": "routellm_py.cli.data",
    "route": "routellm_py.cli.route",
    "score": "routellm_py.cli.score",
    "push": "routellm_py.cli.push",
    "feedback": "routellm_py.cli.feedback",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="routellm-py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMANDS.values():
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `train` takes the chosen router's hyperparameters as extra flags; others take none.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, FileNotFoundError, TypeError, ImportError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"routellm-py {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
