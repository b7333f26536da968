"""Quality scorers read from data (judge grades, correctness) and the long-table contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routellm_py.quality import (
    Correctness,
    JudgeScores,
    QualityScorer,
    get_scorer,
    quality_source_name,
)

SMALL, LARGE = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"


def test_mt_bench_judge_scores_match_the_reference_means(data_dir) -> None:
    s = JudgeScores("mt-bench", data_dir).samples(SMALL, LARGE)
    assert len(s) == 80 and s.small.shape == (80, 1) and s.n_missing == 0
    assert round(s.small.mean(), 2) == 8.34 and round(s.large.mean(), 2) == 9.23


@pytest.mark.parametrize(
    ("source", "n", "small_acc", "large_acc"),
    [("gsm8k", 1319, 0.6384, 0.8567), ("mmlu", 14042, 0.6808, 0.8058)],
)
def test_correctness_matches_the_reference_accuracies(
    data_dir, source, n, small_acc, large_acc
) -> None:
    s = Correctness(source, data_dir).samples(SMALL, LARGE)
    assert len(s) == n
    assert round(s.small.mean(), 4) == small_acc and round(s.large.mean(), 4) == large_acc
    np.testing.assert_array_equal(np.unique(s.small), [0.0, 1.0])


def test_arena_bench_leaves_out_ungraded_prompts_and_counts_them(data_dir) -> None:
    raw = pd.read_csv(data_dir / "preferences/arena_bench_v1/judge_scores.csv")
    wide = raw.pivot(index="question_id", columns="model", values="score")[[SMALL, LARGE]]
    s = JudgeScores("arena-bench-v1", data_dir).samples(SMALL, LARGE)
    assert len(s) == wide.notna().all(axis=1).sum() == 293 and s.n_missing == 7
    i = s.keys.index(wide.dropna().index[0])
    assert (s.small[i, 0], s.large[i, 0]) == tuple(wide.dropna().iloc[0])


def test_routerbench_correctness_of_the_default_pair(data_dir) -> None:
    s = Correctness("routerbench", data_dir).samples(SMALL, LARGE)
    assert len(s) + s.n_missing == 2218 and s.n_missing == 1


def test_source_names_and_scorer_choice() -> None:
    assert quality_source_name("mmlu-gold") == "mmlu"
    assert quality_source_name("mt-bench-gold-gold") == "mt-bench"
    assert quality_source_name("jsonl:/x/a-gold") == "jsonl:/x/a-gold"
    assert isinstance(get_scorer("correct", "mmlu-gold"), Correctness)
    with pytest.raises(ValueError, match="no judge scores for source 'routerbench'"):
        get_scorer("judge", "routerbench")
    with pytest.raises(ValueError, match="quality must be one of"):
        get_scorer("bleu", "mmlu")


class TableScorer(QualityScorer):
    kind, source = "test", "toy"

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def table(self, models) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["key", "prompt", "model", "sample", "score"])


def test_k_samples_per_model_become_matrices() -> None:
    rows = [("q1", "p1", "s", k, 1.0 + k) for k in range(3)]
    rows += [("q1", "p1", "l", k, 5.0 + k) for k in range(2)]
    rows += [("q2", "p2", "s", k, np.nan if k == 0 else 2.0) for k in range(3)]
    rows += [("q2", "p2", "l", k, 1.0) for k in range(2)]
    s = TableScorer(rows).samples("s", "l")
    assert s.prompts == ["p1"] and s.n_missing == 1  # q2 has a missing small sample
    np.testing.assert_array_equal(s.small, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(s.large, [[5.0, 6.0]])
    np.testing.assert_allclose(s.mean_gap(), [2.0 - 5.5])


def test_ragged_and_duplicate_samples_are_rejected() -> None:
    ragged = [("q1", "p", "s", 0, 1.0), ("q1", "p", "s", 1, 1.0), ("q2", "p2", "s", 0, 1.0)]
    ragged += [("q1", "p", "l", 0, 1.0), ("q2", "p2", "l", 0, 1.0)]
    with pytest.raises(ValueError, match="different number of samples"):
        TableScorer(ragged).samples("s", "l")
    dup = [("q1", "p", "s", 0, 1.0), ("q1", "p", "s", 0, 2.0), ("q1", "p", "l", 0, 1.0)]
    with pytest.raises(ValueError, match="two scores for the same"):
        TableScorer(dup).samples("s", "l")
    with pytest.raises(KeyError, match="no test scores for model 'x'"):
        TableScorer(dup[:1] + dup[2:]).samples("x", "l")
