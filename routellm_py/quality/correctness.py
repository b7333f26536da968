"""Exact-match correctness (1.0 / 0.0) read from data, as the quality q of Hybrid LLM.

Sources: "mmlu" and "gsm8k" (RouteLLM's 0-shot correctness of GPT-4-1106 and Mixtral),
"routerbench" (RouterBench gold correctness of 11 models on ARC, MBPP, Winogrande;
missing entries are NaN). One response per model and query, so K = 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from routellm_py.quality.base import QualityScorer, wide_to_long

CORRECTNESS_SOURCES = ("mmlu", "gsm8k", "routerbench")


class Correctness(QualityScorer):
    """q(x, model) = 1 if the model's answer to x was correct, else 0, from `source`."""

    kind = "correct"

    def __init__(self, source: str = "mmlu", data_dir: str | Path | None = None) -> None:
        if source not in CORRECTNESS_SOURCES:
            raise ValueError(
                f"no correctness labels for source {source!r}; valid: {CORRECTNESS_SOURCES}"
            )
        self.source = source
        self.data_dir = data_dir

    def table(self, models: Iterable[str]) -> pd.DataFrame:
        if self.source == "routerbench":
            from routellm_py.data.adapters.bundled import routerbench_table

            frame = routerbench_table(self.data_dir)
        else:
            from routellm_py.data.benchmarks import load_benchmark

            frame = load_benchmark(self.source, self.data_dir).frame
            frame = frame.rename(columns={"prompt_id": "key"})
        return wide_to_long(frame, models, self.source)
