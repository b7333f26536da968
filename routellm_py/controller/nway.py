"""N-way routing in the controller: the `models` list, and per-prompt decisions.

Each entry of `models`: `{"model": litellm name, "api_base"?, "api_key"?, "api_key_env"?,
"extra"?, "price_in"?, "price_out"? (USD per token; default: litellm's offline cost map,
an unknown price is an error naming the model), "output_tokens"? (expected completion
length; default `policy.nway.output_length` of `router_name`: the shipped table, else 256),
"router_name"? (the name the router knows the model by; default `model`)}`. A decision
scores the prompt for every model with the router's `model_scores`, turns the scores into
estimates (`estimates_from_scores`), and orders the models by the spec's policy
(`routellm_py.policy.nway`); the first is called, the others are the fallback order.
Prompt tokens: `estimate_tokens` (chars / 4). The record gives each candidate's expected
output tokens and their source ("config", the table's source, or "default").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routellm_py.controller.calls import ModelEndpoint
from routellm_py.controller.model_string import RouteSpec
from routellm_py.policy.nway import (
    OutputLength,
    Price,
    cheapest_matching_order,
    estimate_tokens,
    estimates_from_scores,
    expected_cost,
    litellm_price,
    output_length,
    quality_minus_cost_order,
)
from routellm_py.policy.spend import SpendBudget
from routellm_py.routers.base import Router

_PRICE_KEYS = ("price_in", "price_out", "output_tokens", "router_name")


@dataclass(frozen=True)
class Candidate:
    """One model of an N-way controller: where to call it, its price, its expected answer
    length and its name for the router."""

    endpoint: ModelEndpoint
    price: Price
    output: OutputLength
    router_name: str


def _number(entry: dict[str, Any], key: str, model: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"models: {key} of {model!r} must be a number >= 0, got {value!r}")
    return float(value)


def candidate(entry: str | dict[str, Any], api_base: str | None, api_key: str | None) -> Candidate:
    """A `Candidate` from one `models` entry (a litellm name or a dict, see the module)."""
    entry = {"model": entry} if isinstance(entry, str) else entry
    if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
        raise ValueError(f"models: each entry needs a 'model' (a litellm name), got {entry!r}")
    model = entry["model"]
    fields = {k: v for k, v in entry.items() if k not in _PRICE_KEYS}
    endpoint = ModelEndpoint.coerce(fields).with_defaults(api_base, api_key)
    price_in, price_out = _number(entry, "price_in", model), _number(entry, "price_out", model)
    if price_in is None or price_out is None:
        try:
            listed = litellm_price(model)
        except KeyError as e:
            raise ValueError(
                f"models: no price for {model!r} in litellm's cost map; give price_in and "
                "price_out (USD per token) in its models entry"
            ) from e
        price_in = listed.input_per_token if price_in is None else price_in
        price_out = listed.output_per_token if price_out is None else price_out
    router_name = entry.get("router_name", model)
    if not isinstance(router_name, str) or not router_name:
        raise ValueError(f"models: router_name of {model!r} must be a non-empty string")
    return Candidate(
        endpoint,
        Price(price_in, price_out),
        output_length(router_name, _number(entry, "output_tokens", model)),
        router_name,
    )


def candidates(
    models: Sequence[str | dict[str, Any]], api_base: str | None, api_key: str | None
) -> list[Candidate]:
    """The `models` list as `Candidate`s: at least two, each model once."""
    if isinstance(models, str | dict) or len(models) < 2:
        raise ValueError("models must be a list of at least two model entries")
    out = [candidate(m, api_base, api_key) for m in models]
    names = [c.endpoint.model for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"models: a model is listed twice in {names}")
    return out


def check_router(router: Router, name: str, models: list[Candidate]) -> None:
    """Fail now if `router` cannot score every model (no `model_scores`, unknown model)."""
    try:
        router.model_scores(["hello"], [c.router_name for c in models])
    except (NotImplementedError, ValueError, KeyError) as e:
        raise ValueError(f"router {name!r} cannot route between the N-way models: {e}") from e


def decisions(
    spec: RouteSpec,
    router: Router,
    models: list[Candidate],
    texts: Sequence[str],
    prompt_chars: Sequence[int],
    spend: SpendBudget | None = None,
) -> list[dict[str, Any]]:
    """The routing record of each prompt (`texts`: what the router scores; `prompt_chars`:
    the length of the whole prompt, for its token count): every candidate in policy order
    with its estimates and expected cost, the routed one first. A dollar budget (policy
    "usd") needs its `spend` budget, which sets lambda prompt by prompt, in order."""
    scores = router.model_scores(list(texts), [c.router_name for c in models])
    quality, p_match = estimates_from_scores(scores)
    tokens = np.array([estimate_tokens(n) for n in prompt_chars])
    cost = expected_cost(tokens, [c.price for c in models], [c.output.tokens for c in models])
    param = float(spec.policy_param or 0.0)
    lambdas = None
    if spec.policy == "usd":
        if spend is None:
            raise ValueError("a dollar budget (nway-usd) needs its SpendBudget")
        lambdas = [spend.decide(q, c) for q, c in zip(quality, cost, strict=True)]
        order = quality_minus_cost_order(quality, cost, np.array(lambdas)[:, None])
    elif spec.policy == "lambda":
        order = quality_minus_cost_order(quality, cost, param)
    else:
        order = cheapest_matching_order(p_match, cost, param)
    records = []
    for i, row in enumerate(order):
        ranked = [
            {
                "model": models[j].endpoint.model,
                "quality": float(quality[i, j]),
                "p_match_best": float(p_match[i, j]),
                "expected_cost_usd": float(cost[i, j]),
                "output_tokens": models[j].output.tokens,
                "output_tokens_source": models[j].output.source,
            }
            for j in row
        ]
        records.append(
            {
                "id": f"rt-{uuid.uuid4().hex}",
                "router": spec.router,
                "policy": spec.policy,
                spec.policy or "": param,
                **({"lambda": lambdas[i]} if lambdas is not None else {}),
                "prompt_tokens": int(tokens[i]),
                "routed_to": "nway",
                "routed_model": ranked[0]["model"],
                "candidates": ranked,
            }
        )
    return records
