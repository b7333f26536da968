"""Per-prompt score tables of every training source: (source, task, prompt, model, score).

score is in [0, 1]: correctness for gold sources, a judge grade rescaled to [0, 1]
((g - 1) / 9 for 1-10, (g - 1) / 4 for 1-5), and for AlpacaEval P(model beats the
gpt-4-1106-preview baseline) (the baseline itself scores 0.5).
"""

from __future__ import annotations

import hashlib

import pandas as pd

from routellm_py.data.adapters import load_alpaca_eval
from routellm_py.data.aliases import DEFAULT_STRONG
from routellm_py.data.scores import score_table

# LOSO source -> the library's score tables (llmrouter's test split joins its train split)
SOURCES = {
    "arena-bench-v1": ("arena-bench-v1",), "vicuna-bench": ("vicuna-bench",),
    "routerbench": ("routerbench",), "mmlu-gold": ("mmlu-gold",), "mmlu-pro": ("mmlu-pro",),
    "faithful-cot": ("faithful-cot",), "llmrouter": ("llmrouter", "llmrouter-test"),
}  # fmt: skip


def _alpaca(data_dir: str | None) -> pd.DataFrame:
    """AlpacaEval has no per-model scores: P(model beats the gpt-4-1106-preview baseline),
    averaged over annotators; the baseline itself scores 0.5."""
    f = load_alpaca_eval(data_dir).frame
    f = f[f["model_a"] == DEFAULT_STRONG]
    g = f.assign(p=1.0 - f["p_a_wins"]).groupby(["prompt", "model_b"])["p"].mean().reset_index()
    base = pd.DataFrame({"prompt": g["prompt"].unique(), "model_b": DEFAULT_STRONG, "p": 0.5})
    out = pd.concat([g, base]).rename(columns={"model_b": "model", "p": "score"})
    return out.assign(source="alpaca-eval", task="alpaca-eval")


def load_tables(data_dir: str | None = None) -> pd.DataFrame:
    """All training sources' long score tables (source, task, prompt, model, score)."""
    parts = [_alpaca(data_dir)]
    for source, names in SOURCES.items():
        for name in names:
            t = score_table(name, data_dir)
            long = t.frame.melt(["prompt", "task"], t.models, var_name="model", value_name="score")
            long["score"] = (long["score"] - t.low) / (t.high - t.low)
            parts.append(long.dropna(subset=["score"]).assign(source=source))
    out = pd.concat(parts, ignore_index=True)
    return out.groupby(["source", "task", "prompt", "model"], as_index=False)["score"].mean()


# Prompts per task kept by `sample` (compute: MiniLM is slow on this machine's shared CPU);
# mmlu-gold has 57 subject tasks.
PER_TASK = {
    "routerbench": 200, "mmlu-pro": 75, "faithful-cot": 150, "llmrouter": 100,
    "mmlu-gold": 11, "arena-bench-v1": 300, "alpaca-eval": 805, "vicuna-bench": 78,
}  # fmt: skip


def prompt_hash(prompts, seed: int = 0) -> list[int]:
    """A seeded 64-bit hash of each prompt's text: order-free sampling and fold keys."""
    return [int.from_bytes(hashlib.sha256(f"{seed}\x00{p}".encode()).digest()[:8]) for p in prompts]


def sample(scores: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """At most `PER_TASK[source]` prompts of every task (all models kept): those with the
    smallest seeded hash of their text, so the sample does not depend on row order."""
    keys = scores[["source", "task", "prompt"]].drop_duplicates()
    u = prompt_hash(keys["prompt"], seed)
    keys = keys.assign(u=u).sort_values("u")
    keys = keys[keys.groupby("task").cumcount() < keys["source"].map(PER_TASK)]
    return scores.merge(keys[["source", "task", "prompt"]])
