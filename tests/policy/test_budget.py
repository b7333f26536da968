"""Budgets (`router-<name>-b<fraction>`): the threshold adapts so that the realised strong
fraction holds on drifting real traffic, where a calibrated static threshold does not."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from routellm_py.calibration import threshold_for_strong_fraction
from routellm_py.controller import Controller, RoutingError, parse_model_string
from routellm_py.controller.model_string import RouteSpec
from routellm_py.policy.budget import (
    Budget,
    LocalState,
    adaptive_threshold,
    aimed_fraction,
    fraction_threshold,
)
from routellm_py.policy.drift import drift_prompts, replay, window_fractions
from routellm_py.routers.base import load_router
from routellm_py.server import BackgroundServer, create_app


@pytest.fixture(scope="module")
def drift_win_rates(data_dir) -> np.ndarray:
    """Length-router win rates of the 4,000-prompt MMLU-Pro drift stream (easy, then hard)."""
    return load_router("length").win_rate(drift_prompts(4000, data_dir, seed=0))


def test_model_string_budget() -> None:
    assert parse_model_string("router-mf-b0.3") == RouteSpec("mf", budget=0.3)
    assert parse_model_string("router-bert-large-B0.25") == RouteSpec("bert-large", budget=0.25)
    assert parse_model_string("router-mf-s0.3") == RouteSpec("mf", strong_fraction=0.3)
    with pytest.raises(RoutingError, match=r"budget \(strong fraction\).*must be in \[0, 1\]"):
        parse_model_string("router-mf-b1.5")
    with pytest.raises(RoutingError, match="plain decimal"):
        parse_model_string("router-mf-b1e-3")


def test_threshold_math() -> None:
    w = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert fraction_threshold(w, 0.4) == 0.7  # 2 of 5 strong: 0.9 and 0.7
    assert fraction_threshold(w, 1.0) == 0.1
    assert fraction_threshold(w, 0.0) > 0.9  # none strong
    # 10 decisions, 1 strong, target 0.3: 2 missing -> f* = 0.3 + 2 / 10
    strong = np.array([True] + [False] * 9)
    assert aimed_fraction(0.3, strong, step=10) == pytest.approx(0.5)
    assert aimed_fraction(0.3, np.ones(10, dtype=bool), step=10) == 0.0  # clipped
    assert adaptive_threshold(w, strong[:4], 0.3, step=10) == fraction_threshold(w, 0.3 + 0.2)


def test_budget_holds_under_drift_static_threshold_does_not(drift_win_rates) -> None:
    w = drift_win_rates
    assert w[2000:].mean() - w[:2000].mean() > 0.15  # the traffic does drift
    for target in (0.1, 0.3, 0.5):
        budget = Budget(target)
        fractions = window_fractions(replay(w, budget.decide), window=500, start=200)
        assert len(fractions) == 4000 - 500 - 200 + 1
        assert np.abs(fractions - target).max() <= 0.03, target
        static = threshold_for_strong_fraction(w[:2000], target)
        decisions = replay(w, lambda _, t=static: t)
        assert abs(decisions[:2000].mean() - target) < 0.005  # calibrated on the first half
        second = window_fractions(decisions[2000:], window=500, start=0)
        assert np.abs(second - target).min() > 0.10, target


def test_budget_state_is_the_window(drift_win_rates) -> None:
    state = LocalState(window=50)
    budget = Budget(0.3, state, window=50, step=10)
    replay(drift_win_rates[:120], budget.decide)
    entries = state.recent()
    assert len(entries) == 50
    assert [w for w, _ in entries] == pytest.approx(drift_win_rates[70:120].tolist())
    snap = budget.snapshot()
    assert snap["realised_fraction"] == pytest.approx(sum(s for _, s in entries) / 50)
    assert snap["threshold"] == budget.threshold and snap["state"] == "local"


def test_controller_budget_and_server_stats(drift_win_rates, data_dir) -> None:
    prompts = drift_prompts(1000, data_dir, seed=1)
    controller = Controller(["length"], "strong-m", "weak-m", api_base="http://127.0.0.1:9")
    records = controller.decide(prompts[:600], model="router-length-b0.3")
    assert {r["budget"] for r in records} == {0.3}
    strong = np.array([r["routed_to"] == "strong" for r in records])
    assert abs(strong[100:].mean() - 0.3) <= 0.02
    assert all((r["win_rate"] >= r["threshold"]) == s for r, s in zip(records, strong, strict=True))
    # Fixed thresholds are unchanged by budgets.
    fixed = controller.decide(prompts[:50], model="router-length-0.5")
    assert [r["routed_to"] == "strong" for r in fixed] == [
        w >= 0.5 for w in controller.win_rates(prompts[:50], "length")
    ]
    with BackgroundServer(create_app(controller)) as srv:
        base = f"http://127.0.0.1:{srv.port}"
        body = {"model": "router-length-b0.3", "prompts": prompts[600:1000]}
        r = httpx.post(f"{base}/v1/route", json=body, timeout=30)
        assert r.status_code == 200, r.text
        budget = httpx.get(f"{base}/stats").json()["budgets"]["router-length-b0.3"]
        assert budget["window_requests"] == 500 and budget["target"] == 0.3
        assert abs(budget["realised_fraction"] - 0.3) <= 0.02
        metrics = httpx.get(f"{base}/metrics").text
        line = 'routellm_budget_realised_fraction{budget="router-length-b0.3"}'
        assert float(metrics.split(line)[1].split()[0]) == budget["realised_fraction"]
        assert 'routellm_budget_threshold{budget="router-length-b0.3"} ' in metrics


def test_app_factory_from_env(monkeypatch) -> None:
    from routellm_py._util import SERVE_ARGS_ENV
    from routellm_py.cli.serve import app_factory

    flags = "--routers length --strong-model s-m --weak-model w-m --models router-length-b0.2"
    monkeypatch.setenv(SERVE_ARGS_ENV, flags)
    with BackgroundServer(app_factory()) as srv:
        models = httpx.get(f"http://127.0.0.1:{srv.port}/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["router-length-b0.2"]
    assert models[0]["routing"]["strong_model"] == "s-m"
    assert models[0]["routing"]["budget"] == 0.2


def test_chat_completions_with_a_budget(data_dir) -> None:
    """The async path: concurrent chat completions through the server, one budget."""
    import asyncio

    import openai

    from tests.upstream import Upstream

    prompts = drift_prompts(300, data_dir, seed=4)
    with Upstream() as up:
        controller = Controller(
            ["length"],
            {"model": "openai/strong-m", "api_base": up.base_url, "api_key": "sk-s"},
            {"model": "openai/weak-m", "api_base": up.base_url, "api_key": "sk-w"},
            budget_window=100,
        )
        with BackgroundServer(create_app(controller)) as srv:
            client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="unused", max_retries=0)

            async def ask(prompt: str) -> dict:
                r = await client.chat.completions.create(
                    model="router-length-b0.25", messages=[{"role": "user", "content": prompt}]
                )
                assert r.choices[0].message.content == f"echo: {prompt}"
                return r.model_extra["routing"]

            async def run() -> list[dict]:
                out = []
                for i in range(0, len(prompts), 10):  # 10 in flight at a time
                    out += await asyncio.gather(*(ask(p) for p in prompts[i : i + 10]))
                return out

            records = asyncio.run(run())
            stats = httpx.get(f"http://127.0.0.1:{srv.port}/stats").json()
    strong = [r["routed_to"] == "strong" for r in records]
    assert all(r["budget"] == 0.25 for r in records)
    assert all((r["win_rate"] >= r["threshold"]) == s for r, s in zip(records, strong, strict=True))
    assert {r["served_model"] for r, s in zip(records, strong, strict=True) if s} == {
        "openai/strong-m"
    }
    budget = stats["budgets"]["router-length-b0.25"]
    assert budget["window_requests"] == 100
    assert abs(budget["realised_fraction"] - 0.25) <= 0.03
    assert abs(sum(strong[100:]) / 200 - 0.25) <= 0.03
    assert stats["routed"]["length"]["openai/strong-m"] == sum(strong)
