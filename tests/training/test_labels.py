"""Battles -> classifier targets, checked against hand-computed tables."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_py.data.battles import Battles
from routellm_py.routers.causal_llm import grade_values, label_tokens
from routellm_py.training import labels as L

S, W = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def battles() -> Battles:
    rows = [
        ("q1", S, W, "a_wins", np.nan, 1.0),
        ("q1", W, S, "a_wins", np.nan, 1.0),  # weak won, written weak-first
        ("q2", S, W, "tie", 0.5, 2.0),
        ("q3", W, S, "a_wins", 0.25, 1.0),  # soft: P(weak wins) = .25 -> P(strong) = .75
        ("q4", S, "claude-2", "a_wins", np.nan, 1.0),  # another pair: ignored
    ]
    cols = ["prompt", "model_a", "model_b", "outcome", "p_a_wins", "weight"]
    return Battles.from_records(dict(zip(cols, r, strict=True), source="t") for r in rows)


def test_outcome_targets_and_aggregation_by_hand():
    pair = L.strong_weak_battles(battles(), S, W)
    t = L.outcome_targets(pair)
    expected = {  # (prompt, strong_wins, tie, weak_wins) per battle
        ("q1", 1, 0, 0),
        ("q1", 0, 0, 1),
        ("q2", 0, 1, 0),
        ("q3", 0.75, 0, 0.25),
    }
    got = {(p, *map(float, row)) for p, row in zip(pair.frame["prompt"], t, strict=True)}
    assert got == expected
    prompts, agg, w = L.aggregate_by_prompt(
        pair.frame["prompt"].tolist(), t, pair.frame["weight"].to_numpy()
    )
    table = dict(zip(prompts, zip(map(tuple, agg), w, strict=True), strict=True))
    assert table == {
        "q1": ((0.5, 0.0, 0.5), 2.0),
        "q2": ((0.0, 1.0, 0.0), 2.0),
        "q3": ((0.75, 0.0, 0.25), 1.0),
    }


def test_graded_targets_interpolate_and_keep_the_mean():
    p = np.array([0.0, 1.0, 0.5, 0.6, 0.75])
    t = L.graded_targets(p, 5)  # grades 0, .25, .5, .75, 1
    np.testing.assert_allclose(
        t,
        [
            [1, 0, 0, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 1, 0, 0],
            [0, 0, 0.6, 0.4, 0],
            [0, 0, 0, 1, 0],
        ],
        atol=1e-12,
    )
    np.testing.assert_allclose(t @ grade_values(5), p)
    assert label_tokens(3) == ["[[1]]", "[[2]]", "[[3]]"]
    with pytest.raises(ValueError, match="probabilities"):
        L.graded_targets(np.array([1.5]), 5)


def test_missing_pair_and_subsample():
    with pytest.raises(ValueError, match="no battles between"):
        L.strong_weak_battles(battles(), S, "llama-3-8b")
    idx = L.subsample(10, 4, seed=0)
    assert len(idx) == 4 and list(idx) == sorted(set(idx))
    np.testing.assert_array_equal(idx, L.subsample(10, 4, seed=0))
    np.testing.assert_array_equal(L.subsample(3, None, seed=0), [0, 1, 2])
