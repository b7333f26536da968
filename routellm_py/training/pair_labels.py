"""Label schemes: what a strong-vs-weak router learns from data about many models.

A source scores many models per prompt (correctness, judge grades, pairwise preferences).
The router wants P(the strong model gains over the weak one on q). Schemes (`SCHEMES`):

    all         every battle between any two models, as the source gives it (an N-way MF
                learns one vector per model; RouteLLM's default)
    pair        only battles of the exact strong model against the exact weak model
    gap         per (source, prompt) one battle strong vs weak whose soft label is the mean,
                over strong-class x weak-class battles, of P(strong-class side wins). For
                0/1 correctness with every pair present this is
                    y(q) = 1/2 + 1/2 (mean_{m in S} s_m(q) - mean_{m in W} s_m(q))
    difficulty  per prompt one battle strong vs weak with y(q) = 1 - mean_m s_m(q), s_m scaled
                to [0, 1]: needs absolute per-model scores (a source's score table,
                `routellm_py.data.scores`), which battles cannot give; a source without
                one (AlpacaEval, a user's preference file) contributes its class gap
    task-difficulty  the same, centred within each task: y'(q) = 1/2 + y(q) - mean_task(y),
                clipped to [0, 1]. Only what varies inside a task is learned, not which task
                is harder, which does not transfer to a new task (see
                benchmarks/generalisation/README.md for the measurement)

Strong and weak classes are named per source, explicitly, by canonical model name (see
`routellm_py.data.aliases`): GPT-4-class models against Mixtral-class ones where a source
has them; otherwise the source's best models against its 7-9B ones. No fuzzy matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import outcome_from_p
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.data.battles import Battles
from routellm_py.label_schemes import SCHEMES

SCORE_SCHEMES = ("difficulty", "task-difficulty")  # need per-model score tables

_GPT4 = ("gpt-4-1106-preview", "gpt-4-0314")
_MIXTRAL = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-3.5-turbo-1106", "gpt-3.5-turbo")
# source -> (strong class, weak class); names go through `canonical_model`.
CLASSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "arena-bench-v1": (_GPT4, _MIXTRAL),
    "alpaca-eval": (_GPT4, _MIXTRAL),
    "routerbench": (("gpt-4-1106-preview",), ("mistralai/mixtral-8x7b-chat", "gpt-3.5-turbo-1106")),
    "mmlu-gold": ((DEFAULT_STRONG,), (DEFAULT_WEAK,)),
    "mmlu-pro": (
        ("gpt-4o", "gemini-1.5-pro-002"),
        ("Mixtral-8x7B-Instruct-v0.1", "Qwen1.5-72B-Chat"),
    ),
    "faithful-cot": (("gpt-4",), ("gpt-3.5-turbo", "text-davinci-003")),
    "llmrouter": (
        ("llama-3.1-nemotron-51b-instruct", "llama-3.3-nemotron-super-49b-v1"),
        ("mistral-7b-instruct-v0.3", "llama-3.1-8b-instruct", "qwen2.5-7b-instruct"),
    ),
    "vicuna-bench": (("chat_gpt", "gpt-3.5-turbo", "bard"), ("vicuna", "vicuna-13b")),
}  # fmt: skip


def model_classes(
    source: str, strong: str = DEFAULT_STRONG, weak: str = DEFAULT_WEAK
) -> tuple[frozenset[str], frozenset[str]]:
    """(strong class, weak class) of canonical names for `source` (its name before any ':');
    a source not in `CLASSES` uses the router's own pair."""
    s, w = CLASSES.get(source.split(":")[0], ((strong,), (weak,)))
    return frozenset(map(canonical_model, s)), frozenset(map(canonical_model, w))


def relabel(
    battles: Battles, scheme: str, strong: str, weak: str, scores: pd.DataFrame | None = None
) -> Battles:
    """The training battles of `scheme` (see the module doc). `scores` (long: source, task,
    prompt, model, score in [0, 1]; `load_scores`) is used by the difficulty schemes."""
    if not isinstance(battles, Battles):
        raise TypeError(f"fit expects a routellm_py.data.Battles table, got {type(battles)}")
    if scheme not in SCHEMES:
        raise ValueError(f"label scheme must be one of {SCHEMES}, got {scheme!r}")
    if scheme == "all":
        return battles
    if scheme == "pair":
        pair = battles.pair(strong, weak)
        if len(pair) == 0:
            raise ValueError(
                f"no battles between {strong!r} and {weak!r}; models present: "
                f"{battles.models[:20]} (check the aliases, or use labels 'gap' or 'all')"
            )
        return pair
    if scheme == "gap":
        return class_gap_battles(battles, strong, weak)
    if scores is None:
        raise ValueError(f"label scheme {scheme!r} needs per-model scores (a score table)")
    return difficulty_battles(battles, scores, strong, weak, centre=scheme == "task-difficulty")


def scheme_battles(
    battles: Battles, scheme: str, strong: str, weak: str, data_dir: str | Path | None = None
) -> Battles:
    """`relabel`, with the score tables read from `data_dir` where the scheme needs them."""
    scores = load_scores(battles, data_dir) if scheme in SCORE_SCHEMES else None
    return relabel(battles, scheme, strong, weak, scores)


def load_scores(battles: Battles, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Long score table (source, task, prompt, model, score in [0, 1]) of every source in
    `battles` that has a score table (`routellm_py.data.scores`), restricted to its prompts
    in `battles`; scores are rescaled from the table's [low, high] to [0, 1]."""
    from routellm_py.data.scores import SCORE_TABLES, score_table

    parts = []
    for label in sorted(set(battles.frame["source"])):
        name = label.split(":")[0]
        if name not in SCORE_TABLES:
            continue
        t = score_table(name, data_dir)
        f = t.frame[
            t.frame["prompt"].isin(battles.frame.loc[battles.frame.source == label, "prompt"])
        ]
        long = f.melt(["prompt", "task"], t.models, var_name="model", value_name="score")
        long = long.dropna(subset=["score"]).assign(source=label)
        long["score"] = (long["score"] - t.low) / (t.high - t.low)
        parts.append(long)
    cols = ["source", "task", "prompt", "model", "score"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def class_gap_battles(battles: Battles, strong: str, weak: str) -> Battles:
    """One strong-vs-weak battle per (source, prompt): the weighted mean over strong-class x
    weak-class battles of P(strong-class side wins); weight = the mean row weight."""
    f = battles.frame
    side = np.zeros(len(f), dtype=np.int8)  # +1: a strong-class / b weak-class; -1 reversed
    for source, idx in f.groupby("source").groups.items():
        s_cls, w_cls = model_classes(str(source), strong, weak)
        a, b = f.loc[idx, "model_a"], f.loc[idx, "model_b"]
        fwd = a.isin(s_cls) & b.isin(w_cls)
        rev = a.isin(w_cls) & b.isin(s_cls)
        side[f.index.get_indexer(idx)] = np.where(fwd, 1, np.where(rev, -1, 0))
    keep = side != 0
    if not keep.any():
        raise ValueError(
            "no battle between a strong-class and a weak-class model in "
            f"{sorted(set(f['source']))}; classes: `routellm_py.training.pair_labels.CLASSES`"
        )
    y = Battles(f[keep]).soft_label()
    y = np.where(side[keep] == 1, y, 1.0 - y)
    w = f.loc[keep, "weight"].to_numpy()
    g = pd.DataFrame(
        {"source": f.loc[keep, "source"], "prompt": f.loc[keep, "prompt"], "wy": w * y, "w": w}
    )
    agg = g.groupby(["source", "prompt"], sort=False).agg(
        wy=("wy", "sum"), w=("w", "sum"), n=("w", "size")
    )
    agg = agg.reset_index()
    return _strong_weak(
        agg["prompt"], agg["wy"] / agg["w"], agg["source"], agg["w"] / agg["n"], strong, weak
    )


def difficulty_battles(
    battles: Battles, scores: pd.DataFrame, strong: str, weak: str, centre: bool = False
) -> Battles:
    """One strong-vs-weak battle per (source, prompt) of `battles`: y = 1 - mean score over
    models where `scores` covers the source, else the class gap; with `centre`, y' = 1/2 +
    y - mean over the prompt's task (a source without tasks is one task). Weight: the mean
    row weight of the source's battles (its @WEIGHT)."""
    missing = {"source", "task", "prompt", "model", "score"} - set(scores.columns)
    if missing:
        raise ValueError(f"score table lacks columns {sorted(missing)}")
    f = battles.frame
    scored = set(scores["source"])
    agg = scores.groupby(["source", "task", "prompt"], sort=False)["score"].mean().reset_index()
    agg = agg.assign(y=1.0 - agg["score"])[["source", "task", "prompt", "y"]]
    rest = f[~f["source"].isin(scored)]
    if len(rest):
        gap = class_gap_battles(Battles(rest), strong, weak).frame
        gap_rows = pd.DataFrame(
            {"source": gap["source"], "task": gap["source"], "prompt": gap["prompt"],
             "y": gap["p_a_wins"]}
        )  # fmt: skip
        agg = pd.concat([agg, gap_rows], ignore_index=True)
    if agg.empty:
        raise ValueError("no prompt has a difficulty label (no score table, no class battles)")
    agg = agg.drop_duplicates(["source", "prompt"])
    if centre:
        agg["y"] = 0.5 + agg["y"] - agg.groupby(["source", "task"])["y"].transform("mean")
    weight = agg["source"].map(f.groupby("source")["weight"].mean())
    return _strong_weak(agg["prompt"], agg["y"], agg["source"], weight.to_numpy(), strong, weak)


def _strong_weak(prompt: Iterable, y, source: Iterable, weight, strong: str, weak: str) -> Battles:
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    frame = pd.DataFrame(
        {
            "prompt": list(prompt),
            "model_a": canonical_model(strong),
            "model_b": canonical_model(weak),
            "outcome": outcome_from_p(y),
            "p_a_wins": y,
            "source": list(source),
            "weight": weight,
        }
    )
    return Battles(frame)
