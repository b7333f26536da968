"""Benchmark loaders on the real data: sizes, the README's reference numbers (recomputed
independently from the raw files), the gold split, and the missing-data-dir error."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.benchmarks import load_benchmark, load_contaminated
from routellm_py.data.paths import DataDirError, resolve_data_dir


@pytest.fixture(scope="module")
def mmlu(data_dir):
    return load_benchmark("mmlu", data_dir)


def test_mmlu_size_and_accuracy(mmlu, data_dir):
    assert len(mmlu) == 14042 and mmlu.frame.category.nunique() == 57
    assert mmlu.frame.prompt_id.is_unique
    correct, total = {DEFAULT_WEAK: 0, DEFAULT_STRONG: 0}, 0
    for path in (data_dir / "benchmarks/mmlu/responses").glob("mmlu_*.csv"):
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                total += 1
                for m in correct:
                    correct[m] += r[m] == "True"
    assert total == 14042
    for model, reference in [(DEFAULT_WEAK, 0.6808), (DEFAULT_STRONG, 0.8058)]:
        assert mmlu.scores(model).mean() == pytest.approx(correct[model] / total)
        assert round(mmlu.scores(model).mean(), 4) == reference


def test_gsm8k_size_and_accuracy(data_dir):
    g = load_benchmark("gsm8k", data_dir)
    assert len(g) == 1319
    assert round(g.scores(DEFAULT_WEAK).mean(), 4) == 0.6384
    assert round(g.scores(DEFAULT_STRONG).mean(), 4) == 0.8567


def test_mt_bench_size_and_mean_grades(data_dir):
    mt = load_benchmark("mt-bench", data_dir)
    assert len(mt) == 80 and mt.frame.category.value_counts().eq(10).all()
    path = data_dir / "benchmarks/mt_bench/judgements.jsonl"
    grades = [json.loads(line) for line in path.read_text().splitlines()]
    for model, reference in [(DEFAULT_WEAK, 8.34), (DEFAULT_STRONG, 9.23)]:
        raw = [g["score"] for g in grades if g["model"] in (model, model.split("/")[-1])]
        assert len(raw) == 160  # 80 questions x 2 turns
        assert mt.scores(model).mean() == pytest.approx(np.mean(raw))
        assert round(mt.scores(model).mean(), 2) == reference


def test_gold_split_size_disjointness_determinism(mmlu):
    ev, gold = mmlu.split_gold()
    assert (len(ev), len(gold)) == (14042 - 1500, 1500)
    assert set(ev.frame.prompt_id).isdisjoint(gold.frame.prompt_id)
    assert set(ev.frame.prompt_id) | set(gold.frame.prompt_id) == set(mmlu.frame.prompt_id)
    assert mmlu.split_gold()[1].frame.prompt_id.tolist() == gold.frame.prompt_id.tolist()
    other = mmlu.split_gold(seed=1)[1].frame.prompt_id
    assert set(other) != set(gold.frame.prompt_id)
    with pytest.raises(ValueError, match="n_gold must be in"):
        mmlu.split_gold(n_gold=14042)


def test_benchmark_battles_are_gold_labels(mmlu):
    b = mmlu.battles(DEFAULT_STRONG, DEFAULT_WEAK).frame
    s, w = mmlu.scores(DEFAULT_STRONG), mmlu.scores(DEFAULT_WEAK)
    assert (b.outcome == "a_wins").sum() == ((s == 1) & (w == 0)).sum()
    assert (b.outcome == "b_wins").sum() == ((s == 0) & (w == 1)).sum()
    assert (b.outcome == "tie").sum() == (s == w).sum()


def test_contaminated_prompts_are_benchmark_prompts(data_dir):
    mt = set(load_benchmark("mt-bench", data_dir).prompts)
    contaminated = load_contaminated("mt-bench", data_dir)
    assert len(contaminated) == 8 and contaminated <= mt


def test_missing_data_dir_is_explained(tmp_path, monkeypatch):
    with pytest.raises(DataDirError, match="is missing .*routellm-py data verify"):
        resolve_data_dir(tmp_path)
    with pytest.raises(DataDirError, match="from --data-dir"):
        load_benchmark("mmlu", tmp_path)
    monkeypatch.setenv("ROUTELLM_PY_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataDirError, match=r"from \$ROUTELLM_PY_DATA"):
        load_benchmark("gsm8k")
    with pytest.raises(KeyError, match="valid: mt-bench, mmlu, gsm8k"):
        load_benchmark("hellaswag", tmp_path)
