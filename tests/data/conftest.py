"""Fixtures of the data tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_dir(tmp_path):
    """A data directory holding only the benchmark marker files, to add bad files to."""
    (tmp_path / "benchmarks/mmlu/responses").mkdir(parents=True)
    (tmp_path / "benchmarks/gsm8k").mkdir(parents=True)
    (tmp_path / "benchmarks/mt_bench").mkdir(parents=True)
    for f in ("gsm8k/gsm8k_responses.csv", "mt_bench/question.jsonl", "mt_bench/judgements.jsonl"):
        (tmp_path / "benchmarks" / f).write_text("")
    return tmp_path
