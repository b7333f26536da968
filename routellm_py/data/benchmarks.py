"""Loaders for the RouteLLM evaluation benchmarks: MMLU, GSM8K, MT-Bench.

Each returns a `Benchmark`: one row per prompt with `prompt_id`, `prompt`,
`category` and one score column per model (1.0/0.0 correctness, or the GPT-4
judge grade 1-10 averaged over MT-Bench's two turns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import Battles, first_flagged
from routellm_py.data.paths import DataDirError, require_file, resolve_data_dir

BENCHMARKS = ("mt-bench", "mmlu", "gsm8k")
GOLD_SIZE = {"mmlu": 1500}  # prompts held apart as in-domain gold training data (D_gold)


@dataclass(frozen=True)
class Benchmark:
    """Per-prompt, per-model scores of one benchmark. `frame` columns:
    prompt_id, prompt, category, then one float column per canonical model name."""

    name: str
    frame: pd.DataFrame
    score_kind: str  # "correct" (0/1) or "judge" (1-10 grade)

    @property
    def models(self) -> list[str]:
        return [c for c in self.frame.columns if c not in ("prompt_id", "prompt", "category")]

    @property
    def prompts(self) -> list[str]:
        return self.frame["prompt"].tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def scores(self, model: str) -> np.ndarray:
        """Score of `model` on every prompt; unknown models list the known ones."""
        m = canonical_model(model)
        if m not in self.frame.columns:
            raise KeyError(f"{self.name} has no scores for {model!r}; models: {self.models}")
        return self.frame[m].to_numpy(dtype=np.float64)

    def subset(self, mask: np.ndarray, suffix: str = "") -> Benchmark:
        frame = self.frame[np.asarray(mask, dtype=bool)].reset_index(drop=True)
        return Benchmark(self.name + suffix, frame, self.score_kind)

    def split_gold(self, n_gold: int | None = None, seed: int = 0) -> tuple[Benchmark, Benchmark]:
        """(eval, gold): a fixed, seeded set of `n_gold` prompts held apart (paper's D_gold)."""
        n_gold = GOLD_SIZE.get(self.name, 0) if n_gold is None else n_gold
        if not 0 <= n_gold < len(self):
            raise ValueError(f"n_gold must be in [0, {len(self)}), got {n_gold}")
        gold = np.zeros(len(self), dtype=bool)
        gold[np.random.default_rng(seed).permutation(len(self))[:n_gold]] = True
        return self.subset(~gold), self.subset(gold, "-gold")

    def battles(self, strong: str, weak: str, source: str | None = None) -> Battles:
        """strong-vs-weak battles: the higher score wins, equal scores tie (gold labels)."""
        s, w = self.scores(strong), self.scores(weak)
        outcome = np.where(s > w, "a_wins", np.where(s < w, "b_wins", "tie"))
        return Battles(
            pd.DataFrame(
                {
                    "prompt": self.frame["prompt"],
                    "model_a": canonical_model(strong),
                    "model_b": canonical_model(weak),
                    "outcome": outcome,
                    "p_a_wins": np.nan,
                    "source": source or f"{self.name}-gold",
                    "weight": 1.0,
                }
            )
        )


def load_benchmark(name: str, data_dir: str | Path | None = None) -> Benchmark:
    """Load "mmlu", "gsm8k" or "mt-bench" from the data directory."""
    loaders = {"mmlu": load_mmlu, "gsm8k": load_gsm8k, "mt-bench": load_mt_bench}
    if name not in loaders:
        raise KeyError(f"unknown benchmark {name!r}; valid: {', '.join(BENCHMARKS)}")
    return loaders[name](resolve_data_dir(data_dir))


def _correctness(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Model columns of a RouteLLM response CSV as floats 1.0/0.0, checked."""
    models = [c for c in df.columns if c != "prompt" and not c.endswith("_response")]
    out = pd.DataFrame(index=df.index)
    for m in models:
        col = df[m].astype(str).str.strip().str.lower()
        if (row := first_flagged(~col.isin(["true", "false", "1", "0", "1.0", "0.0"]))) is not None:
            raise DataDirError(f"{path}: column {m!r} row {row} is {df[m].iloc[row]!r}, not bool")
        out[canonical_model(m)] = col.isin(["true", "1", "1.0"]).astype(np.float64)
    return out


def load_mmlu(data_dir: Path) -> Benchmark:
    """The 57 MMLU subject CSVs (14,042 prompts), 0-shot correctness of each model."""
    files = sorted((data_dir / "benchmarks/mmlu/responses").glob("mmlu_*.csv"))
    if len(files) != 57:
        raise DataDirError(f"expected 57 mmlu_*.csv files, found {len(files)}")
    parts = []
    for f in files:
        df = pd.read_csv(f)
        subject = f.stem.removeprefix("mmlu_")
        scores = _correctness(df, f)
        meta = pd.DataFrame(
            {
                "prompt_id": [f"{subject}/{i}" for i in range(len(df))],
                "prompt": df["prompt"].astype(str),
                "category": subject,
            }
        )
        parts.append(pd.concat([meta, scores], axis=1))
    return Benchmark("mmlu", pd.concat(parts, ignore_index=True), "correct")


def load_gsm8k(data_dir: Path) -> Benchmark:
    """GSM8K test set (1,319 prompts), correctness of each model."""
    path = require_file(data_dir / "benchmarks/gsm8k/gsm8k_responses.csv", "GSM8K")
    df = pd.read_csv(path)
    meta = pd.DataFrame(
        {"prompt_id": [str(i) for i in range(len(df))], "prompt": df["prompt"], "category": "math"}
    )
    return Benchmark("gsm8k", pd.concat([meta, _correctness(df, path)], axis=1), "correct")


def load_mt_bench(data_dir: Path) -> Benchmark:
    """MT-Bench: route on the first turn, score = mean GPT-4 grade over both turns (RouteLLM)."""
    from routellm_py.data.adapters.common import read_jsonl  # the adapters load on use

    root = data_dir / "benchmarks/mt_bench"
    questions = read_jsonl(
        require_file(root / "question.jsonl", "MT-Bench questions"),
        ("question_id", "category", "turns"),
    )
    grades = read_jsonl(
        require_file(root / "judgements.jsonl", "MT-Bench judgements"),
        ("question_id", "model", "score", "turn"),
    )
    g = pd.DataFrame(grades)
    g["question_id"] = g["question_id"].astype(str)
    g["model"] = g["model"].map(canonical_model)
    g["score"] = pd.to_numeric(g["score"])
    if (g["score"] < 0).any():
        raise DataDirError(f"{root / 'judgements.jsonl'} holds failed grades (score < 0)")
    table = g.pivot_table(index="question_id", columns="model", values="score", aggfunc="mean")
    q = pd.DataFrame(
        {
            "prompt_id": [str(r["question_id"]) for r in questions],
            "prompt": [r["turns"][0] for r in questions],
            "category": [r["category"] for r in questions],
        }
    )
    frame = q.merge(table, left_on="prompt_id", right_index=True, how="left")
    models = list(table.columns)
    if frame[models].isna().any().any():
        raise DataDirError(f"{root}: some MT-Bench questions lack grades for {models}")
    frame.columns.name = None
    return Benchmark("mt-bench", frame, "judge")


def load_contaminated(name: str, data_dir: str | Path | None = None) -> set[str]:
    """Eval prompts RouteLLM found near-duplicated in Arena training data (cosine >= 0.95)."""
    from routellm_py.data.adapters.common import read_jsonl  # the adapters load on use

    folder = {"mmlu": "mmlu", "gsm8k": "gsm8k", "mt-bench": "mt_bench"}[name]
    path = require_file(
        resolve_data_dir(data_dir) / f"benchmarks/{folder}/contaminated_prompts.jsonl",
        f"{name} contamination list",
    )
    return {r["eval_prompt"] for r in read_jsonl(path, ("eval_prompt",))}
