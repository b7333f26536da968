"""Gold (correctness) sources as `ScoreTable`s: many models' scores per prompt.

- mmlu-pro: 5,222 MMLU-Pro questions not taken from MMLU, 5-shot CoT correctness (0/1) of
  31 models (TIGER-AI-Lab/MMLU-Pro, Apache-2.0). task = `category` (subject); key =
  `question_id`. Empty = the model's output file has no row for the question.
- faithful-cot: 3,947 math word problems (SVAMP, ASDiv, MultiArith, AQuA), COT correctness
  (0/1) of six OpenAI models (veronica320/Faithful-COT, MIT). task = `dataset`; key =
  `dataset/id`. Model names are undated as in the source: `gpt-4` is not `gpt-4-0314`.
- llmrouter / llmrouter-test: LLMRouter's RouterDC data, 5,385 + 350 prompts from 13 tasks
  scored for 9 open models (ulab-uiuc/LLMRouter, MIT); 0/1 for most tasks, F1 or concept
  coverage in [0, 1] for natural_qa, trivia_qa, commongen. task = `task`; key = `split/row`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from routellm_py.data.adapters.common import Report, is_text, note
from routellm_py.data.adapters.scores import ScoreTable, read_scores
from routellm_py.data.paths import require_file, resolve_data_dir

MMLU_PRO = "gold/mmlu_pro/mmlu_pro.csv.gz"
FAITHFUL_COT = "gold/faithful_cot/faithful_cot.csv"
LLMROUTER = {"train": "gold/llmrouter/train.csv.gz", "test": "gold/llmrouter/test.csv"}


def mmlu_pro_table(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> ScoreTable:
    """MMLU-Pro correctness; the `src` and `answer` columns are not kept."""
    path = _file(data_dir, MMLU_PRO, "mmlu-pro")
    frame, models = read_scores(path, ["question_id", "category", "src", "prompt", "answer"])
    return _table("mmlu-pro", frame, frame["question_id"], frame["category"], models, report)


def faithful_cot_table(
    data_dir: str | Path | None = None, *, report: Report | None = None
) -> ScoreTable:
    """Faithful-CoT COT correctness of six OpenAI models."""
    path = _file(data_dir, FAITHFUL_COT, "faithful-cot")
    frame, models = read_scores(path, ["dataset", "id", "prompt"])
    key = frame["dataset"] + "/" + frame["id"]
    return _table("faithful-cot", frame, key, frame["dataset"], models, report)


def llmrouter_table(
    data_dir: str | Path | None = None, *, split: str = "train", report: Report | None = None
) -> ScoreTable:
    """LLMRouter scores of 9 open models; `split` "train" (5,385 rows) or "test" (350)."""
    if split not in LLMROUTER:
        raise ValueError(f"llmrouter split must be one of {list(LLMROUTER)}, got {split!r}")
    name = "llmrouter" if split == "train" else "llmrouter-test"
    path = _file(data_dir, LLMROUTER[split], name)
    frame, models = read_scores(path, ["task", "prompt"], binary=False)
    key = pd.Series([f"{split}/{i}" for i in range(1, len(frame) + 1)], index=frame.index)
    return _table(name, frame, key, frame["task"], models, report, what="scores")


def _file(data_dir: str | Path | None, rel: str, what: str) -> Path:
    return require_file(resolve_data_dir(data_dir) / rel, what)


def _table(
    name: str,
    frame: pd.DataFrame,
    key: pd.Series,
    task: pd.Series,
    models: Sequence[str],
    report: Report | None,
    what: str = "correctness",
) -> ScoreTable:
    """Rows without prompt text are left out and reported; the rest become a ScoreTable.
    Rows repeating an earlier row's prompt under another key are kept and reported (they
    leak across tasks in leave-one-task-out validation: Faithful-CoT has 59 questions in
    both ASDiv and MultiArith)."""
    meta = pd.DataFrame({"key": key, "prompt": frame["prompt"], "source": name, "task": task})
    table = pd.concat([meta, frame[list(models)]], axis=1)
    empty = ~table["prompt"].map(is_text)
    note(report, name, "rows without prompt text left out", empty.sum())
    repeats = table["prompt"][~empty].duplicated().sum()
    note(report, name, "rows repeating an earlier row's prompt text (kept)", repeats)
    return ScoreTable(name, table[~empty], what=what)
