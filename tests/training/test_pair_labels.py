"""Label schemes from many-model data: pair, all, class gap, difficulty; explicit classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routellm_py.data.adapters.common import pairwise_from_scores
from routellm_py.data.battles import Battles
from routellm_py.training.pair_labels import (
    CLASSES,
    class_gap_battles,
    difficulty_battles,
    model_classes,
    relabel,
)

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def scores() -> pd.DataFrame:
    """mmlu-pro style 0/1 correctness: 2 strong-class, 2 weak-class and 1 other model."""
    table = {
        "q-easy": {"gpt-4o": 1, "gemini-1.5-pro-002": 1, "mistralai/Mixtral-8x7B-Instruct-v0.1": 1,
                   "Qwen1.5-72B-Chat": 1, "Yi-6B": 1},
        "q-gain": {"gpt-4o": 1, "gemini-1.5-pro-002": 1, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0,
                   "Qwen1.5-72B-Chat": 0, "Yi-6B": 0},
        "q-half": {"gpt-4o": 1, "gemini-1.5-pro-002": 0, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0,
                   "Qwen1.5-72B-Chat": 0, "Yi-6B": 0},
        "q-hard": {"gpt-4o": 0, "gemini-1.5-pro-002": 0, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0,
                   "Qwen1.5-72B-Chat": 0, "Yi-6B": 1},
    }  # fmt: skip
    rows = [(q, m, s) for q, d in table.items() for m, s in d.items()]
    long = pd.DataFrame(rows, columns=["prompt", "model", "score"])
    return long.assign(key=long["prompt"], source="mmlu-pro")


def battles() -> Battles:
    return pairwise_from_scores(scores(), "mmlu-pro", None, "correctness")


def by_prompt(b: Battles) -> dict[str, float]:
    return dict(zip(b.frame["prompt"], b.soft_label(), strict=True))


def test_gap_is_the_class_mean_difference():
    gap = class_gap_battles(battles(), STRONG, WEAK)
    assert set(gap.frame["model_a"]) == {STRONG} and set(gap.frame["model_b"]) == {WEAK}
    # y = 1/2 + 1/2 (mean strong-class - mean weak-class correctness)
    assert by_prompt(gap) == {"q-easy": 0.5, "q-gain": 1.0, "q-half": 0.75, "q-hard": 0.5}
    assert gap.frame["outcome"].tolist() == ["tie", "a_wins", "a_wins", "tie"]


def test_difficulty_is_one_minus_mean_correctness():
    diff = difficulty_battles(battles(), scores().assign(task="t"), STRONG, WEAK)
    np.testing.assert_allclose(
        [by_prompt(diff)[q] for q in ("q-easy", "q-gain", "q-half", "q-hard")],
        [0.0, 0.6, 0.8, 0.8],
    )
    # difficulty calls the hardest prompt (both classes fail) a gain; the gap does not
    with pytest.raises(ValueError, match="needs per-model scores"):
        relabel(battles(), "difficulty", STRONG, WEAK)


def test_task_difficulty_is_centred_within_each_task():
    tasks = {"q-easy": "a", "q-gain": "a", "q-half": "b", "q-hard": "b"}
    s = scores().assign(task=lambda d: d["prompt"].map(tasks))
    diff = relabel(battles(), "task-difficulty", STRONG, WEAK, s)
    # task a: difficulties 0.0, 0.6 (mean 0.3); task b: 0.8, 0.8 (mean 0.8)
    got = by_prompt(diff)
    np.testing.assert_allclose(
        [got[q] for q in ("q-easy", "q-gain", "q-half", "q-hard")], [0.2, 0.8, 0.5, 0.5]
    )


def test_sources_without_scores_fall_back_to_the_class_gap():
    frame = pd.DataFrame(
        {
            "prompt": ["p1", "p2"],
            "model_a": [STRONG, STRONG],
            "model_b": [WEAK, WEAK],
            "outcome": ["a_wins", "b_wins"],
            "p_a_wins": [0.9, 0.2],
            "source": "alpaca-eval",
            "weight": 2.0,
        }
    )
    both = Battles.concat([battles(), Battles(frame)])
    diff = relabel(both, "difficulty", STRONG, WEAK, scores().assign(task="t"))
    got = by_prompt(diff)
    assert got["p1"] == pytest.approx(0.9) and got["p2"] == pytest.approx(0.2)
    assert got["q-gain"] == pytest.approx(0.6) and len(diff) == 6
    w = dict(zip(diff.frame["prompt"], diff.frame["weight"], strict=True))
    assert w["p1"] == 2.0 and w["q-easy"] == 1.0  # each source's @WEIGHT is kept


def test_all_keeps_every_battle_and_pair_needs_the_pair():
    b = battles()
    assert relabel(b, "all", STRONG, WEAK) is b and len(b) == 4 * 10
    with pytest.raises(ValueError, match="no battles between"):
        relabel(b, "pair", STRONG, WEAK)  # mmlu-pro has gpt-4o, not gpt-4-1106-preview
    pair = relabel(b, "pair", "gpt-4o", WEAK)
    assert by_prompt(pair) == {"q-gain": 1.0, "q-half": 1.0, "q-easy": 0.5, "q-hard": 0.5}
    with pytest.raises(ValueError, match="label scheme must be one of"):
        relabel(b, "elo", STRONG, WEAK)
    with pytest.raises(TypeError, match="Battles"):
        relabel(pd.DataFrame(), "gap", STRONG, WEAK)


def test_classes_are_explicit_canonical_names():
    s, w = model_classes("mmlu-pro")
    assert s == {"gpt-4o", "gemini-1.5-pro-002"}
    assert "mistralai/Mixtral-8x7B-Instruct-v0.1" in w  # through the alias table
    assert model_classes("routerbench")[1] >= {"mistralai/Mixtral-8x7B-Instruct-v0.1"}
    assert model_classes("csv:mine.csv", "a", "b") == ({"a"}, {"b"})  # unknown source: the pair
    assert set(CLASSES) >= {"mmlu-pro", "faithful-cot", "llmrouter", "arena-bench-v1"}
    assert all(not (set(a) & set(b)) for a, b in CLASSES.values())


def test_gap_uses_soft_labels_and_weights():
    frame = pd.DataFrame(
        {
            "prompt": ["p", "p", "p"],
            "model_a": [STRONG, "mistralai/Mixtral-8x7B-Instruct-v0.1", STRONG],
            "model_b": ["gpt-3.5-turbo-1106", STRONG, "claude-1"],  # last: weak not in class
            "outcome": ["a_wins", "b_wins", "a_wins"],
            "p_a_wins": [0.9, 0.4, 1.0],
            "source": "alpaca-eval",
            "weight": [1.0, 3.0, 1.0],
        }
    )
    gap = class_gap_battles(Battles(frame), STRONG, WEAK)
    # (1 * 0.9 + 3 * 0.6) / 4, oriented strong-class first; weight = mean row weight
    assert len(gap) == 1 and gap.soft_label()[0] == pytest.approx(0.675)
    assert gap.frame["weight"].iloc[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no battle between a strong-class"):
        class_gap_battles(Battles(frame.iloc[2:]), STRONG, WEAK)
