"""Adapters for the preference data bundled in the data directory (see data/README.md).

- arena-bench-v1: GPT-4 grades (1-10) of 14 models on 300 Arena prompts (arena-hard-auto,
  Apache-2.0); every pair of graded models on a prompt is one judged battle.
- alpaca-eval: 108,601 pairwise GPT-4(-turbo) judgments (AlpacaEval, CC BY-NC 4.0: research
  and evaluation use only).
- routerbench: per-prompt 0/1 correctness of 11 models on ARC, MBPP and Winogrande
  (RouterBench via RouterDC); every pair is a battle, correct beats wrong, equal is a tie.
- vicuna-bench: GPT-4 rubric grades (1-5, Prometheus absolute grading) of 4 models on 78
  Vicuna-bench prompts (prometheus-eval, Apache-2.0); every graded pair is a battle.
- vicuna-pairwise: 312 GPT-4 pairwise reviews (each grades both answers 1-10) of four
  models against vicuna-13b on the same prompts (lm-sys/vicuna-blog-eval, Apache-2.0).
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
    read_jsonl,
    require_columns,
)
from routellm_py.data.adapters.scores import ScoreTable, score_column
from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import Battles
from routellm_py.data.paths import DataDirError, require_file, resolve_data_dir

ARENA_BENCH_DIR = "preferences/arena_bench_v1"
ALPACA_DIR = "preferences/alpaca_eval"
ROUTERBENCH_DIR = "gold/routerbench"
VICUNA_DIR = "preferences/vicuna_bench"
ROUTERBENCH_META = ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")


def arena_bench_questions(data_dir: str | Path | None = None) -> dict[str, str]:
    """question_id -> prompt of the 300 arena-bench-v1 questions."""
    return _questions(data_dir, ARENA_BENCH_DIR, "arena-bench-v1")


def vicuna_bench_questions(data_dir: str | Path | None = None) -> dict[str, str]:
    """question_id (as str) -> prompt of the 78 Vicuna-bench questions."""
    return _questions(data_dir, VICUNA_DIR, "vicuna-bench")


def _questions(data_dir: str | Path | None, folder: str, what: str) -> dict[str, str]:
    path = require_file(resolve_data_dir(data_dir) / folder / "questions.jsonl", what)
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


def arena_bench_table(data_dir: str | Path | None = None) -> ScoreTable:
    """arena-bench-v1 GPT-4 grades (1-10) as a ScoreTable (task "arena-bench-v1": no split)."""
    return _judge_table(data_dir, ARENA_BENCH_DIR, "arena-bench-v1", 10.0)


def vicuna_bench_table(data_dir: str | Path | None = None) -> ScoreTable:
    """Vicuna-bench GPT-4 rubric grades (mean of three, 1-5) as a ScoreTable. Model names
    are the source's (`chat_gpt`, `vicuna`, `wizard`, `llama-2-chat`; versions not stated)."""
    return _judge_table(data_dir, VICUNA_DIR, "vicuna-bench", 5.0)


def _judge_table(data_dir: str | Path | None, folder: str, name: str, top: float) -> ScoreTable:
    """`judge_scores.csv` (question_id, model, score in [1, top] or empty) -> one row per
    question; a (question, model) cell absent or empty is NaN (no battles for that model)."""
    questions = _questions(data_dir, folder, name)
    path = require_file(resolve_data_dir(data_dir) / folder / "judge_scores.csv", name)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw.columns, ["question_id", "model", "score"], path)
    score = score_column(path, raw["score"], "score", 1.0, top)
    checks = [
        (~raw["question_id"].isin(questions), "question_id not in questions.jsonl"),
        (
            raw.duplicated(["question_id", "model"]),
            "second score for one (question_id, model)",
        ),
    ]
    check_rows(path, raw, checks)
    wide = raw.assign(score=score).pivot(index="question_id", columns="model", values="score")
    wide.columns.name = None
    meta = pd.DataFrame(
        {"key": wide.index, "prompt": wide.index.map(questions), "source": name, "task": name}
    )
    frame = pd.concat([meta, wide.reset_index(drop=True)], axis=1)
    return ScoreTable(name, frame, 1.0, top, "judge scores")


def load_arena_bench(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> Battles:
    """arena-bench-v1 judge grades -> battles (hard outcomes, p_a_wins NaN).

    Empty grades are left out (that model has no battles on that prompt) and reported.
    """
    return arena_bench_table(data_dir).to_battles(report=report)


def load_vicuna_bench(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> Battles:
    """Vicuna-bench rubric grades -> battles between every two graded models (6 per prompt)."""
    return vicuna_bench_table(data_dir).to_battles(report=report)


def load_vicuna_pairwise(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> Battles:
    """Vicuna blog GPT-4 pairwise reviews -> battles model_1 (model_a) vs model_2: the higher
    of the review's two grades wins, equal grades tie. Grades lie in [0, 10]: the scale is 1-10,
    but one review (question 74, llama-13b) gives 0."""
    questions = vicuna_bench_questions(data_dir)
    path = require_file(resolve_data_dir(data_dir) / VICUNA_DIR / "pairwise.csv", "vicuna-pairwise")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw.columns, ["prompt_id", "model_1", "model_2", "score_1", "score_2"], path)
    s1, s2 = (score_column(path, raw[c], c, 0.0, 10.0) for c in ("score_1", "score_2"))
    missing = s1.isna() | s2.isna()
    check_rows(path, raw, [(~raw["prompt_id"].isin(questions), "prompt_id not in questions.jsonl")])
    note(report, "vicuna-pairwise", "reviews without both grades left out", missing.sum())
    frame = pd.DataFrame(
        {
            "prompt": raw["prompt_id"].map(questions),
            "model_a": raw["model_1"],
            "model_b": raw["model_2"],
            "outcome": np.where(s1 > s2, "a_wins", np.where(s1 < s2, "b_wins", "tie")),
            "p_a_wins": np.nan,
        }
    )[~missing.to_numpy()]
    return finish(frame, "vicuna-pairwise", report, path)


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


def routerbench_scores(
    data_dir: str | Path | None = None, *, turns: str = "join", report: Report | None = None
) -> ScoreTable:
    """One row per RouterBench sample: 0/1/NaN correctness per model; task = `eval_name`.

    `prompt` is a Python-list string parsed with `ast.literal_eval` (never `eval`); its
    elements are user turns, made into one text by `join_turns` with policy `turns`. Rows
    sharing a sample_id (RouterBench split 7 ARC samples across two rows) are merged: each
    model's correctness comes from the row that has it; conflicting values raise.
    """
    folder = resolve_data_dir(data_dir) / ROUTERBENCH_DIR
    files = sorted(folder.glob("*_train.csv"))
    if not files:
        raise DataDirError(f"routerbench: no *_train.csv files in {folder}; see data/README.md")
    parts = [_routerbench_file(f, turns, report) for f in files]
    return ScoreTable("routerbench", pd.concat(parts, ignore_index=True))


def routerbench_table(
    data_dir: str | Path | None = None, *, turns: str = "join", report: Report | None = None
) -> pd.DataFrame:
    """`routerbench_scores` as a frame of key, prompt, then one column per model."""
    frame = routerbench_scores(data_dir, turns=turns, report=report).frame
    return frame.drop(columns=["source", "task"])


def _routerbench_file(path: Path, turns: str, report: Report | None) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df.columns, ["sample_id", "prompt", "eval_name"], path)
    models = [c for c in df.columns if c not in ROUTERBENCH_META and "|" not in c]
    if len(models) < 2:
        raise fail(path, None, f"needs at least two model correctness columns, found {models}")
    prompts = [_parse_turns(s, path, i, turns) for i, s in enumerate(df["prompt"], 1)]
    scores = pd.DataFrame(
        {canonical_model(m): score_column(path, df[m], m, 0, 1, binary=True) for m in models}
    )
    meta = {"key": df["sample_id"], "prompt": prompts, "source": "routerbench"}
    wide = pd.concat([pd.DataFrame({**meta, "task": df["eval_name"]}), scores], axis=1)
    groups = wide.groupby("key", sort=False)
    if (groups[["prompt", "task"]].nunique() > 1).to_numpy().any():
        raise fail(path, None, "rows with the same sample_id have different prompts or tasks")
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
    table = routerbench_scores(data_dir, turns=turns, report=report)
    return table.to_battles(models, report)
