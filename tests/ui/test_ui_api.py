"""The pages' HTTP side over TCP (no browser): auth, Host checks, the UI JSON endpoints,
and `routellm-py ui` without upstream models."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from routellm_py.calibration import threshold_for_strong_fraction
from routellm_py.cli import build_parser
from routellm_py.metrics import price_per_token
from routellm_py.server import BackgroundServer
from routellm_py.ui.results import load_results
from tests.ui.conftest import KEY, UiServer

AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(ui: UiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui.url, timeout=30) as c:
        yield c


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/bench", "/ui/dashboard", "/ui/static/vendor/uPlot.iife.min.js"]
)
def test_pages_need_no_key_and_load_nothing_from_elsewhere(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff"
    if path.endswith(("/", "bench", "dashboard")):
        assert "http" not in r.text  # every asset is served from this origin
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/"
    # no query or path names another file
    assert client.get("/ui/?page=../app.py").text == client.get("/ui/").text
    assert client.get("/ui/static/../app.py").status_code == 404
    assert client.get("/ui/static/%2e%2e/app.py").status_code == 404


def test_page_data_needs_the_key_and_the_host_check_holds(client: httpx.Client) -> None:
    for path in ("/ui/api/config", "/ui/api/benchmarks"):
        assert client.get(path).status_code == 401
    r = client.post("/ui/api/threshold", json={"win_rates": [0.5], "strong_fraction": 0.5})
    assert r.status_code == 401
    config = client.get("/ui/api/config", headers=AUTH).json()
    assert config["routers"] == ["random", "length"] and config["chat"] is True
    assert config["prices"] == {"openai/strong-m": None, "openai/weak-m": None}
    r = client.get("/ui/", headers={"Host": "attacker.example"})
    assert r.status_code == 421 and "attacker.example" in r.json()["error"]["message"]


def test_threshold_endpoint_is_the_calibration_rule(client: httpx.Client) -> None:
    rates = [0.91, 0.1, 0.5, 0.5, 0.73, 0.2, 0.05, 0.66]
    for f in (0.0, 0.25, 0.5, 1.0):
        r = client.post(
            "/ui/api/threshold", json={"win_rates": rates, "strong_fraction": f}, headers=AUTH
        ).json()
        t = threshold_for_strong_fraction(rates, f)
        assert r["threshold"] == t and r["n"] == len(rates)
        assert r["strong_fraction"] == sum(w >= t for w in rates) / len(rates)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"win_rates": "0.5", "strong_fraction": 0.5}, "win_rates must be a list"),
        ({"win_rates": [], "strong_fraction": 0.5}, "win_rates must be a list"),
        ({"win_rates": [0.2, 1.5], "strong_fraction": 0.5}, "win_rates[1] must be a number"),
        ({"win_rates": [0.2, True], "strong_fraction": 0.5}, "win_rates[1] must be a number"),
        ({"win_rates": [0.2], "strong_fraction": -0.1}, "strong_fraction must be a number"),
        ({"win_rates": [0.2]}, "exactly win_rates and strong_fraction"),
    ],
)
def test_threshold_endpoint_refuses_bad_input(client: httpx.Client, body: dict, says: str) -> None:
    r = client.post("/ui/api/threshold", json=body, headers=AUTH)
    assert r.status_code == 400 and says in r.json()["error"]["message"]


def test_results_loader_skips_tables_nulls_nan_and_names_broken_files(tmp_path: Path) -> None:
    (tmp_path / "overhead.json").write_text('{"rows": []}')
    result = {
        "name": "mine",
        "strong_model": "gpt-4-1106-preview",
        "weak_model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "input_tokens": 100.0,
        "output_tokens": 256.0,
        "random_band": [float("nan"), float("nan")],
        "curves": {"strong_fraction": [0.0, 1.0], "random": [0.5, 0.9]},
        "rows": [],
    }
    (tmp_path / "mine.json").write_text(json.dumps(result))
    [loaded] = load_results(tmp_path)
    assert loaded["random_band"] == [None, None]
    c0, c1 = loaded["cost_per_1k"]
    p_strong, p_weak = (price_per_token(m) for m in (result["strong_model"], result["weak_model"]))
    assert c0 == pytest.approx(1000 * (100 * p_weak[0] + 256 * p_weak[1]))
    assert c1 == pytest.approx(1000 * (100 * p_strong[0] + 256 * p_strong[1]))
    (tmp_path / "zz.json").write_text("{not json")
    with pytest.raises(ValueError, match="zz.json is not a readable results file"):
        load_results(tmp_path)


def ui_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["ui", "--routers", "random,length", *argv])


def test_ui_command_routes_without_models_and_refuses_chat() -> None:
    from routellm_py.cli.ui import build_app

    with (
        BackgroundServer(build_app(ui_args("--results", "nowhere"))) as srv,
        httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=30) as c,
    ):
        config = c.get("/ui/api/config").json()
        assert config["chat"] is False and config["routers"] == ["random", "length"]
        r = c.post("/v1/route", json={"router": "length", "threshold": 0.5, "prompts": ["hi"]})
        assert r.status_code == 200 and r.json()["data"][0]["routed_to"] == "weak"
        body = {"model": "router-length-0.5", "messages": [{"role": "user", "content": "hi"}]}
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "no_upstream_models"
        assert c.get("/ui/api/benchmarks").json() == {"results_dir": "nowhere", "benchmarks": []}
