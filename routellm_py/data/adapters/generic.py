"""Adapter for users' own preference tables: CSV, JSONL or a pandas DataFrame.

Required columns: prompt, model_a, model_b, and at least one label column:
  outcome   a_wins | b_wins | tie
  winner    model_a | model_b | tie | tie (bothbad)   (Chatbot Arena spelling)
  p_a_wins  P(model_a wins) in [0, 1] (a soft label; the hard outcome is derived from it)
Optional: weight (> 0, default 1), source (default: the `source` argument).
Labels are per row: a row needs at least one; when a hard label and p_a_wins are both given
they must agree (p > 0.5 <=> a_wins, p < 0.5 <=> b_wins, p = 0.5 <=> tie); outcome wins
over winner when a row has both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import (
    WINNERS,
    AdapterError,
    Report,
    check_rows,
    finish,
    is_text,
    outcome_from_p,
    read_jsonl,
)
from routellm_py.data.battles import OUTCOMES, Battles

REQUIRED = ("prompt", "model_a", "model_b")
LABELS = ("outcome", "winner", "p_a_wins")


def load_table(
    data: str | Path | pd.DataFrame,
    *,
    source: str = "custom",
    report: Report | None = None,
) -> Battles:
    """A user preference table (.csv, .jsonl or DataFrame) -> Battles, validated row by row."""
    where, frame = _read(data)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if not any(c in frame.columns for c in LABELS):
        missing.append(" or ".join(LABELS))
    if missing:
        raise AdapterError(
            f"{where}: missing columns {missing}; found {list(frame.columns)}. "
            f"Needs {list(REQUIRED)} plus at least one of {list(LABELS)}"
        )
    out = pd.DataFrame({c: frame[c] for c in REQUIRED})
    p = _numeric(frame, "p_a_wins", where, np.nan)
    check_rows(where, frame, [(~(p.between(0, 1) | p.isna()), "p_a_wins must lie in [0, 1]")])
    derived = pd.Series(outcome_from_p(p.to_numpy()), index=frame.index).where(p.notna())
    hard = _hard_label(frame, where)
    checks = [
        (hard.isna() & p.isna(), f"no label: give one of {list(LABELS)}"),
        (hard.notna() & p.notna() & (hard != derived), "outcome/winner disagrees with p_a_wins"),
    ]
    check_rows(where, frame, checks)
    weight = _numeric(frame, "weight", where, 1.0)
    bad_weight = ~(np.isfinite(weight) & (weight > 0))
    check_rows(where, frame, [(bad_weight, "weight must be a finite number > 0")])
    out = out.assign(outcome=hard.fillna(derived), p_a_wins=p, weight=weight)
    if "source" in frame.columns:
        out["source"] = frame["source"].where(frame["source"].map(is_text), source)
    return finish(out, source, report, where)


def _read(data: str | Path | pd.DataFrame) -> tuple[str, pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        return "DataFrame", data.reset_index(drop=True)
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(f"no such preference file: {path}")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return str(path), pd.read_csv(path, dtype=str, keep_default_na=False)
    if name.endswith(".jsonl"):
        return str(path), pd.DataFrame.from_records(read_jsonl(path))
    raise AdapterError(f"{path}: unsupported file type; use .csv, .csv.gz or .jsonl")


def _numeric(frame: pd.DataFrame, col: str, where: str, default: float) -> pd.Series:
    """Column `col` as floats (empty -> `default`); a non-numeric cell raises naming its row."""
    if col not in frame.columns:
        return pd.Series(default, index=frame.index, dtype=np.float64)
    raw = frame[col].map(lambda v: default if v is None or v == "" else v)
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    check_rows(where, frame, [(values.isna() & raw.notna(), f"{col} is not a number")])
    return values


def _hard_label(frame: pd.DataFrame, where: str) -> pd.Series:
    """Per row: the outcome, or the winner mapped to an outcome; NaN where neither is given."""
    hard = pd.Series(np.nan, index=frame.index, dtype=object)
    for col, mapping in [("winner", WINNERS), ("outcome", {o: o for o in OUTCOMES})]:
        if col not in frame.columns:
            continue
        values = frame[col].map(lambda v: v.strip() if isinstance(v, str) else v)
        given = values.map(is_text)
        bad = given & ~values.isin(list(mapping))
        check_rows(where, frame, [(bad, f"{col} must be one of {list(mapping)} or empty")])
        hard = hard.where(~given, values.map(mapping))
    return hard
