"""N-way routing in the Controller: the shipped `mf` router's per-model scores, prices,
the policy's order as the fallback order, against a real local upstream (no mocks on the
HTTP path); pair model strings unchanged on real prompts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from routellm_py import load_router
from routellm_py.controller import Controller, RoutingError, UpstreamError
from routellm_py.policy import nway
from routellm_py.policy.drift import drift_prompts
from routellm_py.policy.nway import OutputLength, Price, litellm_price
from routellm_py.routers.base import Router
from tests.upstream import Upstream

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
# Three models the shipped mf knows, called on the local upstream as openai/<alias>.
KNOWN = [STRONG, "gpt-3.5-turbo-0613", WEAK]
PRICES = [(1e-5, 3e-5), (1e-6, 2e-6), (6e-7, 6e-7)]
# Scoring with the shipped mf runs its encoder (model2vec distilled from the real MiniLM).
SLOW = pytest.mark.slow


@pytest.fixture(scope="module")
def mf() -> Router:
    return load_router("mf")


@pytest.fixture(scope="module")
def prompts(data_dir: Any) -> list[str]:
    """20 real prompts (MMLU-Pro, a training source): 10 easy short, 10 hard long."""
    return drift_prompts(20, data_dir, seed=0)


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with Upstream() as u:
        yield u


def models(api_base: str) -> list[dict[str, Any]]:
    return [
        {
            "model": f"openai/m{i}",
            "api_base": api_base,
            "api_key": "sk-n",
            "price_in": p_in,
            "price_out": p_out,
            "output_tokens": 100 * (i + 1),
            "router_name": name,
        }
        for i, (name, (p_in, p_out)) in enumerate(zip(KNOWN, PRICES, strict=True))
    ]


@pytest.fixture
def make(mf: Router, up: Upstream) -> Iterator[Any]:
    up.clear()
    made: list[Controller] = []

    def factory(**kw: Any) -> Controller:
        kw.setdefault("backoff", 0.0)
        kw.setdefault("num_retries", 0)
        c = Controller([mf], f"openai/{STRONG}", f"openai/{WEAK}", api_base=up.base_url, **kw)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


def expected_orders(mf: Router, texts: list[str], policy: str, param: float) -> np.ndarray:
    """The policy's order computed here from the router's scores and the test's prices."""
    quality, p_match = nway.estimates_from_scores(mf.model_scores(texts, KNOWN))
    tokens = np.array([nway.estimate_tokens(len(t)) for t in texts])
    prices = [Price(a, b) for a, b in PRICES]
    cost = nway.expected_cost(tokens, prices, [100.0, 200.0, 300.0])
    if policy == "lambda":
        return nway.quality_minus_cost_order(quality, cost, param)
    return nway.cheapest_matching_order(p_match, cost, param)


# ---- two models: the pair strings behave as before ---------------------------------------
@SLOW
def test_pair_strings_decide_as_win_rate_at_least_threshold(make, mf, prompts, up) -> None:
    w = mf.win_rate(prompts)
    t = float(np.median(w))
    want = [f"openai/{STRONG}" if x >= t else f"openai/{WEAK}" for x in w]
    assert 0 < want.count(f"openai/{STRONG}") < len(prompts)  # both outcomes occur
    for c in (make(), make(models=models(up.base_url))):
        records = c.decide(prompts, model=f"router-mf-{t!r}")
        assert [r["routed_model"] for r in records] == want
        assert [r["win_rate"] for r in records] == pytest.approx(w.tolist())
        assert "candidates" not in records[0]


# ---- N-way decisions -----------------------------------------------------------------------
@SLOW
@pytest.mark.parametrize(
    ("model", "policy", "param"), [("lambda10", "lambda", 10.0), ("t0.95", "t", 0.95)]
)
def test_nway_record_lists_every_candidate_in_policy_order(
    make, mf, prompts, up, model, policy, param
) -> None:
    c = make(models=models(up.base_url))
    records = c.decide(prompts, model=f"router-mf-nway-{model}")
    orders = expected_orders(mf, prompts, policy, param)
    for r, order in zip(records, orders, strict=True):
        assert [x["model"] for x in r["candidates"]] == [f"openai/m{j}" for j in order]
        assert r["routed_model"] == r["candidates"][0]["model"]
        assert r["policy"] == policy and r[policy] == param
        by = {x["model"]: x for x in r["candidates"]}
        tokens = r["prompt_tokens"]
        assert by["openai/m0"]["expected_cost_usd"] == pytest.approx(tokens * 1e-5 + 100 * 3e-5)
        assert by["openai/m2"]["expected_cost_usd"] == pytest.approx(tokens * 6e-7 + 300 * 6e-7)
        assert (by["openai/m2"]["output_tokens"], by["openai/m2"]["output_tokens_source"]) == (
            300.0,
            "config",
        )
        assert max(x["p_match_best"] for x in r["candidates"]) == 1.0
    # Not every prompt gets the same model: the estimates matter.
    assert len({r["routed_model"] for r in records}) > 1


@SLOW
def test_lambda_zero_picks_best_quality_and_huge_lambda_the_cheapest(make, prompts, up) -> None:
    c = make(models=models(up.base_url))
    best = c.decide(prompts, model="router-mf-nway-lambda0")
    for r in best:
        q = [x["quality"] for x in r["candidates"]]
        assert q[0] == max(q)
    cheap = c.decide(prompts, model="router-mf-nway-lambda1000000000")
    assert {r["routed_model"] for r in cheap} == {"openai/m2"}
    assert {r["routed_model"] for r in c.decide(prompts, model="router-mf-nway-t0")} == {
        "openai/m2"
    }


# ---- N-way calls on the local upstream -----------------------------------------------------
@SLOW
def test_the_chosen_model_is_called(make, prompts, up) -> None:
    c = make(models=models(up.base_url))
    prompt = prompts[-1]
    routed = c.decide([prompt], model="router-mf-nway-lambda10")[0]["routed_model"]
    r = c.completion(
        model="router-mf-nway-lambda10", messages=[{"role": "user", "content": prompt}]
    )
    assert up.models_called() == [routed.removeprefix("openai/")]
    assert r.model == routed and r.routing["served_model"] == routed
    assert not r.routing["fallback_used"]
    assert c.stats()["routed"]["mf"] == {routed: 1}


@SLOW
def test_failure_falls_back_in_policy_order(make, prompts, up) -> None:
    c = make(models=models(up.base_url), fallback=True)
    prompt = prompts[0]
    order = [x["model"] for x in c.decide([prompt], model="router-mf-nway-t0.9")[0]["candidates"]]
    first, second, third = (m.removeprefix("openai/") for m in order)
    up.fail("500", model=first)
    up.fail("500", model=second)
    r = c.completion(model="router-mf-nway-t0.9", messages=[{"role": "user", "content": prompt}])
    assert up.models_called() == [first, second, third]
    assert [a["model"] for a in r.routing["attempts"]] == order
    assert r.routing["served_model"] == order[2] and r.routing["fallback_used"]


@SLOW
def test_without_fallback_only_the_first_is_tried(make, prompts, up) -> None:
    c = make(models=models(up.base_url))
    order = c.decide(prompts[:1], model="router-mf-nway-lambda0")[0]["candidates"]
    up.fail("500", model=order[0]["model"].removeprefix("openai/"))
    with pytest.raises(UpstreamError) as e:
        c.completion(
            model="router-mf-nway-lambda0", messages=[{"role": "user", "content": prompts[0]}]
        )
    assert [a["model"] for a in e.value.routing["attempts"]] == [order[0]["model"]]


@SLOW
def test_async_path_routes_the_same(make, prompts, up) -> None:
    c = make(models=models(up.base_url))
    want = c.decide(prompts[:1], model="router-mf-nway-t0.5")[0]["routed_model"]
    call = c.acompletion(
        model="router-mf-nway-t0.5", messages=[{"role": "user", "content": prompts[0]}]
    )
    r = asyncio.run(call)
    assert r.routing["served_model"] == want == r.routing["candidates"][0]["model"]


# ---- configuration errors ------------------------------------------------------------------
def test_unknown_price_is_an_error_naming_the_model(make, up) -> None:
    bad = [*models(up.base_url)[:1], {"model": "openai/no-such-model-x", "router_name": WEAK}]
    with pytest.raises(ValueError, match="no-such-model-x.*price_in and price_out"):
        make(models=bad)


def test_prices_default_to_litellm_cost_map(make, up) -> None:
    listed = [
        {"model": "openai/gpt-4o", "router_name": STRONG},
        {"model": "openai/gpt-4o-mini", "router_name": WEAK, "price_out": 1e-6},
    ]
    c = make(models=listed)
    assert c.models[0].price == litellm_price("gpt-4o")
    assert c.models[1].price == Price(litellm_price("gpt-4o-mini").input_per_token, 1e-6)
    assert c.models[0].output == OutputLength(512.3, "alpaca-eval")  # router_name in the table
    assert c.models[0].endpoint.api_base == up.base_url  # the shared default


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        (["openai/gpt-4o"], "at least two"),
        (["openai/gpt-4o", "openai/gpt-4o"], "listed twice"),
        ([{"model": "openai/gpt-4o", "price_in": -1}, "openai/gpt-4o-mini"], "price_in"),
        ([{"api_base": "http://x"}, "openai/gpt-4o"], "'model'"),
    ],
)
def test_bad_models_config_is_refused(make, entries, match) -> None:
    with pytest.raises(ValueError, match=match):
        make(models=entries)


@SLOW
def test_bad_nway_strings_are_refused(make, up, prompts) -> None:
    with pytest.raises(RoutingError, match="models list"):
        make().decide(prompts[:1], model="router-mf-nway-t0.9")
    c = make(models=models(up.base_url))
    with pytest.raises(RoutingError, match=r"t in \[0, 1\]|must be in \[0, 1\]"):
        c.decide(prompts[:1], model="router-mf-nway-t1.5")
    with pytest.raises(RoutingError, match="nway-lambda"):
        c.decide(prompts[:1], model="router-mf-nway-lambdax")
    unknown = [{**m, "router_name": "no-such-llm"} for m in models(up.base_url)]
    with pytest.raises(RoutingError, match="cannot route between the N-way models"):
        make(models=unknown).decide(prompts[:1], model="router-mf-nway-t0.9")
    assert up.models_called() == []  # no upstream call for a refused request


# ---- the server ----------------------------------------------------------------------------
@SLOW
def test_server_routes_and_completes_nway(make, prompts, up) -> None:
    import httpx

    from routellm_py.server import BackgroundServer, create_app

    c = make(models=models(up.base_url))
    model = "router-mf-nway-lambda10"
    want = c.decide(prompts[:2], model=model)
    with BackgroundServer(create_app(c, models=[model])) as srv:
        r = httpx.post(f"{srv.base_url}/route", json={"model": model, "prompts": prompts[:2]})
        assert r.status_code == 200
        body = r.json()
        assert body["policy"] == "lambda" and body["lambda"] == 10.0
        assert [d["model"] for d in body["data"]] == [w["routed_model"] for w in want]
        assert [x["model"] for x in body["data"][0]["candidates"]] == [
            x["model"] for x in want[0]["candidates"]
        ]
        listed = httpx.get(f"{srv.base_url}/models").json()["data"][0]["routing"]
        assert listed["policy"] == "lambda" and "nway-t" in listed["usage"]
        chat = {"model": model, "messages": [{"role": "user", "content": prompts[0]}]}
        r = httpx.post(f"{srv.base_url}/chat/completions", json=chat, timeout=30)
        assert r.status_code == 200
        assert r.json()["model"] == want[0]["routed_model"]
        bad = httpx.post(
            f"{srv.base_url}/route", json={"model": "router-mf-nway-t2", "prompts": ["a"]}
        )
        assert bad.status_code == 400 and "t in model" in bad.json()["error"]["message"]


def test_nway_model_strings_parse_from_the_right() -> None:
    from routellm_py.controller import parse_model_string
    from routellm_py.controller.model_string import RouteSpec

    assert parse_model_string("router-bert-large-nway-t0.9") == RouteSpec(
        "bert-large", policy="t", policy_param=0.9
    )
    assert parse_model_string("router-mf-nway-lambda1500") == RouteSpec(
        "mf", policy="lambda", policy_param=1500.0
    )
    assert parse_model_string("router-mf-0.5") == RouteSpec("mf", threshold=0.5)
    for bad in ("router-mf-nway-lambda1e3", "router-nway-t0.5", "router-mf-nway-t"):
        with pytest.raises(RoutingError):
            parse_model_string(bad)
