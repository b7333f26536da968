"""The HTTP server, driven over TCP by the official `openai` client and raw httpx.

uvicorn runs on 127.0.0.1 with an OS-picked port in a thread; litellm calls the local
upstream (`tests.upstream`). Nothing on the HTTP path is mocked.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from routellm_py import load_router
from routellm_py.controller import Controller, RoutingError
from routellm_py.routers.base import Router, register
from routellm_py.server import BackgroundServer, create_app
from tests.upstream import Upstream

MAX_BODY = 64 * 1024
LOAD_TEST = Path(__file__).resolve().parents[1] / "benchmarks" / "server_load" / "load_test.py"


def load_test_module() -> Any:
    """benchmarks/ is not a package: load the load-test script by path."""
    spec = importlib.util.spec_from_file_location("server_load_test", LOAD_TEST)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@register("slow-test")
class SlowRouter(Router):
    """A router whose scoring blocks until the test opens `gate` (win rate 0.5)."""

    trainable = False
    gate = threading.Event()
    entered = threading.Event()
    calls: list[list[str]] = []

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        SlowRouter.calls.append(list(prompts))
        SlowRouter.entered.set()
        SlowRouter.gate.wait(20)
        return np.full(len(prompts), 0.5)


def make_controller(
    up: Upstream, timeout: float = 30.0, num_retries: int = 1, **kw: Any
) -> Controller:
    kw.setdefault("attempt_timeout", 1.0)  # a hung upstream leaves time for a retry
    return Controller(
        ["random", "slow-test"],
        {"model": "openai/strong-m", "api_base": up.base_url, "api_key": "sk-strong-secret"},
        {"model": "openai/weak-m", "api_base": up.base_url, "api_key": "sk-weak-secret"},
        timeout=timeout,
        num_retries=num_retries,
        backoff=0.0,
        **kw,
    )


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with Upstream(hang_seconds=6) as u:
        yield u


@pytest.fixture(scope="module")
def server(up: Upstream) -> Iterator[BackgroundServer]:
    controller = make_controller(up)
    with BackgroundServer(create_app(controller, max_body_bytes=MAX_BODY)) as srv:
        srv.controller = controller  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def client(server: BackgroundServer, up: Upstream) -> openai.OpenAI:
    up.clear()
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=30)


def user(text: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_non_streaming(client: openai.OpenAI, up: Upstream) -> None:
    r = client.chat.completions.create(
        model="router-random-1", messages=user("hello there"), temperature=0.5, max_tokens=9
    )
    assert r.choices[0].message.content == "echo: hello there"
    assert r.model == "openai/weak-m"
    routing = r.model_extra["routing"]
    assert routing["router"] == "random" and routing["threshold"] == 1.0
    assert routing["routed_to"] == "weak" and routing["served_model"] == "openai/weak-m"
    sent = up.requests[-1]
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("weak-m", 0.5, 9)


def test_streaming(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="router-random-0", messages=user("one two three"), stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: one two three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.model for c in chunks} == {"openai/strong-m"}
    assert chunks[0].model_extra["routing"]["served_model"] == "openai/strong-m"


@pytest.mark.parametrize(
    ("body", "status", "param", "fragment"),
    [
        (b'{"model": "router-random-0.5", "messages": [', 400, None, "not valid JSON"),
        (b"[1, 2]", 400, None, "must be a JSON object"),
        (b'{"messages": []}', 400, "model", "model is required"),
        (b'{"model": "router-random-0.5"}', 400, "messages", "messages is required"),
        (b'{"model": "router-random-0.5", "messages": []}', 400, "messages", "messages is empty"),
        (
            b'{"model": "router-random-0.5", "messages": [{"role": "user", "content": 42}]}',
            400,
            "messages[0].content",
            "must be a string or a list of content parts, got int",
        ),
        (
            b'{"model": "router-mf-0.5", "messages": [{"role": "user", "content": "x"}]}',
            404,
            "model",
            "unknown router 'mf'",
        ),
        (
            b'{"model": "router-random-1.2", "messages": [{"role": "user", "content": "x"}]}',
            400,
            "model",
            "must be in [0, 1], got '1.2'",
        ),
        (
            b'{"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}',
            400,
            "model",
            "not a router model string",
        ),
        (
            b'{"model": "router-random-0.5", "messages": [{"role": "user", "content": "x"}],'
            b' "api_base": "http://evil.example"}',
            400,
            "api_base",
            "unsupported parameter(s) api_base",
        ),
        (
            b'{"model": "router-random-0.5", "messages": [{"role": "user", "content": "x"}],'
            b' "temperature": "hot"}',
            400,
            "temperature",
            "temperature must be int or float, got str",
        ),
        (
            b'{"model": "router-random-0.5", "messages": [{"role": "user", "content": "x"}],'
            b' "stream": 1}',
            400,
            "stream",
            "stream must be bool",
        ),
    ],
)
def test_bad_input_gets_openai_style_errors(
    server: BackgroundServer, up: Upstream, body: bytes, status: int, param: str, fragment: str
) -> None:
    up.clear()
    r = httpx.post(
        f"{server.base_url}/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert fragment in err["message"]
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"
    assert up.requests == []  # nothing reached the model


def test_oversize_body_is_413_with_or_without_content_length(server: BackgroundServer) -> None:
    big = json.dumps({"model": "router-random-0.5", "messages": user("x" * MAX_BODY)}).encode()
    url = f"{server.base_url}/chat/completions"
    r = httpx.post(url, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = httpx.post(url, content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "exceeds 65536 bytes" in r.json()["error"]["message"]


def test_openai_client_gets_typed_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="router-random-0.5", messages=[])
    assert bad.value.status_code == 400 and bad.value.body["param"] == "messages"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="router-nope-0.5", messages=user("x"))
    assert missing.value.body["code"] == "model_not_found"


@pytest.mark.parametrize(("mode", "status"), [("500", 502), ("malformed", 502), ("hang", 504)])
def test_upstream_failures_are_reported(
    client: openai.OpenAI, up: Upstream, mode: str, status: int
) -> None:
    up.fail(mode, times=2)  # num_retries=1: both attempts fail
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="router-random-1", messages=user("x"))
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == "upstream_error"
    attempts = err.body["routing"]["attempts"]
    assert [(a["model"], a["ok"]) for a in attempts] == [("openai/weak-m", False)] * 2
    assert "sk-weak-secret" not in err.response.text


def test_upstream_failures_are_logged_without_prompts(
    client: openai.OpenAI, up: Upstream, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="routellm_py.server")
    up.fail("500", times=2)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="router-random-1", messages=user("hidden words"))
    failed = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failed) == 1 and "FAILED status=502" in failed[0].getMessage()
    assert "attempts=2" in failed[0].getMessage() and "hidden words" not in caplog.text


def test_broken_stream_ends_with_an_error_event(client: openai.OpenAI, up: Upstream) -> None:
    up.fail("midstream")
    got = []
    stream = client.chat.completions.create(
        model="router-random-1", messages=user("a b c d e"), stream=True
    )
    with pytest.raises(openai.APIError, match="upstream call failed"):
        for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "echo:"  # the part sent before the upstream dropped


def test_unknown_paths_and_methods_are_json(server: BackgroundServer) -> None:
    r = httpx.get(f"{server.base_url}/nothing")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Not Found"
    r = httpx.get(f"{server.base_url}/chat/completions")
    assert r.status_code == 405 and "error" in r.json()


def test_models_health_and_stats(server: BackgroundServer, client: openai.OpenAI) -> None:
    models = client.models.list().data
    assert [m.id for m in models] == ["router-random-0.5", "router-slow-test-0.5"]
    assert models[0].model_extra["routing"]["threshold"] == 0.5
    r = client.chat.completions.create(model=models[0].id, messages=user("listed ids work"))
    assert r.choices[0].message.content == "echo: listed ids work"
    health = httpx.get(server.base_url.removesuffix("/v1") + "/health").json()
    assert health == {"status": "ok", "routers": ["random", "slow-test"]}
    client.chat.completions.create(model="router-random-1", messages=user("count me"))
    stats = httpx.get(server.base_url.removesuffix("/v1") + "/stats").json()
    assert stats["served"]["openai/weak-m"] >= 1


def test_listed_models_are_configurable_and_checked(up: Upstream) -> None:
    app = create_app(make_controller(up), models=["router-random-0.116", "router-random-s0.3"])
    with BackgroundServer(app) as srv:
        data = httpx.get(f"{srv.base_url}/models").json()["data"]
    assert [m["id"] for m in data] == ["router-random-0.116", "router-random-s0.3"]
    assert data[1]["routing"]["strong_fraction"] == 0.3
    with pytest.raises(RoutingError, match="unknown router 'mf'"):
        create_app(make_controller(up), models=["router-mf-0.5"])


def test_route_endpoint_decides_without_calling_a_model(
    server: BackgroundServer, up: Upstream
) -> None:
    up.clear()
    prompts = ["what is 2 + 2?", "prove the Riemann hypothesis", "hi"]
    conversation = [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]
    url = f"{server.base_url}/route"
    r = httpx.post(url, json={"model": "router-random-0.5", "prompts": [*prompts, conversation]})
    assert r.status_code == 200
    out = r.json()
    w = load_router("random").win_rate(prompts)
    assert [d["win_rate"] for d in out["data"]] == [*w, w[2]]  # the conversation: its last user
    assert [d["routed_to"] for d in out["data"]] == [
        "strong" if x >= 0.5 else "weak" for x in [*w, w[2]]
    ]
    assert {d["model"] for d in out["data"]} <= {"openai/strong-m", "openai/weak-m"}
    assert (out["router"], out["threshold"], out["strong_fraction"]) == ("random", 0.5, None)
    one = httpx.post(url, json={"router": "random", "threshold": 0.0, "messages": conversation})
    data = one.json()["data"]
    assert data[0].pop("id").startswith("rt-")  # for POST /v1/feedback
    assert data == [
        {"index": 0, "win_rate": w[2], "routed_to": "strong", "model": "openai/strong-m"}
    ]
    assert up.requests == []  # no LLM call


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            {"model": "router-random-0.5", "prompts": "hello"},
            400,
            "prompts must be a non-empty list",
        ),
        ({"model": "router-random-0.5", "prompts": []}, 400, "prompts must be a non-empty list"),
        ({"model": "router-random-0.5", "prompts": [1]}, 400, "prompts[0] must be a string or"),
        ({"model": "router-random-0.5", "prompts": ["   "]}, 400, "has no text to route on"),
        ({"model": "router-random-0.5", "prompts": ["a"] * 1025}, 400, "at most 1024 per request"),
        ({"model": "router-random-0.5"}, 400, "either prompts (a list) or messages"),
        (
            {"model": "router-random-0.5", "prompts": ["a"], "api_base": "x"},
            400,
            "unsupported field(s) api_base",
        ),
        ({"model": "router-mf-0.5", "prompts": ["a"]}, 404, "unknown router 'mf'"),
        ({"router": "random", "prompts": ["a"]}, 400, "exactly one of threshold / strong_fraction"),
        ({"model": "router-random-1.5", "prompts": ["a"]}, 400, "must be in [0, 1]"),
    ],
)
def test_route_endpoint_errors(
    server: BackgroundServer, body: dict[str, Any], status: int, fragment: str
) -> None:
    r = httpx.post(f"{server.base_url}/route", json=body)
    assert r.status_code == status and fragment in r.json()["error"]["message"]


def test_prometheus_metrics(up: Upstream) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    up.clear()
    with BackgroundServer(create_app(make_controller(up))) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="router-random-1", messages=user("weak"))
        list(
            client.chat.completions.create(model="router-random-0", messages=user("s"), stream=True)
        )
        up.fail("500", times=2)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="router-random-1", messages=user("fails"))
        httpx.post(
            f"{srv.base_url}/route", json={"model": "router-random-0", "prompts": ["a", "b"]}
        )
        r = httpx.get(srv.base_url.removesuffix("/v1") + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    weak, strong = "openai/weak-m", "openai/strong-m"
    assert value("routellm_requests_total", router="random", model=weak, outcome="served") == 3
    assert value("routellm_requests_total", router="random", model=strong, outcome="served") == 1
    assert value("routellm_requests_total", router="random", model=weak, outcome="failed") == 1
    assert value("routellm_routed_total", router="random", routed_to="weak") == 4
    assert value("routellm_strong_fraction", router="random") == 0.2
    assert value("routellm_route_prompts_total", router="random", routed_to="strong") == 2
    assert value("routellm_routing_seconds_count", router="random") == 6  # 5 requests, 1 batch
    assert value("routellm_upstream_seconds_count", model=weak, outcome="error") == 2
    assert value("routellm_upstream_seconds_count", model=weak, outcome="ok") == 3


def test_bearer_token_auth(up: Upstream) -> None:
    with BackgroundServer(create_app(make_controller(up), api_key="tok-123")) as srv:
        root = srv.base_url.removesuffix("/v1")
        assert httpx.get(f"{root}/health").status_code == 200  # health stays open
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "tok-123"}):
            for path in ("/models", "/route", "/stats", "/metrics"):
                url = srv.base_url + path if path in ("/models", "/route") else root + path
                r = httpx.request("POST" if path == "/route" else "GET", url, headers=headers)
                assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=srv.base_url, api_key="wrong", max_retries=0).models.list()
        good = openai.OpenAI(base_url=srv.base_url, api_key="tok-123", max_retries=0)
        r = good.chat.completions.create(model="router-random-1", messages=user("auth ok"))
        assert r.choices[0].message.content == "echo: auth ok"


def test_logs_hold_no_prompts_or_keys(client: openai.OpenAI, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="routellm_py.server")
    client.chat.completions.create(model="router-random-1", messages=user("my secret plan"))
    list(client.chat.completions.create(model="router-random-0", messages=user("x"), stream=True))
    lines = [r.getMessage() for r in caplog.records if r.name == "routellm_py.server"]
    assert any("router=random" in line and "served=openai/weak-m" in line for line in lines)
    assert any("router=random" in line and "served=openai/strong-m" in line for line in lines)
    assert "my secret plan" not in caplog.text and "secret" not in caplog.text


def test_slow_router_blocks_nothing_and_waiting_requests_batch(
    server: BackgroundServer, client: openai.OpenAI
) -> None:
    SlowRouter.gate.clear()
    SlowRouter.entered.clear()
    SlowRouter.calls.clear()
    results: dict[int, str] = {}

    def slow_request(i: int) -> None:
        r = client.chat.completions.create(model="router-slow-test-0.5", messages=user(f"s{i}"))
        results[i] = r.choices[0].message.content

    threads = [threading.Thread(target=slow_request, args=(0,))]
    threads[0].start()
    assert SlowRouter.entered.wait(20), "the slow router was never called"
    # The slow router is busy in a worker thread: the event loop still serves others.
    r = client.chat.completions.create(model="router-random-1", messages=user("fast"))
    assert r.choices[0].message.content == "echo: fast"
    assert SlowRouter.gate.is_set() is False and 0 not in results
    threads += [threading.Thread(target=slow_request, args=(i,)) for i in range(1, 5)]
    for t in threads[1:]:
        t.start()
    stats_url = server.base_url.removesuffix("/v1") + "/stats"
    for _ in range(400):  # bounded wait until the 4 requests are queued behind the busy one
        if httpx.get(stats_url).json()["routing_queue"].get("slow-test") == 4:
            break
        time.sleep(0.05)
    SlowRouter.gate.set()
    for t in threads:
        t.join(20)
    assert results == {i: f"echo: s{i}" for i in range(5)}
    assert [len(c) for c in SlowRouter.calls] == [1, 4]  # the 4 waiting prompts: one batch
    assert sorted(SlowRouter.calls[1]) == ["s1", "s2", "s3", "s4"]


def test_concurrent_load_loses_and_duplicates_nothing(up: Upstream) -> None:
    run_load = load_test_module().run_load
    # no retry may hide a loss
    controller = make_controller(up, timeout=60.0, num_retries=0, attempt_timeout=None)
    with BackgroundServer(create_app(controller)) as srv:
        result = run_load(srv.base_url, "router-random-0.5", n=200, concurrency=32)
        streamed = run_load(srv.base_url, "router-random-0.5", n=64, concurrency=16, stream=True)
    print("\n" + result.summary())
    assert (result.intact, result.lost, result.mismatched, result.duplicated) == (200, 0, 0, 0)
    assert result.errors == {}
    print(streamed.summary())
    assert (streamed.intact, streamed.lost, streamed.duplicated) == (64, 0, 0)


# ---- the `routellm-py serve` command line ------------------------------------------------
def test_serve_cli_reads_flags_and_config(tmp_path: Path) -> None:
    from routellm_py.cli import build_parser
    from routellm_py.cli.serve import controller_kwargs
    from routellm_py.controller import ModelEndpoint

    cfg = tmp_path / "serve.yaml"
    cfg.write_text(
        "routers:\n  random: {seed: 3}\n"
        "strong_model: {model: openai/s, api_base: 'http://127.0.0.1:1/v1', api_key_env: S_KEY}\n"
        "weak_model: openai/w\n"
        "controller: {num_retries: 4, fallback: true}\n"
    )
    args = build_parser().parse_args(
        [
            "serve",
            "--config",
            str(cfg),
            "--weak-api-base",
            "http://127.0.0.1:2/v1",
            "--num-retries",
            "1",
        ]
    )
    assert (args.host, args.port, args.api_key) == ("127.0.0.1", 6060, None)  # loopback default
    c = Controller(**controller_kwargs(args))
    assert list(c.routers) == ["random"] and c.routers["random"].seed == 3
    assert c.strong == ModelEndpoint("openai/s", "http://127.0.0.1:1/v1", None, "S_KEY")
    assert (c.weak.model, c.weak.api_base) == ("openai/w", "http://127.0.0.1:2/v1")
    assert (c.retry.num_retries, c.retry.fallback) == (1, True)  # the flag overrides the file


def test_serve_cli_passes_limits_to_the_server(monkeypatch: Any) -> None:
    import routellm_py.server
    from routellm_py.cli import main

    got: dict[str, Any] = {}
    monkeypatch.setattr(routellm_py.server, "serve", lambda c, **kw: got.update(kw, c=c))
    argv = ["serve", "--routers", "random", "--strong-model", "s", "--weak-model", "w"]
    assert main(argv) == 0
    assert got["allowed_hosts"] is None and got["max_concurrency"] == 128  # defaults
    assert (got["header_timeout"], got["body_timeout"], got["max_connections"]) == (10, 30, None)
    limits = ["--max-concurrency", "8", "--max-connections", "64", "--header-timeout", "2"]
    limits += ["--body-timeout", "3", "--allowed-hosts", "api.example,localhost"]
    limits += ["--timeout", "90", "--attempt-timeout", "30", "--max-retry-after", "5"]
    assert main([*argv, *limits]) == 0
    assert got["allowed_hosts"] == ["api.example", "localhost"]
    assert (got["max_concurrency"], got["max_connections"]) == (8, 64)
    assert (got["header_timeout"], got["body_timeout"]) == (2.0, 3.0)
    c = got["c"]
    assert (c.retry.timeout, c.retry.attempt_timeout, c.retry.max_retry_after) == (90.0, 30.0, 5.0)


@pytest.mark.parametrize(
    ("argv", "config", "message"),
    [
        (["--routers", "random", "--weak-model", "w"], None, "--strong-model is required"),
        (["--strong-model", "s", "--weak-model", "w"], None, "--routers is required"),
        (["--routers", "random"], '{"strong_model": "s", "weak": "w"}', "unknown keys ['weak']"),
        (["--routers", "random"], "{not json", "not valid JSON"),
        (["--routers", "nope", "--strong-model", "s", "--weak-model", "w"], None, "unknown router"),
    ],
)
def test_serve_cli_errors_are_clear(
    tmp_path: Path, capsys: Any, argv: list[str], config: str | None, message: str
) -> None:
    from routellm_py.cli import main

    if config is not None:
        (tmp_path / "c.json").write_text(config)
        argv = [*argv, "--config", str(tmp_path / "c.json")]
    assert main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err


def test_idle_connections_stay_open_longer_than_client_keepalive(server: BackgroundServer) -> None:
    """The server must not close an idle keep-alive connection before the client would
    (httpx: 5 s), else a request sent as it closes is lost (see KEEP_ALIVE_S)."""
    root = server.base_url.removesuffix("/v1")

    def local_port(r: httpx.Response) -> int:
        return r.extensions["network_stream"].get_extra_info("client_addr")[1]

    with httpx.Client(timeout=30, limits=httpx.Limits(keepalive_expiry=60)) as h:
        first = local_port(h.get(f"{root}/health"))
        time.sleep(5.5)  # past uvicorn's default keep-alive of 5 s
        second = h.get(f"{root}/health")
        assert second.status_code == 200 and local_port(second) == first  # same connection
