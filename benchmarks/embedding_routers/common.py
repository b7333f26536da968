"""Shared helpers of the embedding-router studies (protocol, ablation, overhead, encoders).

Run the scripts from the repository root with the project's venv, e.g.
    .venv/bin/python benchmarks/embedding_routers/protocol.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py._util import atomic_write, text_uniform
from routellm_py.data.battles import Battles
from routellm_py.data.sources import load_sources, parse_spec
from routellm_py.lab.train import train_router
from routellm_py.routers.base import Router

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
JUDGE_GOLD = ("arena-bench-v1", "alpaca-eval", "routerbench")  # regime (a)
WITH_MMLU = (*JUDGE_GOLD, "mmlu-gold")  # regime (b)
VAL_SEED = 1  # protocol folds (MF's own early-stopping split uses seed 0)


def load_all(sources: tuple[str, ...] = WITH_MMLU) -> Battles:
    """Every battle of `sources`, loaded once (the `source` column tells them apart)."""
    return load_sources(",".join(sources))


def source_of(label: str) -> str:
    return label.split("@")[0]


def select(battles: Battles, spec: str, prompts_mask: dict[str, bool] | None = None) -> Battles:
    """The battles of a `--data` spec (`name[@weight],...`) taken from a loaded table, with
    `@weight` applied; with `prompts_mask`, only battles on prompts mapped to True."""
    f = battles.frame
    parts = []
    for s in parse_spec(spec):
        part = f[f["source"] == s.name]
        if part.empty:
            raise ValueError(f"source {s.name!r} is not in the loaded battles")
        parts.append(part.assign(weight=part["weight"] * s.weight))
    out = Battles(pd.concat(parts, ignore_index=True))
    if prompts_mask is not None:
        keep = out.frame["prompt"].map(prompts_mask).to_numpy(dtype=bool)
        out = Battles(out.frame[keep])
    return out


def balanced_spec(battles: Battles, sources: tuple[str, ...]) -> str:
    """A spec giving each source the same total weight (that of the largest source)."""
    counts = battles.frame.groupby("source")["weight"].sum()
    top = max(counts[s] for s in sources)
    return ",".join(f"{s}@{top / counts[s]:.4g}" if counts[s] != top else s for s in sources)


def folds(battles: Battles, k: int) -> dict[str, int]:
    """prompt -> fold in 0..k-1: a seeded hash of the text (`VAL_SEED`), so a prompt and all
    its battles are in one fold, independent of order."""
    prompts = sorted(set(battles.frame["prompt"]))
    return {p: int(text_uniform(p, VAL_SEED) * k) for p in prompts}


def train(router: str, spec: str, battles: Battles, params: dict[str, Any]) -> Router:
    """Fit a router with `train_router` (which records its prompt digests, so the harness
    decontaminates benchmark prompts against them) on `battles`, the rows of `spec`."""
    r = train_router(router, battles, progress=False, **params)
    r.provenance["data"] = spec
    return r


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counted half."""
    from scipy.stats import rankdata

    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(obj, indent=1, default=str) + "\n")
    print(f"wrote {path}", file=sys.stderr)
