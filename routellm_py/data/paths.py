"""Data-directory resolution: `--data-dir`, then `$ROUTELLM_PY_DATA`, then `./data`."""

from __future__ import annotations

import os
from pathlib import Path

from routellm_py._util import DATA_ENV

# Files whose presence marks a usable data directory (all: routellm_py/data/manifest.json).
MARKERS = (
    "benchmarks/mmlu/responses",
    "benchmarks/gsm8k/gsm8k_responses.csv",
    "benchmarks/mt_bench/question.jsonl",
    "benchmarks/mt_bench/judgements.jsonl",
)


class DataDirError(FileNotFoundError):
    """The data directory is missing or incomplete."""


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to read, checked to hold the benchmark files."""
    if data_dir is not None:
        path, origin = Path(data_dir), "--data-dir"
    elif os.environ.get(DATA_ENV):
        path, origin = Path(os.environ[DATA_ENV]), f"${DATA_ENV}"
    else:
        path, origin = Path("data"), "the default ./data"
    missing = [m for m in MARKERS if not (path / m).exists()]
    if missing:
        raise DataDirError(
            f"data directory {path.resolve()} (from {origin}) is missing {missing}. "
            f"Point --data-dir or ${DATA_ENV} at a folder laid out as "
            "routellm_py/data/manifest.json describes (benchmarks/, preferences/, gold/). "
            "The files come from the public sources listed there (RouteLLM, "
            "arena-hard-auto, AlpacaEval, RouterDC); check a folder with "
            "`routellm-py data verify --data-dir PATH`."
        )
    return path


def require_file(path: Path, what: str) -> Path:
    """`path` itself, or a DataDirError that says which dataset file is absent."""
    if not path.exists():
        raise DataDirError(
            f"{what}: expected file {path} is missing; see routellm_py/data/manifest.json"
        )
    return path
