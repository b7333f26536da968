"""Users' own evaluation sets: `csv:PATH`, `jsonl:PATH` or `parquet:PATH` -> a `Benchmark`.

A file holds one row per prompt:
    prompt                    str, non-empty (the routing text)
    strong_score, weak_score  the two models' scores on it: 0/1 correctness (also
                              true/false) or graded (any finite number, e.g. a 1-10 grade)
Instead of strong_score / weak_score, the columns may be named by the models themselves
(`--strong` / `--weak`, canonical names or aliases), as RouteLLM's benchmark CSVs are.
Optional: `prompt_id` (default: the row number) and `category` (default "eval").
Every cell is checked; a bad one raises `AdapterError` naming the file, the row (counting
from 1: a CSV's data rows, a JSONL file's records) and the column. Nothing is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import AdapterError, check_rows, fail, is_text, read_jsonl
from routellm_py.data.adapters.scores import score_column
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.data.benchmarks import Benchmark

FORMATS = ("csv", "jsonl", "parquet")
GENERIC = ("strong_score", "weak_score")
BOOLS = {"true": 1.0, "false": 0.0}


def parse_eval_spec(spec: str) -> tuple[str, Path]:
    """`FORMAT:PATH` -> (format, path), the file checked to exist."""
    fmt, sep, path = str(spec).partition(":")
    if not sep or fmt not in FORMATS or not path:
        raise ValueError(
            f"eval set {spec!r} must be FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}, "
            "e.g. csv:my_eval.csv"
        )
    if not Path(path).is_file():
        raise FileNotFoundError(f"eval set {spec!r}: file {path} does not exist")
    return fmt, Path(path)


def load_eval_set(spec: str, strong: str = DEFAULT_STRONG, weak: str = DEFAULT_WEAK) -> Benchmark:
    """The eval set of `spec` as a Benchmark named `eval-<file stem>`, its score columns
    named by the canonical `strong` and `weak` models (what the harness looks up)."""
    fmt, path = parse_eval_spec(spec)
    raw = _read(fmt, path)
    columns = _score_columns(list(raw.columns), strong, weak, path)
    if "prompt" not in raw.columns:
        raise fail(path, None, f"missing column 'prompt'; found {list(raw.columns)}")
    check_rows(path, raw, [(~raw["prompt"].map(is_text), "column 'prompt' is empty")])
    frame = pd.DataFrame(
        {
            "prompt_id": _text(raw, "prompt_id", [str(i) for i in range(1, len(raw) + 1)]),
            "prompt": raw["prompt"],
            "category": _text(raw, "category", ["eval"] * len(raw)),
        }
    )
    for model, column in zip((strong, weak), columns, strict=True):
        cells = raw[column].map(_bool_as_number)
        scores = score_column(path, cells, column, -np.inf, np.inf)
        check_rows(path, raw, [(scores.isna(), f"column {column!r} is empty")])
        frame[canonical_model(model)] = scores
    if len(frame) < 2:
        raise fail(path, None, f"needs at least 2 prompts, has {len(frame)}")
    values = frame[[canonical_model(strong), canonical_model(weak)]].to_numpy()
    kind = "correct" if np.isin(values, [0.0, 1.0]).all() else "graded"
    return Benchmark(f"eval-{path.stem}", frame, kind)


def _read(fmt: str, path: Path) -> pd.DataFrame:
    """The file as a frame of raw cells."""
    try:
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if fmt == "parquet":
            return pd.read_parquet(path)
    except ImportError as e:
        raise ImportError(f"reading {path} needs pyarrow: pip install pyarrow") from e
    except (ValueError, OSError) as e:
        raise AdapterError(f"{path}: cannot be read as {fmt}: {e}") from e
    return pd.DataFrame.from_records(read_jsonl(path))


def _score_columns(columns: list[str], strong: str, weak: str, path: Path) -> tuple[str, str]:
    """The (strong, weak) score column names: strong_score/weak_score, else the models'."""
    if all(c in columns for c in GENERIC):
        return GENERIC
    by_model = {canonical_model(c): c for c in columns if c.strip()}
    wanted = [canonical_model(strong), canonical_model(weak)]
    if all(m in by_model for m in wanted):
        return by_model[wanted[0]], by_model[wanted[1]]
    raise fail(
        path,
        None,
        f"needs score columns {list(GENERIC)} (or columns named {wanted[0]!r} and "
        f"{wanted[1]!r}); found {columns}",
    )


def _bool_as_number(v: Any) -> Any:
    """true/false (any case, or Python bools) -> 1.0/0.0; anything else unchanged."""
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, str):
        return BOOLS.get(v.strip().lower(), v)
    return v


def _text(raw: pd.DataFrame, column: str, default: list[str]) -> list[str]:
    return [str(v) for v in raw[column]] if column in raw.columns else default
