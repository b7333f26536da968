"""N-way routing policies: per-model quality estimates and prices -> an order of models.

Building blocks of issue #14 part 1 (not yet wired into the Controller). For n prompts
and m models, with estimates q (n, m) and expected costs c (n, m):

- `quality_minus_cost_order`: models by q - lambda * c, best first (lambda: quality per
  dollar given up).
- `cheapest_matching_order`: the models whose estimated chance of matching the best is
  >= t, cheapest first, then the others by that chance (the fallback order).

Expected cost: c = prompt_tokens * input price + expected output tokens * output price,
prices per token from litellm's offline cost map (`litellm_price`) unless given. Expected
output tokens per model (`output_length`): a configured value, else the shipped table
`output_lengths.json` (built from data by `benchmarks/nway/output_lengths.py`: AlpacaEval
response lengths, then RouterBench costs; chars / 4), else `DEFAULT_OUTPUT_TOKENS`.

Estimates from per-model scores s (n, m) (MF: sigmoid(s_a - s_b) = P(a beats b), Ong et
al. 2024, RouteLLM §4.1): q_m = mean over k != m of sigmoid(s_m - s_k), and the chance of
matching the best min(1, 2 * sigmoid(s_m - s_best)) (1 for the best).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.metrics import DEFAULT_OUTPUT_TOKENS  # 256, for models not in the table

COST_MAP_FILE = "model_prices_and_context_window_backup.json"
OUTPUT_LENGTHS_FILE = "output_lengths.json"


@dataclass(frozen=True)
class Price:
    """USD per input and per output token."""

    input_per_token: float
    output_per_token: float


@cache
def _cost_map() -> dict[str, Any]:
    spec = find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("prices default to litellm's cost map: pip install litellm")
    path = Path(list(spec.submodule_search_locations)[0]) / COST_MAP_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def litellm_price(model: str) -> Price:
    """The price of `model` in litellm's offline cost map (a provider prefix such as
    `openai/` may be dropped to find it); unknown models raise, naming the model."""
    table = _cost_map()
    for name in (model, model.split("/", 1)[-1]):
        entry = table.get(name) or {}
        if "input_cost_per_token" in entry and "output_cost_per_token" in entry:
            return Price(
                float(entry["input_cost_per_token"]), float(entry["output_cost_per_token"])
            )
    raise KeyError(
        f"no price for model {model!r} in litellm's cost map; give it explicitly "
        "(input_cost_per_token and output_cost_per_token, USD per token)"
    )


CHARS_PER_TOKEN = 4  # the usual English estimate for BPE tokenizers (OpenAI's rule of thumb)


def estimate_tokens(chars: int) -> int:
    """Prompt tokens of a `chars`-character prompt: ceil(chars / 4), tokenizer-free."""
    return -(-chars // CHARS_PER_TOKEN)


@dataclass(frozen=True)
class OutputLength:
    """Expected output tokens of a model and where the number came from: "config", a
    table source (e.g. "alpaca-eval") or "default"."""

    tokens: float
    source: str


@cache
def output_lengths() -> dict[str, dict[str, Any]]:
    """The shipped table: canonical model -> {output_tokens, source, n, by_source}."""
    path = Path(__file__).with_name(OUTPUT_LENGTHS_FILE)
    return json.loads(path.read_text(encoding="utf-8"))["models"]


def output_length(model: str, configured: float | None = None) -> OutputLength:
    """`configured` if given; else the table's value for the model's canonical name (a
    provider prefix such as `together_ai/` may be dropped to find it); else the default."""
    if configured is not None:
        if not configured >= 0:
            raise ValueError(f"output tokens of {model!r} must be >= 0, got {configured!r}")
        return OutputLength(float(configured), "config")
    from routellm_py.data.aliases import canonical_model

    table = output_lengths()
    for name in (model, model.split("/", 1)[-1]):
        entry = table.get(canonical_model(name))
        if entry is not None:
            return OutputLength(float(entry["output_tokens"]), str(entry["source"]))
    return OutputLength(float(DEFAULT_OUTPUT_TOKENS), "default")


def estimates_from_scores(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(quality, p_match), each (n, m), from Bradley-Terry scores (n, m); see the module."""
    s = np.asarray(scores, dtype=np.float64)
    m = s.shape[1]
    quality = (sigmoid(s[:, :, None] - s[:, None, :]).sum(axis=2) - 0.5) / max(m - 1, 1)
    p_match = np.minimum(1.0, 2 * sigmoid(s - s.max(axis=1, keepdims=True)))
    return quality, p_match  # quality: minus the self term sigmoid(0) = 0.5


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), overflow-free."""
    return 0.5 * (1.0 + np.tanh(x / 2))


def expected_cost(
    prompt_tokens: np.ndarray, prices: list[Price], output_tokens: list[float]
) -> np.ndarray:
    """(n, m) expected USD: prompt_tokens[i] * input price + output_tokens[j] * output price."""
    if len(prices) != len(output_tokens):
        raise ValueError(f"{len(prices)} prices but {len(output_tokens)} output lengths")
    inp = np.array([p.input_per_token for p in prices])
    out = np.array([p.output_per_token * o for p, o in zip(prices, output_tokens, strict=True)])
    return np.asarray(prompt_tokens, dtype=np.float64)[:, None] * inp[None, :] + out[None, :]


def quality_minus_cost_order(
    quality: np.ndarray, cost: np.ndarray, lam: float | np.ndarray
) -> np.ndarray:
    """(n, m) model indices per prompt, by q - lam * c descending (ties: lower index);
    `lam` one lambda, or one per prompt ((n, 1))."""
    if np.any(np.asarray(lam) < 0):
        raise ValueError(f"lambda must be >= 0, got {lam}")
    utility = np.asarray(quality, dtype=np.float64) - lam * np.asarray(cost, dtype=np.float64)
    return np.argsort(-utility, axis=1, kind="stable")


def cheapest_matching_order(p_match: np.ndarray, cost: np.ndarray, t: float) -> np.ndarray:
    """(n, m) model indices per prompt: those with p_match >= t by cost ascending, then the
    rest by p_match descending. The first is the choice, the rest the fallback order."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be in [0, 1], got {t}")
    p = np.asarray(p_match, dtype=np.float64)
    ok = p >= t
    # Sort key: eligible first (0), by cost; then ineligible (1), by -p.
    primary = np.where(ok, 0.0, 1.0)
    secondary = np.where(ok, np.asarray(cost, dtype=np.float64), -p)
    return np.lexsort((secondary, primary), axis=1)
