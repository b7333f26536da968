"""LLM-judge quality: GPT-4 grades (1-10) read from data (Hybrid LLM's q, MT-Bench style).

Sources: "arena-bench-v1" (14 models x 300 Arena prompts, arena-hard-auto grades; empty
grades are missing) and "mt-bench" (80 questions, grade averaged over the two turns).
One graded response per model and query, so K = 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import first_flagged
from routellm_py.quality.base import QualityScorer, wide_to_long

JUDGE_SOURCES = ("arena-bench-v1", "mt-bench")


class JudgeScores(QualityScorer):
    """q(x, model) = the GPT-4 judge grade of the model's answer, from `source`."""

    kind = "judge"

    def __init__(self, source: str = "arena-bench-v1", data_dir: str | Path | None = None) -> None:
        if source not in JUDGE_SOURCES:
            raise ValueError(f"no judge scores for source {source!r}; valid: {JUDGE_SOURCES}")
        self.source = source
        self.data_dir = data_dir

    def table(self, models: Iterable[str]) -> pd.DataFrame:
        if self.source == "mt-bench":
            from routellm_py.data.benchmarks import load_benchmark

            frame = load_benchmark("mt-bench", self.data_dir).frame.rename(
                columns={"prompt_id": "key"}
            )
            return wide_to_long(frame, models, self.source)
        return _arena_bench_long(models, self.data_dir)


def _arena_bench_long(models: Iterable[str], data_dir: str | Path | None) -> pd.DataFrame:
    from routellm_py.data.adapters.bundled import ARENA_BENCH_DIR, arena_bench_questions
    from routellm_py.data.paths import require_file, resolve_data_dir

    questions = arena_bench_questions(data_dir)
    path = require_file(
        resolve_data_dir(data_dir) / ARENA_BENCH_DIR / "judge_scores.csv", "arena-bench-v1"
    )
    raw = pd.read_csv(path, dtype={"question_id": str, "model": str})
    raw["model"] = raw["model"].map(canonical_model)
    score = pd.to_numeric(raw["score"], errors="coerce")
    if (i := first_flagged(raw["score"].notna() & ~score.between(1, 10))) is not None:
        raise ValueError(f"{path} row {i + 2}: score must be in [1, 10] or empty")
    if (i := first_flagged(~raw["question_id"].isin(questions))) is not None:
        raise ValueError(f"{path} row {i + 2}: question_id not in questions.jsonl")
    wanted = [canonical_model(m) for m in models]
    absent = sorted(set(wanted) - set(raw["model"]))
    if absent:
        raise KeyError(f"arena-bench-v1 has no judge scores for {absent}")
    rows = raw[raw["model"].isin(wanted)]
    return pd.DataFrame(
        {
            "key": rows["question_id"],
            "prompt": rows["question_id"].map(questions),
            "model": rows["model"],
            "sample": 0,
            "score": score[rows.index],
        }
    )
