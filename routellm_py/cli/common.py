"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", default=None, help="data directory (default: $ROUTELLM_PY_DATA, then ./data)"
    )


def add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strong", default=DEFAULT_STRONG, help="strong model name")
    p.add_argument("--weak", default=DEFAULT_WEAK, help="weak model name")


def split_list(value: str) -> list[str]:
    """'a,b, c' -> ['a', 'b', 'c']; an empty item is an error."""
    items = [v.strip() for v in value.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"empty item in list {value!r}")
    return items
