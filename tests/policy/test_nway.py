"""N-way policy building blocks: prices from litellm's offline map, expected cost, orders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from routellm_py.policy.nway import (
    DEFAULT_OUTPUT_TOKENS,
    OutputLength,
    Price,
    cheapest_matching_order,
    expected_cost,
    litellm_price,
    output_length,
    output_lengths,
    quality_minus_cost_order,
)

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "nway" / "output_lengths.py"


def test_litellm_price_and_unknown_model() -> None:
    assert litellm_price("gpt-4-1106-preview") == Price(1e-05, 3e-05)
    assert litellm_price("openai/gpt-4o") == litellm_price("gpt-4o")  # provider prefix dropped
    with pytest.raises(KeyError, match="no price for model 'acme/unknown-9b'"):
        litellm_price("acme/unknown-9b")


def test_expected_cost() -> None:
    prices = [Price(1e-5, 3e-5), Price(1e-7, 2e-7)]
    c = expected_cost(np.array([100, 1000]), prices, [200, 400])
    assert c == pytest.approx(np.array([[1e-3 + 6e-3, 1e-5 + 8e-5], [1e-2 + 6e-3, 1e-4 + 8e-5]]))
    with pytest.raises(ValueError, match="2 prices but 1 output"):
        expected_cost(np.array([1]), prices, [1])


def test_orders() -> None:
    q = np.array([[0.9, 0.8, 0.5], [0.9, 0.85, 0.2]])
    c = np.array([[0.01, 0.002, 0.0001], [0.01, 0.002, 0.0001]])
    assert quality_minus_cost_order(q, c, 0.0).tolist() == [[0, 1, 2], [0, 1, 2]]
    # lambda 20: utilities [0.7, 0.76, 0.498] and [0.7, 0.81, 0.198]
    assert quality_minus_cost_order(q, c, 20.0).tolist() == [[1, 0, 2], [1, 0, 2]]
    p = np.array([[1.0, 0.7, 0.4], [1.0, 0.95, 0.6]])
    # t = 0.9: eligible cheapest first, then the rest by p
    assert cheapest_matching_order(p, c, 0.9).tolist() == [[0, 1, 2], [1, 0, 2]]
    assert cheapest_matching_order(p, c, 0.5).tolist() == [[1, 0, 2], [2, 1, 0]]
    assert cheapest_matching_order(p, c, 0.0).tolist() == [[2, 1, 0], [2, 1, 0]]
    with pytest.raises(ValueError, match="lambda"):
        quality_minus_cost_order(q, c, -1)


def test_output_length_sources() -> None:
    # the shipped table: AlpacaEval's mean answer of GPT-4 Turbo, 2,049.4 chars / 4
    assert output_length("gpt-4-1106-preview") == OutputLength(512.3, "alpaca-eval")
    # alias-canonical and provider prefix dropped
    assert output_length("openai/gpt4_1106_preview") == output_length("gpt-4-1106-preview")
    assert output_length("together_ai/mixtral-8x7b-instruct-v0.1").tokens == pytest.approx(366.5)
    assert output_length("acme/unknown-9b") == OutputLength(DEFAULT_OUTPUT_TOKENS, "default")
    assert output_length("gpt-4-1106-preview", 40) == OutputLength(40.0, "config")
    with pytest.raises(ValueError, match="must be >= 0"):
        output_length("gpt-4-1106-preview", -1)


def test_output_length_table_is_built_from_data(data_dir) -> None:
    """The shipped JSON is what benchmarks/nway/output_lengths.py builds from the data."""
    spec = importlib.util.spec_from_file_location("output_lengths", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    built = script.build(data_dir)
    assert built["models"] == output_lengths()
    assert set(built["sources"]) == {"alpaca-eval", "routerbench"}
    assert all(s["licence"] and s["commit"] for s in built["sources"].values())
    rb = output_lengths()["gpt-4-1106-preview"]["by_source"]["routerbench"]
    assert 0 < rb < 100  # zero-shot ARC/MBPP/Winogrande answers are short
