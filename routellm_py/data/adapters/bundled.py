"""Adapters for the preference data bundled in the data directory (see data/README.md).

- arena-bench-v1: GPT-4 grades (1-10) of 14 models on 300 Arena prompts (arena-hard-auto,
  Apache-2.0); every pair of graded models on a prompt is one judged battle.
- alpaca-eval: 108,601 pairwise GPT-4(-turbo) judgments (AlpacaEval, CC BY-NC 4.0: research
  and evaluation use only).
- routerbench: per-prompt 0/1 correctness of 11 models on ARC, MBPP and Winogrande
  (RouterBench via RouterDC); every pair is a battle, correct beats wrong, equal is a tie.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import (
    Report,
    check_rows,
    fail,
    finish,
    join_turns,
    note,
    outcome_from_p,
    pairwise_from_scores,
    read_jsonl,
    require_columns,
)
from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import Battles
from routellm_py.data.paths import DataDirError, require_file, resolve_data_dir

ARENA_BENCH_DIR = "preferences/arena_bench_v1"
ALPACA_DIR = "preferences/alpaca_eval"
ROUTERBENCH_DIR = "gold/routerbench"
ROUTERBENCH_META = ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")


def arena_bench_questions(data_dir: str | Path | None = None) -> dict[str, str]:
    """question_id -> prompt of the 300 arena-bench-v1 questions."""
    path = require_file(
        resolve_data_dir(data_dir) / ARENA_BENCH_DIR / "questions.jsonl", "arena-bench-v1"
    )
    return _id_to_prompt(read_jsonl(path, ("question_id", "prompt")), "question_id", path)


def alpaca_eval_prompts(data_dir: str | Path | None = None) -> dict[str, str]:
    """prompt_id (as str) -> instruction of the 805 AlpacaEval prompts."""
    path = require_file(resolve_data_dir(data_dir) / ALPACA_DIR / "prompts.jsonl", "alpaca-eval")
    return _id_to_prompt(read_jsonl(path, ("prompt_id", "prompt")), "prompt_id", path)


def _id_to_prompt(records: list[dict], id_key: str, path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, r in enumerate(records, 1):
        key, prompt = str(r[id_key]), r["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise fail(path, i, f"prompt of {id_key} {key!r} is empty or not a string")
        if key in out:
            raise fail(path, i, f"duplicate {id_key} {key!r}")
        out[key] = prompt
    return out


def load_arena_bench(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> Battles:
    """arena-bench-v1 judge grades -> battles (hard outcomes, p_a_wins NaN).

    Empty grades are left out (that model has no battles on that prompt) and reported.
    """
    questions = arena_bench_questions(data_dir)
    path = require_file(
        resolve_data_dir(data_dir) / ARENA_BENCH_DIR / "judge_scores.csv", "arena-bench-v1"
    )
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw.columns, ["question_id", "model", "score"], path)
    score = pd.to_numeric(raw["score"].str.strip().replace("", np.nan), errors="coerce")
    bad = (raw["score"].str.strip() != "") & ~score.between(1, 10)
    unknown = ~raw["question_id"].isin(questions)
    dup = raw.duplicated(["question_id", "model"])
    checks = [
        (bad, "score must be a number in [1, 10] or empty"),
        (unknown, "question_id not in questions.jsonl"),
        (dup, "second score for the same (question_id, model)"),
    ]
    check_rows(path, raw, checks)
    long = pd.DataFrame(
        {
            "key": raw["question_id"],
            "prompt": raw["question_id"].map(questions),
            "model": raw["model"],
            "score": score,
        }
    )
    return pairwise_from_scores(long, "arena-bench-v1", report, "judge scores")


def load_alpaca_eval(
    data_dir: str | Path | None = None,
    *,
    annotators: Sequence[str] | None = None,
    report: Report | None = None,
) -> Battles:
    """AlpacaEval judgments -> soft-labelled battles. Data licence: CC BY-NC 4.0.

    `preference` in [1, 2] reads as P(model_2 wins) = preference - 1, so with
    model_a = model_1 (the baseline), p_a_wins = 2 - preference; 1.5 is a tie. Values outside
    [1, 2] (or empty) are not judgments: left out and reported, never read as wins. Rows
    comparing a model with itself are left out and reported. `annotators` keeps only those
    annotator configurations.
    """
    prompts = alpaca_eval_prompts(data_dir)
    path = require_file(
        resolve_data_dir(data_dir) / ALPACA_DIR / "judgments.csv.gz", "alpaca-eval judgments"
    )
    j = pd.read_csv(path, dtype={"prompt_id": str, "preference": str}, keep_default_na=False)
    require_columns(j.columns, ["prompt_id", "model_1", "model_2", "preference", "annotator"], path)
    text = j["preference"].str.strip()
    pref = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    checks = [
        ((text != "") & pref.isna(), "preference is not a number"),
        (~j["prompt_id"].isin(prompts), "prompt_id not in prompts.jsonl"),
    ]
    check_rows(path, j, checks)
    keep = pref.between(1.0, 2.0)
    reason = "rows with preference empty or outside [1, 2] left out (not judgments)"
    note(report, "alpaca-eval", reason, (~keep).sum())
    if annotators is not None:
        unknown = sorted(set(annotators) - set(j["annotator"]))
        if unknown:
            raise ValueError(
                f"{path}: unknown annotators {unknown}; present: {sorted(set(j['annotator']))}"
            )
        chosen = j["annotator"].isin(list(annotators))
        reason = "rows of unselected annotators left out"
        note(report, "alpaca-eval", reason, (keep & ~chosen).sum())
        keep &= chosen
    j, p = j[keep], 2.0 - pref[keep].to_numpy()
    frame = pd.DataFrame(
        {
            "prompt": j["prompt_id"].map(prompts).to_numpy(),
            "model_a": j["model_1"].to_numpy(),
            "model_b": j["model_2"].to_numpy(),
            "outcome": outcome_from_p(p),
            "p_a_wins": p,
        }
    )
    return finish(frame, "alpaca-eval", report, path)


def routerbench_table(
    data_dir: str | Path | None = None, *, turns: str = "join", report: Report | None = None
) -> pd.DataFrame:
    """One row per RouterBench sample: key, prompt, then 0/1/NaN correctness per model.

    `prompt` is a Python-list string parsed with `ast.literal_eval` (never `eval`); its
    elements are user turns, made into one text by `join_turns` with policy `turns`. Rows
    sharing a sample_id (RouterBench split 7 ARC samples across two rows) are merged: each
    model's correctness comes from the row that has it; conflicting values raise.
    """
    folder = resolve_data_dir(data_dir) / ROUTERBENCH_DIR
    files = sorted(folder.glob("*_train.csv"))
    if not files:
        raise DataDirError(f"routerbench: no *_train.csv files in {folder}; see data/README.md")
    return pd.concat([_routerbench_file(f, turns, report) for f in files], ignore_index=True)


def _routerbench_file(path: Path, turns: str, report: Report | None) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"sample_id": str, "prompt": str})
    require_columns(df.columns, ["sample_id", "prompt"], path)
    models = [c for c in df.columns if c not in ROUTERBENCH_META and "|" not in c]
    if len(models) < 2:
        raise fail(path, None, f"needs at least two model correctness columns, found {models}")
    prompts = [_parse_turns(s, path, i, turns) for i, s in enumerate(df["prompt"], 1)]
    scores = df[models].apply(pd.to_numeric, errors="coerce")
    bad = ~(scores.isin([0.0, 1.0]) | df[models].isna())
    check_rows(path, df, [(bad.any(axis=1), "model correctness must be 0, 1 or empty")])
    scores.columns = [canonical_model(m) for m in models]
    wide = pd.concat([pd.DataFrame({"key": df["sample_id"], "prompt": prompts}), scores], axis=1)
    groups = wide.groupby("key", sort=False)
    if (groups["prompt"].nunique() > 1).any():
        raise fail(path, None, "rows with the same sample_id have different prompts")
    if (groups[list(scores.columns)].nunique() > 1).to_numpy().any():
        raise fail(path, None, "rows with the same sample_id disagree on a model's correctness")
    merged = groups.first().reset_index()
    note(
        report,
        "routerbench",
        "rows merged into a row with the same sample_id",
        len(wide) - len(merged),
    )
    return merged


def _parse_turns(text: str, path: Path, row: int, how: str) -> str:
    try:
        turns = ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise fail(path, row, f"prompt is not a Python list literal ({e}): {text!r:.80}") from e
    if not isinstance(turns, list | tuple) or not all(isinstance(t, str) for t in turns):
        raise fail(path, row, f"prompt must be a list of strings, got {text!r:.80}")
    return join_turns(turns, how)


def load_routerbench(
    data_dir: str | Path | None = None,
    *,
    models: Sequence[str] | None = None,
    turns: str = "join",
    report: Report | None = None,
) -> Battles:
    """RouterBench correctness -> battles between every pair of `models` (default: all 11,
    55 pairs per prompt): correct beats wrong, both correct or both wrong is a tie."""
    table = routerbench_table(data_dir, turns=turns, report=report)
    available = [c for c in table.columns if c not in ("key", "prompt")]
    chosen = available if models is None else [canonical_model(m) for m in models]
    unknown = sorted(set(chosen) - set(available))
    if unknown or len(chosen) < 2:
        raise ValueError(f"routerbench models must be >= 2 of {available}; unknown: {unknown}")
    long = table.melt(["key", "prompt"], chosen, var_name="model", value_name="score")
    return pairwise_from_scores(long, "routerbench", report, "correctness")
