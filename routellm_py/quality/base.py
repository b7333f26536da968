"""The quality-scorer interface: q(.) of Hybrid LLM (Ding et al. 2024 §3), per query and model.

A scorer yields a long table of quality samples, one row per (query, model, sample):

    key      str, the query's id in its source (question_id, sample_id, ...)
    prompt   str, the query text
    model    str, canonical model name
    sample   int, 0 .. K-1 (several sampled responses per model and query)
    score    float, the quality q of that response; NaN when the source has none

`QualityScorer.samples(small, large)` turns it into the two matrices the labels need:
q(S(x)) of shape (N, K) and q(L(x)) of shape (N, K').
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from routellm_py.data.aliases import canonical_model

TABLE_COLUMNS = ["key", "prompt", "model", "sample", "score"]


@dataclass(frozen=True)
class QualitySamples:
    """q(S(x)) and q(L(x)) for N queries: `small` (N, K), `large` (N, K'), all finite.

    `n_missing` counts the queries of the source left out because a model had no score.
    """

    prompts: list[str]
    small: np.ndarray
    large: np.ndarray
    small_model: str
    large_model: str
    source: str
    n_missing: int = 0
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        small = np.asarray(self.small, dtype=np.float64)
        large = np.asarray(self.large, dtype=np.float64)
        n = len(self.prompts)
        for name, a in (("small", small), ("large", large)):
            if a.ndim != 2 or a.shape[0] != n or a.shape[1] < 1:
                raise ValueError(f"{name} samples must have shape ({n}, K>=1), got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} samples hold NaN or inf; drop those queries first")
        if self.keys and len(self.keys) != n:
            raise ValueError(f"{len(self.keys)} keys for {n} prompts")
        object.__setattr__(self, "small", small)
        object.__setattr__(self, "large", large)
        if not self.keys:
            object.__setattr__(self, "keys", [str(i) for i in range(n)])

    def __len__(self) -> int:
        return len(self.prompts)

    def mean_gap(self) -> np.ndarray:
        """E[H(x)] = mean q(S(x)) - mean q(L(x)) per query, shape (N,)."""
        return self.small.mean(axis=1) - self.large.mean(axis=1)

    def subset(self, index: Iterable[int] | np.ndarray) -> QualitySamples:
        """The queries at `index` (integer positions or a boolean mask), in that order."""
        idx = np.asarray(list(index) if not isinstance(index, np.ndarray) else index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return QualitySamples(
            [self.prompts[i] for i in idx],
            self.small[idx],
            self.large[idx],
            self.small_model,
            self.large_model,
            self.source,
            self.n_missing,
            [self.keys[i] for i in idx],
        )

    def restrict(self, prompts: Iterable[str]) -> tuple[QualitySamples, list[str]]:
        """(the queries whose prompt is in `prompts`, the given prompts with no samples)."""
        wanted = set(prompts)
        mask = np.array([p in wanted for p in self.prompts], dtype=bool)
        unmatched = sorted(wanted - set(self.prompts))
        return self.subset(mask), unmatched


class QualityScorer(ABC):
    """A source of quality samples q for (query, model): subclasses implement `table`."""

    kind: ClassVar[str]
    source: str

    @abstractmethod
    def table(self, models: Iterable[str]) -> pd.DataFrame:
        """Quality samples of `models` (canonical names) in the module's long format."""

    def samples(self, small: str, large: str) -> QualitySamples:
        """q(S(x)) and q(L(x)) on every query of the source that scores both models.

        Queries where either model lacks a score (NaN) are left out and counted in
        `n_missing`. Every kept query must have the same number of samples per model.
        """
        small, large = canonical_model(small), canonical_model(large)
        if small == large:
            raise ValueError(f"small and large model are both {small!r}")
        t = check_table(self.table([small, large]), self.source)
        present = set(t["model"])
        for m in (small, large):
            if m not in present:
                raise KeyError(f"{self.source} has no {self.kind} scores for model {m!r}")
        grids = {m: _sample_grid(t[t["model"] == m], m, self.source) for m in (small, large)}
        keys = grids[small].index.intersection(grids[large].index, sort=False)
        s, big = grids[small].loc[keys], grids[large].loc[keys]
        ok = s.notna().all(axis=1).to_numpy() & big.notna().all(axis=1).to_numpy()
        all_keys = grids[small].index.union(grids[large].index)
        prompts = t.drop_duplicates("key").set_index("key")["prompt"]
        kept = keys[ok]
        return QualitySamples(
            prompts=prompts.loc[kept].tolist(),
            small=s.to_numpy()[ok],
            large=big.to_numpy()[ok],
            small_model=small,
            large_model=large,
            source=self.source,
            n_missing=len(all_keys) - len(kept),
            keys=[str(k) for k in kept],
        )


def _sample_grid(rows: pd.DataFrame, model: str, source: str) -> pd.DataFrame:
    """key x sample matrix of one model's scores; ragged sample counts are an error."""
    grid = rows.pivot(index="key", columns="sample", values="score")
    counts = rows.groupby("key")["sample"].nunique()
    if counts.nunique() > 1:
        raise ValueError(
            f"{source}: model {model!r} has a different number of samples per query "
            f"({sorted(counts.unique())}); every query needs the same K"
        )
    return grid


def check_table(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate a scorer's long table (columns, types, one row per key/model/sample)."""
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{source}: quality table lacks columns {missing}; needs {TABLE_COLUMNS}")
    t = table[TABLE_COLUMNS].copy()
    t["key"] = t["key"].astype(str)
    t["model"] = t["model"].map(canonical_model)
    t["sample"] = pd.to_numeric(t["sample"], errors="raise").astype(int)
    t["score"] = pd.to_numeric(t["score"], errors="raise").astype(np.float64)
    if np.isinf(t["score"]).any():
        raise ValueError(f"{source}: quality scores must be finite or NaN (missing)")
    dup = t.duplicated(["key", "model", "sample"])
    if dup.any():
        row = t[dup].iloc[0].to_dict()
        raise ValueError(f"{source}: two scores for the same (key, model, sample): {row}")
    return t


def wide_to_long(frame: pd.DataFrame, models: Iterable[str], source: str) -> pd.DataFrame:
    """A table with columns key, prompt and one score column per model -> the long format
    with one sample per (query, model) (K = 1)."""
    models = [canonical_model(m) for m in models]
    unknown = [m for m in models if m not in frame.columns]
    if unknown:
        known = [c for c in frame.columns if c not in ("key", "prompt", "prompt_id", "category")]
        raise KeyError(f"{source} has no scores for {unknown}; models: {known}")
    long = frame.melt(["key", "prompt"], models, var_name="model", value_name="score")
    long["sample"] = 0
    return long[TABLE_COLUMNS]
