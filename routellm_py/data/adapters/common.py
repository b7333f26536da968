"""Helpers shared by the adapters: errors, exclusion reports, turn joining, pairwise expansion."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py._util import json_object
from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import COLUMNS, Battles, first_flagged, is_text, map_unique

logger = logging.getLogger("routellm_py.data")

# source -> reason -> number of rows (or score cells) left out. Callers pass a dict to collect it.
Report = dict[str, dict[str, int]]
TURN_POLICIES = ("first", "last", "join")
MODEL_COLUMNS = ("model_a", "model_b")
WINNERS = {"model_a": "a_wins", "model_b": "b_wins", "tie": "tie", "tie (bothbad)": "tie"}


class AdapterError(ValueError):
    """Malformed preference input; the message names the file, the row and the problem."""


def fail(where: str | Path, row: int | None, problem: str) -> AdapterError:
    """An AdapterError reading `WHERE: row N: PROBLEM` (rows count from 1, header excluded)."""
    at = f"{where}: row {row}" if row is not None else str(where)
    return AdapterError(f"{at}: {problem}")


def note(report: Report | None, source: str, reason: str, count: int) -> None:
    """Record (and log at WARNING) that `count` input items of `source` were left out or
    merged, `reason` saying which and why; nothing is dropped without a note."""
    if count <= 0:
        return
    logger.warning("%s: %d %s", source, count, reason)
    if report is not None:
        reasons = report.setdefault(source, {})
        reasons[reason] = reasons.get(reason, 0) + int(count)


def check_rows(
    where: str | Path, frame: pd.DataFrame, checks: Sequence[tuple[pd.Series, str]]
) -> None:
    """Raise on the first row flagged by any (mask, problem) check, quoting that row."""
    for mask, problem in checks:
        if (i := first_flagged(mask)) is not None:
            row = {k: f"{v!s:.60}" for k, v in frame.iloc[i].to_dict().items()}
            n = int(np.count_nonzero(np.asarray(mask, dtype=bool)))
            raise fail(where, i + 1, f"{problem} ({n} such rows); row: {row}")


def read_jsonl(path: Path, needed: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Records of a JSON-lines file; a bad line or a record lacking `needed` keys raises."""
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json_object(line, f"{path}: line {i}", AdapterError)
            missing = [k for k in needed if k not in rec]
            if missing:
                raise AdapterError(f"{path}: line {i}: missing keys {missing}")
            records.append(rec)
    return records


def require_columns(columns: Sequence[str], needed: Sequence[str], where: str | Path) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise fail(where, None, f"missing columns {missing}; found {list(columns)}")


def join_turns(turns: Sequence[Any], how: str = "first") -> str:
    """The routing text of a multi-turn prompt.

    "first": the first user turn (RouteLLM routes Arena conversations on it); "last": the last;
    "join": all turns joined by a blank line, with consecutive identical turns kept once
    (RouterBench repeats some ARC turns verbatim). Empty / None turns are ignored; the result
    is "" when no turn has text, which callers report as an excluded row.
    """
    if how not in TURN_POLICIES:
        raise ValueError(f"turn policy {how!r} not in {TURN_POLICIES}")
    texts = [t for t in turns if is_text(t)]
    if not texts:
        return ""
    if how == "first":
        return texts[0]
    if how == "last":
        return texts[-1]
    kept = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    return "\n\n".join(kept)


def outcome_from_p(p: np.ndarray) -> np.ndarray:
    """Hard outcome of a soft label P(model_a wins): > 0.5 a_wins, < 0.5 b_wins, 0.5 tie."""
    return np.where(p > 0.5, "a_wins", np.where(p < 0.5, "b_wins", "tie"))


def pairwise_from_scores(
    long: pd.DataFrame, source: str, report: Report | None, what: str
) -> Battles:
    """Every model pair scored on the same prompt is one battle; the higher score wins.

    `long` has columns key, prompt, model, score (NaN = not scored). NaN cells are left out
    (that model has no battles on that prompt) and counted in `report`. Each unordered pair
    appears once, oriented so model_a < model_b alphabetically; equal scores are a tie.
    """
    long = long.assign(model=map_unique(long["model"], canonical_model))
    dup = long.duplicated(["key", "model"])
    if dup.any():
        key, model = long.loc[dup, ["key", "model"]].iloc[0]
        raise AdapterError(f"{source}: prompt {key!r} has two score columns for model {model!r}")
    empty = long["score"].isna()
    note(report, source, f"empty {what} left out (model skipped on that prompt)", empty.sum())
    scored = long.loc[~empty]
    lonely = int(((~empty).groupby(long["key"]).sum() < 2).sum())
    note(report, source, "prompts with fewer than 2 scored models (no battles)", lonely)
    prompts = scored.drop_duplicates("key").set_index("key")["prompt"]
    wide = scored.pivot(index="key", columns="model", values="score").reindex(prompts.index)
    models = np.array(sorted(wide.columns), dtype=object)
    s = wide[models].to_numpy(dtype=np.float64)
    ia, ib = np.triu_indices(len(models), k=1)  # every unordered pair, model_a < model_b
    sa, sb = s[:, ia], s[:, ib]
    row, pair = np.nonzero(~np.isnan(sa) & ~np.isnan(sb))  # prompt-major order
    sa, sb = sa[row, pair], sb[row, pair]
    columns = {
        "prompt": prompts.to_numpy(dtype=object)[row],
        "model_a": models[ia[pair]],
        "model_b": models[ib[pair]],
        "outcome": np.where(sa > sb, "a_wins", np.where(sa < sb, "b_wins", "tie")),
    }
    # object columns: millions of rows share a few thousand prompt strings, not copied
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    frame["p_a_wins"] = np.nan
    return finish(frame, source, report)


def finish(
    frame: pd.DataFrame, source: str, report: Report | None, where: str | Path | None = None
) -> Battles:
    """Battles from adapter rows: model names checked and made canonical; rows without prompt
    text and self-battles (after aliasing) are left out and reported."""
    names = [
        (~map_unique(frame[c], is_text, bool), f"{c} must be a non-empty string")
        for c in MODEL_COLUMNS
    ]
    check_rows(where or source, frame, names)
    f = frame.copy()
    for c in MODEL_COLUMNS:
        f[c] = map_unique(f[c], canonical_model)
    empty = ~map_unique(f["prompt"], is_text, bool)
    note(report, source, "rows without prompt text left out", empty.sum())
    same = (f["model_a"] == f["model_b"]) & ~empty
    note(report, source, "rows with the same model on both sides left out", same.sum())
    f = f[~empty & ~same]
    if f.empty:
        raise AdapterError(f"{where or source}: no usable battles left (see the notes logged)")
    if "source" not in f.columns:
        f = f.assign(source=source)
    if "weight" not in f.columns:
        f = f.assign(weight=1.0)
    return Battles(f[COLUMNS])
