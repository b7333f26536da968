"""`ScoreTable`: per-prompt scores of many models from one source, the form every gold and
graded source has before it becomes battles.

Columns of `frame` (validated once, at construction):
    key      str, unique per row (the source's own id, e.g. MMLU-Pro `question_id`)
    prompt   str, non-empty: the routing text
    source   str, the source of the row (e.g. "mmlu-pro"; `ScoreTable.concat` mixes them)
    task     str, the source's task or subject: the unit of leave-one-task-out validation
    <model>  one float column per canonical model name; NaN = that model was not scored there

Label schemes are built from it: `to_battles` (every scored pair on a prompt, higher score
wins), or, by the caller, per-prompt difficulty `1 - frame[models].mean(axis=1)` and
strong-class minus weak-class gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import (
    AdapterError,
    Report,
    check_rows,
    fail,
    is_text,
    pairwise_from_scores,
    require_columns,
)
from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import Battles, first_flagged

META = ("key", "prompt", "source", "task")


@dataclass(frozen=True)
class ScoreTable:
    """A validated per-prompt score table (`frame`) with its scale [low, high].

    `what` names a score in exclusion notes ("correctness", "judge scores").
    """

    name: str
    frame: pd.DataFrame
    low: float = 0.0
    high: float = 1.0
    what: str = "correctness"

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", _validate(self))

    @property
    def models(self) -> list[str]:
        return [c for c in self.frame.columns if c not in META]

    @property
    def tasks(self) -> list[str]:
        return sorted(self.frame["task"].unique())

    def __len__(self) -> int:
        return len(self.frame)

    def scores(self, model: str) -> np.ndarray:
        """Scores of `model` on every prompt (NaN = not scored)."""
        return self.frame[self._known([model])[0]].to_numpy(dtype=np.float64)

    def subset(self, mask: np.ndarray | pd.Series) -> ScoreTable:
        """The rows where `mask` is true, e.g. `t.subset(t.frame.task != "math")`."""
        frame = self.frame[np.asarray(mask, dtype=bool)].reset_index(drop=True)
        return ScoreTable(self.name, frame, self.low, self.high, self.what)

    @classmethod
    def concat(cls, tables: Sequence[ScoreTable], name: str = "mixed") -> ScoreTable:
        """The rows of several tables as one: keys become `source/key`, model columns are
        the union (NaN where a source did not score a model), the scale spans them all."""
        if not tables:
            raise ValueError("no score tables to concatenate")
        frames = [t.frame.assign(key=t.frame["source"] + "/" + t.frame["key"]) for t in tables]
        low, high = min(t.low for t in tables), max(t.high for t in tables)
        what = tables[0].what if len({t.what for t in tables}) == 1 else "scores"
        return cls(name, pd.concat(frames, ignore_index=True), low, high, what)

    def to_battles(
        self, models: Sequence[str] | None = None, report: Report | None = None
    ) -> Battles:
        """Battles between every pair of `models` (default: all) scored on the same prompt:
        the higher score wins, equal scores tie (`pairwise_from_scores`; NaN cells reported)."""
        chosen = self.models if models is None else self._known(models)
        if len(set(chosen)) < 2:
            raise ValueError(f"{self.name}: battles need >= 2 models of {self.models}")
        long = self.frame.melt(["key", "prompt"], chosen, var_name="model", value_name="score")
        return pairwise_from_scores(long, self.name, report, self.what)

    def _known(self, models: Sequence[str]) -> list[str]:
        names = [canonical_model(m) for m in models]
        unknown = sorted(set(names) - set(self.models))
        if unknown:
            raise ValueError(f"{self.name} models must be of {self.models}; unknown: {unknown}")
        return names


def read_scores(
    path: Path, meta: Sequence[str], low: float = 0.0, high: float = 1.0, *, binary: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """A CSV (or .csv.gz) of `meta` columns, then one score column per model -> (frame with
    `meta` as str and float model columns, the model columns). A cell that is neither empty
    nor a number in [low, high] (0 or 1 when `binary`) raises, naming file, row and column."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw.columns, meta, path)
    models = [c for c in raw.columns if c not in meta]
    if len(models) < 2:
        raise fail(path, None, f"needs >= 2 model score columns after {list(meta)}, got {models}")
    frame = raw[list(meta)].copy()
    for m in models:
        frame[m] = score_column(path, raw[m], m, low, high, binary)
    return frame, models


def score_column(
    where: str | Path, cells: pd.Series, model: str, low: float, high: float, binary: bool = False
) -> pd.Series:
    """`cells` as floats (None/NaN/blank are NaN), each checked to be in [low, high] (or 0/1)."""
    cells = cells.mask(cells.map(lambda v: isinstance(v, str) and not v.strip()))
    s = pd.to_numeric(cells, errors="coerce").astype(np.float64)
    ok = (s.isin([0.0, 1.0]) if binary else s.between(low, high)) & np.isfinite(s)
    bad = (s.isna() & cells.notna()) | ~(ok | s.isna())
    if (i := first_flagged(bad)) is not None:
        value = cells.iloc[i]
        shown = repr(value) if isinstance(value, str) else str(value)
        scale = "0, 1" if binary else f"a number in [{low:g}, {high:g}]"
        scale = "a finite number" if np.isinf([low, high]).all() else scale
        raise fail(where, i + 1, f"column {model!r} is {shown}; expected {scale} or empty")
    return s


def _validate(t: ScoreTable) -> pd.DataFrame:
    f = t.frame
    missing = [c for c in META if c not in f.columns]
    if missing:
        raise AdapterError(f"{t.name}: score table lacks columns {missing}; needs {list(META)}")
    f = f.reset_index(drop=True)
    checks = [(~f[c].map(is_text), f"{c!r} must be a non-empty string") for c in META]
    check_rows(t.name, f[list(META)], [*checks, (f["key"].duplicated(), "duplicate key")])
    models = [c for c in f.columns if c not in META]
    canonical = [canonical_model(m) for m in models]
    if len(set(canonical)) != len(models) or len(models) < 2:
        raise AdapterError(f"{t.name}: needs >= 2 distinct canonical model columns, got {models}")
    f = f.rename(columns=dict(zip(models, canonical, strict=True)))
    for m in canonical:
        f[m] = score_column(t.name, f[m], m, t.low, t.high)
    return f
