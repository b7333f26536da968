"""Dollar budgets for N-way routing (`router-<name>-nway-usd<USD per 1,000 requests>`):
lambda adapts so that the realised spend holds on drifting real traffic, where a lambda
calibrated on the first half does not; the controller, the feedback store, /stats and
/metrics see every decision."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from routellm_py import load_router
from routellm_py.controller import Controller, RoutingError, parse_model_string
from routellm_py.controller.model_string import RouteSpec
from routellm_py.policy.drift import drift_prompts, nway_stream, replay_spend, window_fractions
from routellm_py.policy.nway import Price
from routellm_py.policy.spend import SpendBudget, chosen_costs, spend_lambda
from routellm_py.routers.base import Router
from routellm_py.server import BackgroundServer, create_app

KNOWN = ["gpt-4-1106-preview", "gpt-3.5-turbo-0613", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
PRICES = [Price(1e-5, 3e-5), Price(1e-6, 2e-6), Price(6e-7, 6e-7)]
OUTPUT_TOKENS = 100.0
TOLERANCE = 0.05  # relative: every 500-request window within 5% of the target


@pytest.fixture(scope="module")
def mf() -> Router:
    return load_router("mf")


@pytest.fixture(scope="module")
def stream(mf: Router, data_dir: Any) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and expected costs (4000, 3) of the MMLU-Pro drift stream (short easy
    prompts, then long hard ones)."""
    return nway_stream(mf, KNOWN, PRICES, OUTPUT_TOKENS, 4000, data_dir, seed=0)


def models() -> list[dict[str, Any]]:
    return [
        {
            "model": f"openai/m{i}",
            "price_in": p.input_per_token,
            "price_out": p.output_per_token,
            "output_tokens": OUTPUT_TOKENS,
            "router_name": name,
        }
        for i, (name, p) in enumerate(zip(KNOWN, PRICES, strict=True))
    ]


def test_model_string_dollar_budget() -> None:
    assert parse_model_string("router-mf-nway-usd2.5") == RouteSpec(
        "mf", policy="usd", policy_param=2.5
    )
    for bad in ("router-mf-nway-usd0", "router-mf-nway-usd", "router-mf-nway-usdx"):
        with pytest.raises(RoutingError, match="nway-usd<USD per 1,000 requests > 0>"):
            parse_model_string(bad)
    with pytest.raises(RoutingError, match="plain decimal"):
        parse_model_string("router-mf-nway-usd1e-3")


def test_spend_lambda_is_the_smallest_lambda_within_the_aim() -> None:
    quality = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.2]])
    cost = np.array([[3.0, 1.0, 0.1], [3.0, 1.0, 0.1]])
    assert spend_lambda(quality, cost, 3.0) == 0.0  # best quality already spends 3
    lam = spend_lambda(quality, cost, 2.0)  # one of the two must leave the 3-dollar model
    # Row 2 leaves first, at (0.8 - 0.7) / (3 - 1) = 0.05 (row 1 at 0.2): mean (3 + 1) / 2.
    assert lam == pytest.approx(0.05, rel=1e-6)
    assert chosen_costs(quality, cost, lam).tolist() == [3.0, 1.0]
    assert chosen_costs(quality, cost, lam * 0.999).mean() > 2.0
    assert chosen_costs(quality, cost, spend_lambda(quality, cost, 0.0)).tolist() == [0.1, 0.1]


def test_dollar_budget_holds_under_drift_static_lambda_does_not(stream) -> None:
    quality, cost = stream
    per_1k = 1000 * cost
    assert per_1k[2000:, 0].mean() / per_1k[:2000, 0].mean() > 1.3  # the prompts get longer
    for target in (0.8, 1.1):  # USD per 1,000 requests
        spent = 1000 * replay_spend(quality, cost, SpendBudget(target).decide)
        windows = window_fractions(spent, window=500, start=200)
        assert len(windows) == 4000 - 500 - 200 + 1
        assert np.abs(windows / target - 1).max() <= TOLERANCE, target
        static = spend_lambda(quality[:2000], cost[:2000], target / 1000)
        fixed = 1000 * replay_spend(quality, cost, lambda q, c, lam=static: lam)
        assert abs(fixed[:2000].mean() / target - 1) < 0.01  # calibrated on the first half
        second = window_fractions(fixed[2000:], window=500, start=0)
        assert (second / target - 1).min() > 0.10, target  # overspends every window by >10%


def test_controller_dollar_budget_store_stats_and_metrics(mf, data_dir, tmp_path) -> None:
    prompts = drift_prompts(1200, data_dir, seed=5)
    db = f"sqlite:///{tmp_path / 'fb.db'}"
    controller = Controller(
        [mf],
        "openai/m0",
        "openai/m2",
        models=models(),
        feedback_db=db,
        api_base="http://127.0.0.1:9",
    )
    target = 0.6
    records = controller.decide(prompts[:800], model="router-mf-nway-usd0.6")
    spent = np.array([r["candidates"][0]["expected_cost_usd"] for r in records])
    assert abs(1000 * spent[300:].mean() / target - 1) <= TOLERANCE
    for r in records[:50]:
        c = r["candidates"]
        utility = [x["quality"] - r["lambda"] * x["expected_cost_usd"] for x in c]
        assert utility == sorted(utility, reverse=True)  # policy order at the record's lambda
        assert r["routed_model"] == c[0]["model"] and r["usd"] == target
    stored = controller.feedback_store.nway_records()
    assert len(stored) == 800 and controller.feedback_store.records() == []
    first = stored[0]
    assert first["id"] == records[0]["id"] and first["routed_to"] == "nway"
    assert first["candidates"] == records[0]["candidates"]  # every candidate, estimate, cost
    assert first["threshold"] == pytest.approx(records[0]["lambda"])
    assert controller.feedback(records[0]["id"], rating="good")["rating"] == 1.0

    with BackgroundServer(create_app(controller)) as srv:
        base = f"http://127.0.0.1:{srv.port}"
        body = {"model": "router-mf-nway-usd0.6", "prompts": prompts[800:1200]}
        r = httpx.post(f"{base}/v1/route", json=body, timeout=60)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        routed = [d["model"] for d in data]
        assert r.json()["usd"] == target
        for d in data:  # each prompt's candidates in policy order at its own lambda
            utility = [x["quality"] - d["lambda"] * x["expected_cost_usd"] for x in d["candidates"]]
            assert d["lambda"] >= 0 and utility == sorted(utility, reverse=True)
        budget = httpx.get(f"{base}/stats").json()["budgets"]["router-mf-nway-usd0.6"]
        metrics = httpx.get(f"{base}/metrics").text
    assert budget["window_requests"] == 500 and budget["target_usd_per_1k"] == target
    assert abs(budget["realised_usd_per_1k"] / target - 1) <= TOLERANCE
    line = 'routellm_spend_realised_usd_per_1k{budget="router-mf-nway-usd0.6"}'
    assert float(metrics.split(line)[1].split()[0]) == pytest.approx(budget["realised_usd_per_1k"])
    lam = float(
        metrics.split('routellm_spend_lambda{budget="router-mf-nway-usd0.6"}')[1].split()[0]
    )
    assert lam == pytest.approx(budget["lambda"])
    for model in set(routed):  # N-way decisions are labelled by the real model name
        line = f'routellm_route_prompts_total{{routed_to="{model}",router="mf"}}'
        assert float(metrics.split(line)[1].split()[0]) == routed.count(model)
    assert set(routed) == {"openai/m0", "openai/m1", "openai/m2"}
    controller.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_nway_records_in_both_stores(backend: str, tmp_path, request) -> None:
    """An N-way record and its candidates, written together; purge removes both."""
    from routellm_py.feedback.store import FeedbackStore

    url = (
        f"sqlite:///{tmp_path / 'fb.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = FeedbackStore(url, store_prompts=True)
    candidates = [
        {"model": "b", "quality": 0.5, "p_match_best": 0.9, "expected_cost_usd": 0.001},
        {"model": "a", "quality": 0.7, "p_match_best": 1.0, "expected_cost_usd": 0.004},
        {"model": "c", "quality": 0.2, "p_match_best": 0.3, "expected_cost_usd": 0.0001},
    ]
    lengths = [(256.0, "default"), (400.0, "config"), (310.5, "alpaca-eval")]
    for c, (tokens, source) in zip(candidates, lengths, strict=True):
        c |= {"output_tokens": tokens, "output_tokens_source": source}
    routing = {"id": "rt-1", "router": "mf", "policy": "usd", "usd": 2.5, "lambda": 40.0}
    routing |= {"routed_to": "nway", "routed_model": "b", "candidates": candidates}
    store.record_nway(routing, "hello")
    store.mark_served("rt-1", "a")  # fallback: the second candidate answered
    (row,) = store.nway_records()
    assert row["candidates"] == candidates
    assert (row["strong_model"], row["weak_model"], row["served_to"]) == ("a", "c", "a")
    assert (row["win_rate"], row["threshold"], row["prompt"]) == (0.5, 40.0, "hello")
    assert store.records() == []  # training battles come from strong/weak decisions only
    store.add_feedback("rt-1", rating="bad")
    assert store.nway_records()[0]["rating"] == 0.0
    assert store.purge(0, now=2e10) == 1
    assert store.nway_records() == [] and store._execute("SELECT * FROM routellm_candidates") == []
    store.close()


def test_nway_chat_completions_in_metrics_stats_and_store(mf, data_dir, tmp_path) -> None:
    """Chat completions under a dollar budget through the server and a real upstream:
    /metrics counts them by routed model, /stats by served model, the store marks the
    model that answered."""
    import openai

    from tests.upstream import Upstream

    prompts = drift_prompts(30, data_dir, seed=6)
    with Upstream() as up:
        entries = [{**m, "api_base": up.base_url, "api_key": "sk-n"} for m in models()]
        controller = Controller(
            [mf], "openai/m0", "openai/m2", models=entries, feedback_db=f"sqlite:///{tmp_path}/f.db"
        )
        with BackgroundServer(create_app(controller)) as srv:
            client = openai.OpenAI(base_url=srv.base_url, api_key="unused", max_retries=0)
            served = []
            for prompt in prompts:
                r = client.chat.completions.create(
                    model="router-mf-nway-usd0.6", messages=[{"role": "user", "content": prompt}]
                )
                assert r.choices[0].message.content == f"echo: {prompt}"
                served.append(r.model_extra["routing"]["served_model"])
            metrics = httpx.get(f"{srv.base_url.removesuffix('/v1')}/metrics").text
            stats = httpx.get(f"{srv.base_url.removesuffix('/v1')}/stats").json()
            stored = controller.feedback_store.nway_records()  # the server closes it on exit
    counts = {m: served.count(m) for m in set(served)}
    assert len(counts) >= 2 and stats["served"] == counts and stats["routed"]["mf"] == counts
    for model, n in counts.items():
        line = f'routellm_routed_total{{routed_to="{model}",router="mf"}}'
        assert float(metrics.split(line)[1].split()[0]) == n
    assert "routellm_strong_fraction" not in metrics.split("# TYPE routellm_strong_fraction")[1]
    assert [r["served_to"] for r in stored] == served
