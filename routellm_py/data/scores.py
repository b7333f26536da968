"""Per-prompt score tables of every gold and graded source, by name: `score_table(name)`.

Each is a `ScoreTable` (key, prompt, source, task, one float column per canonical model,
NaN = not scored); `to_battles(models)` turns it into the battles its `--data` source loads.
The `task` column is the unit of leave-one-task-out validation:

| name           | scores                       | task column (from the source)       |
|----------------|------------------------------|-------------------------------------|
| mmlu-pro       | 0/1, 31 models               | `category` (9 subjects)             |
| faithful-cot   | 0/1, 6 OpenAI models         | `dataset` (SVAMP, ASDiv, ...)       |
| llmrouter      | [0, 1], 9 open models        | `task` (13 tasks)                   |
| llmrouter-test | [0, 1], 9 open models        | `task`                              |
| routerbench    | 0/1, 11 models               | `eval_name`                         |
| mmlu-gold      | 0/1, the 2 RouteLLM models   | MMLU subject (`category`)           |
| arena-bench-v1 | GPT-4 grade 1-10, 14 models  | "arena-bench-v1" (no split)         |
| vicuna-bench   | GPT-4 rubric 1-5, 4 models   | "vicuna-bench" (no split)           |

Overlaps: 72 llmrouter-test prompts are also in llmrouter (all 50 human_eval); 59
Faithful-CoT questions are in both ASDiv and MultiArith. Hold out by prompt text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from routellm_py.data.adapters.bundled import (
    arena_bench_table,
    routerbench_scores,
    vicuna_bench_table,
)
from routellm_py.data.adapters.common import Report
from routellm_py.data.adapters.gold import faithful_cot_table, llmrouter_table, mmlu_pro_table
from routellm_py.data.adapters.scores import META, ScoreTable
from routellm_py.data.benchmarks import load_benchmark

__all__ = ["META", "SCORE_TABLES", "ScoreTable", "score_table"]


def mmlu_gold_table(data_dir: str | Path | None = None) -> ScoreTable:
    """The held-apart 1,500-prompt MMLU D_gold split (`Benchmark.split_gold()[1]`)."""
    gold = load_benchmark("mmlu", data_dir).split_gold()[1].frame
    meta = pd.DataFrame(
        {"key": gold["prompt_id"], "prompt": gold["prompt"], "source": "mmlu-gold"}
    ).assign(task=gold["category"])
    models = gold.drop(columns=["prompt_id", "prompt", "category"])
    return ScoreTable("mmlu-gold", pd.concat([meta, models], axis=1))


Loader = Callable[[str | Path | None, Report | None], ScoreTable]
SCORE_TABLES: dict[str, Loader] = {
    "mmlu-pro": lambda d, r: mmlu_pro_table(d, report=r),
    "faithful-cot": lambda d, r: faithful_cot_table(d, report=r),
    "llmrouter": lambda d, r: llmrouter_table(d, split="train", report=r),
    "llmrouter-test": lambda d, r: llmrouter_table(d, split="test", report=r),
    "routerbench": lambda d, r: routerbench_scores(d, report=r),
    "mmlu-gold": lambda d, r: mmlu_gold_table(d),
    "arena-bench-v1": lambda d, r: arena_bench_table(d),
    "vicuna-bench": lambda d, r: vicuna_bench_table(d),
}


def score_table(
    name: str, data_dir: str | Path | None = None, *, report: Report | None = None
) -> ScoreTable:
    """The per-prompt score table of source `name` (see the table above); rows an adapter
    leaves out are logged and counted in `report`."""
    if name not in SCORE_TABLES:
        raise KeyError(f"no score table {name!r}; valid: {', '.join(SCORE_TABLES)}")
    return SCORE_TABLES[name](data_dir, report)
