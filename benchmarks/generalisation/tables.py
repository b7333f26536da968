"""Per-prompt score tables of every training source: (source, task, prompt, model, score).

score is in [0, 1]: correctness for gold sources, a judge grade rescaled to [0, 1]
((g - 1) / 9 for 1-10, (g - 1) / 4 for 1-5), and for AlpacaEval P(model beats the
gpt-4-1106-preview baseline) (the baseline itself scores 0.5).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.aliases import canonical_model
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.data.paths import resolve_data_dir

SOURCES = (
    "arena-bench-v1", "alpaca-eval", "vicuna-bench", "routerbench", "mmlu-gold",
    "mmlu-pro", "faithful-cot", "llmrouter",
)  # fmt: skip


def _long(source: str, task, prompt, wide: pd.DataFrame) -> pd.DataFrame:
    wide = wide.apply(pd.to_numeric, errors="coerce")
    wide.columns = [canonical_model(c) for c in wide.columns]
    base = pd.DataFrame({"task": np.asarray(task), "prompt": np.asarray(prompt)})
    out = pd.concat([base, wide.reset_index(drop=True)], axis=1).melt(
        ["task", "prompt"], var_name="model", value_name="score"
    )
    return out.dropna(subset=["score"]).assign(source=source)


def _judge(d: Path, folder: str, source: str, top: float) -> pd.DataFrame:
    q = {
        str(r["question_id"]): r["prompt"]
        for r in map(json.loads, (d / folder / "questions.jsonl").read_text().splitlines())
    }
    s = pd.read_csv(d / folder / "judge_scores.csv", dtype={"question_id": str})
    s = s.dropna(subset=["score"])
    return pd.DataFrame(
        {"source": source, "task": source, "prompt": s["question_id"].map(q),
         "model": s["model"].map(canonical_model), "score": (s["score"] - 1) / (top - 1)}
    )  # fmt: skip


def _alpaca(d: Path) -> pd.DataFrame:
    prompts = {
        str(r["prompt_id"]): r["prompt"]
        for r in map(
            json.loads, (d / "preferences/alpaca_eval/prompts.jsonl").read_text().splitlines()
        )
    }
    j = pd.read_csv(d / "preferences/alpaca_eval/judgments.csv.gz", dtype={"prompt_id": str})
    j = j[(j["model_1"] == "gpt4_1106_preview") & j["preference"].between(1, 2)]
    j = j[j["model_2"] != "gpt4_1106_preview"]
    g = j.assign(p=j["preference"] - 1).groupby(["prompt_id", "model_2"])["p"].mean().reset_index()
    out = pd.DataFrame(
        {
            "prompt": g["prompt_id"].map(prompts),
            "model": g["model_2"].map(canonical_model),
            "score": g["p"],
        }
    )
    base = pd.DataFrame(
        {"prompt": out["prompt"].unique(), "model": "gpt-4-1106-preview", "score": 0.5}
    )
    return pd.concat([out, base]).assign(source="alpaca-eval", task="alpaca-eval")


def load_tables(data_dir: str | None = None) -> pd.DataFrame:
    """All sources' long score tables, one frame."""
    d = resolve_data_dir(data_dir)
    parts = [_judge(d, "preferences/arena_bench_v1", "arena-bench-v1", 10.0), _alpaca(d),
             _judge(d, "preferences/vicuna_bench", "vicuna-bench", 5.0)]  # fmt: skip
    for f in sorted((d / "gold/routerbench").glob("*_train.csv")):
        df = pd.read_csv(f)
        models = [
            c
            for c in df.columns
            if c not in ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")
            and "|" not in c
        ]
        text = df["prompt"].map(lambda s: "\n\n".join(dict.fromkeys(ast.literal_eval(s))))
        parts.append(_long("routerbench", f.stem.removesuffix("_train"), text, df[models]))
    gold = load_benchmark("mmlu", data_dir).split_gold()[1].frame
    parts.append(
        _long(
            "mmlu-gold",
            "mmlu-gold",
            gold["prompt"],
            gold.drop(columns=[c for c in ("prompt_id", "prompt", "category") if c in gold]),
        )
    )
    mp = pd.read_csv(d / "gold/mmlu_pro/mmlu_pro.csv.gz")
    parts.append(
        _long(
            "mmlu-pro",
            "mmlu-pro:" + mp["category"],
            mp["prompt"],
            mp.drop(columns=["question_id", "category", "src", "prompt", "answer"]),
        )
    )
    fc = pd.read_csv(d / "gold/faithful_cot/faithful_cot.csv")
    parts.append(
        _long(
            "faithful-cot",
            "faithful-cot:" + fc["dataset"],
            fc["prompt"],
            fc.drop(columns=["dataset", "id", "prompt"]),
        )
    )
    lr = pd.concat(
        [pd.read_csv(d / "gold/llmrouter/train.csv.gz"), pd.read_csv(d / "gold/llmrouter/test.csv")]
    )
    parts.append(
        _long(
            "llmrouter",
            "llmrouter:" + lr["task"],
            lr["prompt"],
            lr.drop(columns=["task", "prompt"]),
        )
    )
    out = pd.concat(parts, ignore_index=True)
    return out.groupby(["source", "task", "prompt", "model"], as_index=False)["score"].mean()


# Prompts per task kept by `sample` (compute: MiniLM embeds ~5 long prompts/s per core
# here).
PER_TASK = {
    "routerbench": 200, "mmlu-pro": 75, "faithful-cot": 150, "llmrouter": 100,
    "mmlu-gold": 600, "arena-bench-v1": 300, "alpaca-eval": 805, "vicuna-bench": 78,
}  # fmt: skip


def sample(scores: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of at most `PER_TASK[source]` prompts of every task (all models kept)."""
    keys = scores[["source", "task", "prompt"]].drop_duplicates()
    rng = np.random.default_rng(seed)
    keys = keys.assign(u=rng.random(len(keys))).sort_values("u")
    keys = keys[keys.groupby("task").cumcount() < keys["source"].map(PER_TASK)]
    return scores.merge(keys[["source", "task", "prompt"]])
