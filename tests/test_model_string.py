"""Router model strings: `router-<name>-<threshold>` parsed from the right."""

from __future__ import annotations

import pytest

from routellm_py.controller import RouteSpec, RoutingError, parse_model_string


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("router-mf-0.116", RouteSpec("mf", threshold=0.116)),
        ("router-sw_ranking-0", RouteSpec("sw_ranking", threshold=0.0)),
        ("router-mf-1", RouteSpec("mf", threshold=1.0)),
        ("router-mf-1.0", RouteSpec("mf", threshold=1.0)),
        ("router-mf-.5", RouteSpec("mf", threshold=0.5)),
        ("router-mf-0.", RouteSpec("mf", threshold=0.0)),
        # names with '-': everything up to the last '-' is the name
        ("router-bert-large-0.3", RouteSpec("bert-large", threshold=0.3)),
        ("router-my-mf-v2-0.25", RouteSpec("my-mf-v2", threshold=0.25)),
        ("router-a-0.5-0.7", RouteSpec("a-0.5", threshold=0.7)),
        # strong-fraction targets
        ("router-mf-s0.3", RouteSpec("mf", strong_fraction=0.3)),
        ("router-bert-large-S1", RouteSpec("bert-large", strong_fraction=1.0)),
    ],
)
def test_valid_model_strings(model: str, expected: RouteSpec) -> None:
    assert parse_model_string(model) == expected


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("router-mf-1.5", "threshold in model 'router-mf-1.5' must be in [0, 1], got '1.5'"),
        ("router-mf-1.0001", "must be in [0, 1], got '1.0001'"),
        ("router-mf--0.1", "threshold looks negative"),
        ("router-mf-abc", "'abc' is not a threshold in [0, 1]"),
        ("router-mf-nan", "'nan' is not a threshold"),
        ("router-mf-inf", "'inf' is not a threshold"),
        ("router-mf-1e-3", "plain decimal (0.001, not 1e-3)"),
        ("router-mf-s1e-1", "plain decimal"),
        ("router-mf-0.5.1", "'0.5.1' is not a threshold"),
        # other scripts' digits: float() takes them, a threshold must not
        ("router-random-\u0661", "'\u0661' is not a threshold"),
        ("router-mf-\u0660.\u0665", "is not a threshold"),
        ("router-mf-s\uff11", "is not a threshold"),  # fullwidth 1
        ("router-mf-s1.5", "strong fraction in model 'router-mf-s1.5' must be in [0, 1]"),
        ("router-mf-s", "'s' is not a threshold"),
        ("router-mf", "lacks a router name or a threshold"),
        ("router--0.5", "lacks a router name or a threshold"),
        ("router-", "lacks a router name or a threshold"),
        ("gpt-4-1106-preview", "is not a router model string"),
        ("Router-mf-0.5", "is not a router model string"),
    ],
)
def test_invalid_model_strings(model: str, message: str) -> None:
    with pytest.raises(RoutingError, match="router-") as info:
        parse_model_string(model)
    assert message in str(info.value)
    assert info.value.param == "model"
    assert info.value.status == 400
    assert isinstance(info.value, ValueError)


def test_non_string_model() -> None:
    with pytest.raises(RoutingError, match="model must be a string"):
        parse_model_string(0.5)  # type: ignore[arg-type]
