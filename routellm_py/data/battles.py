"""`Battles`: the one canonical preference table every adapter produces and every router trains on.

Columns (validated once, at construction):
    prompt     str, non-empty
    model_a    str, canonical model name (see `aliases`)
    model_b    str, canonical, != model_a
    outcome    "a_wins" | "b_wins" | "tie"
    p_a_wins   float in [0, 1], or NaN when the source gives only a hard outcome
    source     str, where the row came from (e.g. "arena-bench-v1")
    weight     float > 0, a per-row training weight
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.aliases import canonical_model

COLUMNS = ["prompt", "model_a", "model_b", "outcome", "p_a_wins", "source", "weight"]
OUTCOMES = ("a_wins", "b_wins", "tie")


class BattlesSchemaError(ValueError):
    """A preference table does not fit the Battles schema."""


class Battles:
    """A validated, immutable-by-convention preference table (`.frame` is a DataFrame)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = _validate(frame)

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Battles:
        frame = pd.DataFrame.from_records(list(records), columns=COLUMNS)
        return cls(frame)

    @classmethod
    def concat(cls, parts: Iterable[Battles]) -> Battles:
        frames = [b.frame for b in parts]
        if not frames:
            raise ValueError("no battles to concatenate")
        return cls(pd.concat(frames, ignore_index=True))

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Battles({len(self)} rows, sources={sorted(self.frame['source'].unique())})"

    @property
    def models(self) -> list[str]:
        return sorted(set(self.frame["model_a"]) | set(self.frame["model_b"]))

    def soft_label(self) -> np.ndarray:
        """P(model_a wins): `p_a_wins` where given, else 1 / 0 / 0.5 for a_wins / b_wins / tie."""
        hard = self.frame["outcome"].map({"a_wins": 1.0, "b_wins": 0.0, "tie": 0.5})
        return self.frame["p_a_wins"].fillna(hard).to_numpy(dtype=np.float64)

    def pair(self, strong: str, weak: str) -> Battles:
        """Only battles between `strong` and `weak`, oriented so model_a == strong."""
        strong, weak = canonical_model(strong), canonical_model(weak)
        f = self.frame
        direct = f[(f.model_a == strong) & (f.model_b == weak)]
        flipped = f[(f.model_a == weak) & (f.model_b == strong)]
        return Battles(pd.concat([direct, swap_sides(flipped)], ignore_index=True))

    def summary(self) -> pd.DataFrame:
        """Battles, prompts, models and ties per source: what a training run used."""
        g = self.frame.groupby("source")
        return pd.DataFrame(
            {
                "battles": g.size(),
                "prompts": g["prompt"].nunique(),
                "models": g.apply(lambda d: len(set(d.model_a) | set(d.model_b))),
                "ties": g["outcome"].apply(lambda s: int((s == "tie").sum())),
                "weight": g["weight"].sum(),
            }
        )


def map_unique(values: pd.Series, fn: Callable[[Any], Any], dtype: type = object) -> pd.Series:
    """`values.map(fn)`, with `fn` called once per distinct value (tables of millions of
    battles repeat a few thousand prompts and a few dozen model names)."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable cells (e.g. lists) in bad input: map one by one
        return values.map(fn).astype(dtype)
    mapped = np.array([fn(u) for u in uniques], dtype=dtype)
    return pd.Series(mapped[codes], index=values.index, dtype=dtype)


def is_text(v: Any) -> bool:
    """A non-blank string."""
    return isinstance(v, str) and bool(v.strip())


def first_flagged(mask: pd.Series | np.ndarray) -> int | None:
    """Position of the first True in a boolean mask (None when none is): the row an error
    message quotes."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def swap_sides(frame: pd.DataFrame) -> pd.DataFrame:
    """Exchange model_a and model_b, flipping outcome and p_a_wins accordingly."""
    out = frame.copy()
    out["model_a"], out["model_b"] = frame["model_b"].to_numpy(), frame["model_a"].to_numpy()
    out["outcome"] = frame["outcome"].map({"a_wins": "b_wins", "b_wins": "a_wins", "tie": "tie"})
    out["p_a_wins"] = 1.0 - frame["p_a_wins"]
    return out


def _validate(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise BattlesSchemaError(f"battles table lacks columns {missing}; needs {COLUMNS}")
    f = frame[COLUMNS].reset_index(drop=True).copy()
    for col in ("prompt", "model_a", "model_b", "source"):
        if (i := first_flagged(~map_unique(f[col], is_text, bool))) is not None:
            raise BattlesSchemaError(f"row {i}: column {col!r} must be a non-empty string")
    f["model_a"] = map_unique(f["model_a"], canonical_model)
    f["model_b"] = map_unique(f["model_b"], canonical_model)
    if (i := first_flagged(f["model_a"] == f["model_b"])) is not None:
        raise BattlesSchemaError(f"row {i}: model_a and model_b are both {f.model_a[i]!r}")
    if (i := first_flagged(~f["outcome"].isin(OUTCOMES))) is not None:
        raise BattlesSchemaError(f"row {i}: outcome {f.outcome[i]!r} not in {OUTCOMES}")
    f["p_a_wins"] = pd.to_numeric(f["p_a_wins"], errors="raise").astype(np.float64)
    p = f["p_a_wins"]
    if ((p < 0) | (p > 1)).any():
        raise BattlesSchemaError("p_a_wins must lie in [0, 1] (or be NaN for hard labels)")
    f["weight"] = pd.to_numeric(f["weight"], errors="raise").astype(np.float64)
    if not (f["weight"] > 0).all() or not np.isfinite(f["weight"]).all():
        raise BattlesSchemaError("weight must be finite and > 0 in every row")
    return f
