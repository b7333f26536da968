"""Battles reduced to the arrays the embedding routers (MF, SW ranking) train on, the
seeded held-out split of their prompts, and the log of what training used.

Ties are handled as `routellm_py.label_schemes` documents (`ties="half"` or `"drop"`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from routellm_py._util import text_uniform
from routellm_py.data.battles import Battles
from routellm_py.label_schemes import TIES


@dataclass(frozen=True)
class TrainingTable:
    """Battles reduced to arrays: unique prompts, and per battle the prompt index, the two
    model names, the soft label y = P(model_a wins) and the weight."""

    prompts: list[str]
    prompt_idx: np.ndarray
    model_a: np.ndarray
    model_b: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    report: dict[str, Any]


def training_table(
    battles: Battles, ties: str, pair: tuple[str, str] | None = None
) -> TrainingTable:
    """Select and label the battles a router trains on, and report per source what was used.

    `pair=(strong, weak)` keeps only battles between those two models (direct pair labels).
    """
    if not isinstance(battles, Battles):
        raise TypeError(f"fit expects a routellm_py.data.Battles table, got {type(battles)}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    f = battles.frame
    if pair is not None:
        f = battles.pair(*pair).frame
        if f.empty:
            raise ValueError(
                f"no battles between {pair[0]!r} and {pair[1]!r}; sources hold models "
                f"{battles.models[:20]}... (check the aliases or train on the whole table)"
            )
    y = Battles(f).soft_label()
    is_tie = (f["outcome"] == "tie").to_numpy()
    keep = ~is_tie if ties == "drop" else np.ones(len(f), dtype=bool)
    per_source = (
        pd.DataFrame({"source": f["source"], "tie": is_tie, "used": keep})
        .groupby("source")
        .agg(battles=("tie", "size"), ties=("tie", "sum"), used=("used", "sum"))
    )
    used = f[keep]
    if used.empty:
        raise ValueError(f"no battles left to train on (ties={ties!r} dropped all {len(f)} rows)")
    prompts = sorted(set(used["prompt"]))
    index = {p: i for i, p in enumerate(prompts)}
    report = {
        "ties": ties,
        "pair_only": pair is not None,
        "n_battles": int(len(used)),
        "n_prompts": len(prompts),
        "n_models": len(set(used["model_a"]) | set(used["model_b"])),
        "per_source": {s: {k: int(v) for k, v in row.items()} for s, row in per_source.iterrows()},
    }
    return TrainingTable(
        prompts=prompts,
        prompt_idx=used["prompt"].map(index).to_numpy(dtype=np.int64),
        model_a=used["model_a"].to_numpy(dtype=object),
        model_b=used["model_b"].to_numpy(dtype=object),
        y=y[keep],
        weight=used["weight"].to_numpy(dtype=np.float64),
        report=report,
    )


def validation_mask(prompts: list[str], fraction: float, seed: int) -> np.ndarray:
    """True for the prompts held out for validation: a seeded hash of the text below
    `fraction`, so the split does not depend on order and never splits a prompt's battles."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {fraction}")
    return np.array([text_uniform(p, seed) for p in prompts]) < fraction


def print_report(name: str, report: dict[str, Any]) -> None:
    """Log what training used, per source (battles, ties, battles used)."""
    rows = pd.DataFrame(report["per_source"]).T
    print(
        f"{name}: trained on {report['n_battles']} battles, {report['n_prompts']} prompts, "
        f"{report['n_models']} models (ties={report['ties']}, pair_only={report['pair_only']})"
        f"\n{rows.to_string()}",
        file=sys.stderr,
    )
