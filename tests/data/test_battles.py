"""The canonical Battles table: schema validation, soft labels, orientation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routellm_py.data import Battles, BattlesSchemaError, canonical_model, register_alias
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK


def _row(**kw):
    base = dict(
        prompt="p",
        model_a="gpt4_1106_preview",
        model_b="mistralai/mixtral-8x7b-chat",
        outcome="a_wins",
        p_a_wins=np.nan,
        source="s",
        weight=1.0,
    )
    base.update(kw)
    return base


def test_aliases_are_explicit():
    assert canonical_model("gpt4_1106_preview") == DEFAULT_STRONG
    assert canonical_model("mistralai/mixtral-8x7b-chat") == DEFAULT_WEAK
    assert canonical_model("some-new-model") == "some-new-model"
    register_alias("my-gpt4", DEFAULT_STRONG)
    assert canonical_model("my-gpt4") == DEFAULT_STRONG
    with pytest.raises(ValueError, match="already maps"):
        register_alias("my-gpt4", "other")


def test_rows_are_canonicalised_and_soft_label_derived():
    b = Battles.from_records(
        [_row(), _row(outcome="b_wins"), _row(outcome="tie"), _row(outcome="a_wins", p_a_wins=0.7)]
    )
    assert b.models == sorted([DEFAULT_STRONG, DEFAULT_WEAK])
    np.testing.assert_allclose(b.soft_label(), [1.0, 0.0, 0.5, 0.7])


def test_pair_orients_strong_as_model_a():
    b = Battles.from_records(
        [
            _row(model_a=DEFAULT_WEAK, model_b=DEFAULT_STRONG, outcome="a_wins", p_a_wins=0.9),
            _row(model_a=DEFAULT_STRONG, model_b="claude-1"),
        ]
    )
    p = b.pair(DEFAULT_STRONG, DEFAULT_WEAK)
    assert len(p) == 1
    assert p.frame.loc[0, "model_a"] == DEFAULT_STRONG
    assert p.frame.loc[0, "outcome"] == "b_wins"
    assert p.frame.loc[0, "p_a_wins"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "bad, msg",
    [
        (dict(outcome="win"), "outcome 'win'"),
        (dict(prompt=""), "'prompt' must be a non-empty string"),
        (dict(model_b="gpt4_1106_preview"), "are both"),
        (dict(p_a_wins=1.5), r"p_a_wins must lie in \[0, 1\]"),
        (dict(weight=0.0), "weight must be finite and > 0"),
    ],
)
def test_schema_errors_name_the_problem(bad, msg):
    with pytest.raises(BattlesSchemaError, match=msg):
        Battles.from_records([_row(), _row(**bad)])


def test_missing_columns_are_listed():
    with pytest.raises(BattlesSchemaError, match="lacks columns"):
        Battles(pd.DataFrame({"prompt": ["p"]}))


def test_summary_counts_per_source():
    b = Battles.from_records([_row(), _row(outcome="tie", source="t"), _row(source="t")])
    s = b.summary()
    assert s.loc["t", "battles"] == 2 and s.loc["t", "ties"] == 1 and s.loc["s", "ties"] == 0
