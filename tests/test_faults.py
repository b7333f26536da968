"""The server under faults (issue 11 §3), each injected for real on 127.0.0.1.

A local upstream (`tests.upstream`) fails on demand (500, 429 + Retry-After, 400, hang,
bad JSON, non-OpenAI JSON, a cut stream); clients are raw sockets or httpx. Every test is
bounded in count and time: tens of sockets, delays of about a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from routellm_py.server import BackgroundServer, create_app, served_hosts
from routellm_py.server_guard import listen_backlog, one_line_loop_errors
from tests.test_server import make_controller, user
from tests.upstream import Upstream

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with Upstream(hang_seconds=3, retry_after="7") as u:
        yield u


def serve(up: Upstream, app_kw: dict[str, Any] | None = None, **controller_kw: Any) -> Any:
    """A BackgroundServer around a fresh controller (retries with backoff 0)."""
    controller = make_controller(up, **controller_kw)
    return BackgroundServer(create_app(controller, **(app_kw or {})), header_timeout=1.0)


@pytest.fixture(scope="module")
def server(up: Upstream) -> Iterator[BackgroundServer]:
    with serve(up, num_retries=2, fallback=True, max_retry_after=5.0) as srv:
        yield srv


@pytest.fixture
def post(server: BackgroundServer, up: Upstream) -> Callable[..., httpx.Response]:
    up.clear()

    def send(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = f"{server.base_url}/chat/completions"
        return httpx.post(
            url, content=content, headers=JSON if headers is None else headers, timeout=30
        )

    return send


def stats(srv: BackgroundServer) -> dict[str, Any]:
    return httpx.get(srv.base_url.removesuffix("/v1") + "/stats").json()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def raw_request(port: int, body: bytes, declared: int | None = None) -> socket.socket:
    """A POST sent over a raw socket: `declared` > len(body) leaves the body half-sent."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared or len(body)}\r\n\r\n"
    )
    s.sendall(head.encode() + body)
    return s


def closed_by_server(s: socket.socket) -> bytes:
    """Everything the server sent before closing `s` (raises if it stays open 5 s)."""
    s.settimeout(5)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:  # closed with our unread bytes in its buffer
        pass
    return data


# ---- 1. a client that disconnects cancels its request -----------------------------------
def test_abandoned_requests_make_no_further_upstream_calls(up: Upstream) -> None:
    """20 clients send a request and hang up while the upstream is slow to fail. With 2
    retries and fallback each would cost 6 upstream calls (before: 600 for 100); now the
    one in flight is all."""
    n = 20
    up.clear()
    # each attempt waits for the upstream's slow 500 (no attempt timeout before it), so no
    # retry can start while the 20 requests are still arriving on a loaded machine
    with serve(up, num_retries=2, fallback=True, attempt_timeout=10.0) as srv:
        warm = httpx.post(  # litellm's first call is slow: keep it out of the timing
            f"{srv.base_url}/chat/completions",
            json={"model": "router-random-0.5", "messages": user("hi")},
            timeout=30,
        )
        assert warm.status_code == 200
        up.clear()
        up.fail("500", times=10 * n, delay=4.0)  # every call fails, after 4 s
        body = json.dumps({"model": "router-random-0.5", "messages": user("bye")}).encode()
        sockets = [raw_request(srv.port, body) for _ in range(n)]
        assert wait_for(lambda: len(up.requests) >= n), "the requests never reached upstream"
        assert len(up.requests) == n  # else the machine is too slow for this test's timing
        for s in sockets:
            s.close()
        assert wait_for(lambda: stats(srv)["cancelled"] == n)
        time.sleep(4.5)  # past the upstream's 4 s: a retry or fallback would arrive now
        assert len(up.requests) == n
        assert stats(srv)["failed_attempts"] == {}  # cancelled calls are not failures
    up.clear()


def test_a_reader_that_leaves_a_stream_cancels_it(server: BackgroundServer, up: Upstream) -> None:
    """A streamed answer whose reader disconnects after the first chunk is counted as
    cancelled: neither served nor failed."""
    up.clear()
    before = stats(server)
    up.fail("trickle", delay=0.5)  # one chunk every 0.5 s: 5 words take 3 s
    body = {"model": "router-random-1", "messages": user("a b c d e"), "stream": True}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body) as r:
        first = next(r.iter_lines())
    assert first.startswith("data: {")
    assert wait_for(lambda: stats(server)["cancelled"] == before["cancelled"] + 1, 5)
    after = stats(server)
    assert after["served"] == before["served"] and after["failed"] == before["failed"]


# ---- 2. slow clients do not exhaust the server -----------------------------------------
def test_slow_clients_are_bounded_and_health_stays_up(up: Upstream, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="routellm_py.server")
    up.clear()
    app = create_app(make_controller(up), max_concurrency=4, body_timeout=3.0)
    with BackgroundServer(app, header_timeout=3.0, max_connections=24) as srv:
        root = srv.base_url.removesuffix("/v1")
        accepted = srv.server.server_state.connections
        # 30 connections that never finish their headers (the cap is 24) ...
        headers_only = []
        for i in range(30):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            headers_only.append(s)
            # one at a time, so that the small listen backlog (16) never drops a SYN
            assert wait_for(
                lambda i=i: len(accepted) + app.state.counters["evicted_connections"] > i
            )
        # ... and 4 requests whose body never ends: they hold the 4 request slots
        half_bodies = [raw_request(srv.port, b'{"model": "rou', declared=500) for _ in range(4)]
        assert wait_for(lambda: app.state.counters["evicted_connections"] >= 6)
        assert httpx.get(f"{root}/health", timeout=5).status_code == 200
        busy = httpx.post(
            f"{srv.base_url}/chat/completions",
            json={"model": "router-random-0.5", "messages": user("x")},
            timeout=5,
        )
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["error"]["code"] == "server_busy"
        assert "--max-concurrency 4" in busy.json()["error"]["message"]
        # within the header and body deadlines (3 s each), the server closes every one
        for s in headers_only:
            assert closed_by_server(s) == b""
        for s in half_bodies:
            answer = closed_by_server(s)
            assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout" in answer
        ok = httpx.post(
            f"{srv.base_url}/chat/completions",
            json={"model": "router-random-1", "messages": user("x")},
            timeout=10,
        )
        assert ok.status_code == 200  # the slots are free again
        counters = stats(srv)["server"]
    assert counters["refused_busy"] == 1
    assert counters["evicted_connections"] + counters["header_timeouts"] == 30
    lines = [r for r in caplog.records if r.name == "routellm_py.server"]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)  # one line
    closed = [r for r in lines if "closed" in r.getMessage()]
    assert len(closed) == 30 and len(lines) == 31  # 30 connections, 1 busy refusal


def test_out_of_file_descriptors_is_a_few_lines_not_megabytes(caplog: Any) -> None:
    """Out of file descriptors, asyncio reports a failed accept() once per pending
    connection and retry: 45,394 tracebacks (22.6 MB) in a 600-socket run before."""
    caplog.set_level(logging.WARNING, logger="routellm_py.server")
    loop = asyncio.new_event_loop()
    counters: Counter = Counter()
    one_line_loop_errors(loop, counters, every_s=10.0)
    context = {
        "message": "socket.accept() out of system resource",
        "exception": OSError(24, "Too many open files"),
    }
    for _ in range(1000):
        loop.call_exception_handler(context)
    loop.close()
    assert counters["loop_errors"] == 1000
    [line] = caplog.records
    assert line.exc_info is None and "Too many open files" in line.getMessage()
    assert listen_backlog(512) == 256 and listen_backlog(100_000) == 2048


# ---- 3. browser CSRF and DNS rebinding --------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"content-type": "text/plain"}, 415, "unsupported_media_type"),
        ({"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({}, 415, "unsupported_media_type"),
        ({**JSON, "host": "attacker.example"}, 421, "host_not_allowed"),
        ({**JSON, "host": "attacker.example:6060"}, 421, "host_not_allowed"),
    ],
)
def test_cross_site_requests_are_refused(
    post: Callable[..., httpx.Response], up: Upstream, headers: dict, status: int, code: str
) -> None:
    r = post({"model": "router-random-0.5", "messages": user("buy")}, headers)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert up.requests == []  # nothing billed


def test_host_allow_list(server: BackgroundServer, up: Upstream) -> None:
    root = server.base_url.removesuffix("/v1")
    for host in ("localhost", "localhost:6060", "127.0.0.1:1", "[::1]:6060", "LOCALHOST."):
        assert httpx.get(f"{root}/health", headers={"host": host}).status_code == 200
    r = httpx.get(f"{root}/stats", headers={"host": "rebind.attacker.example"})
    assert r.status_code == 421 and "--allowed-hosts" in r.json()["error"]["message"]
    assert served_hosts("127.0.0.1", None) == ("localhost", "127.0.0.1", "::1", "127.0.0.1")
    assert served_hosts("0.0.0.0", None) is None  # a public bind serves any Host ...
    assert served_hosts("0.0.0.0", ["api.example"]) == ["api.example"]  # ... unless told
    assert served_hosts("127.0.0.1", ["*"]) is None
    app = create_app(make_controller(up), allowed_hosts=["api.example"])
    with BackgroundServer(app) as srv:
        url = srv.base_url.removesuffix("/v1") + "/health"
        assert httpx.get(url, headers={"host": "api.example:443"}).status_code == 200
        assert httpx.get(url).status_code == 421  # 127.0.0.1 is not on this list


# ---- 4. streams validate their first chunk; a broken one is a failure ---------------------
@pytest.mark.parametrize("mode", ["malformed", "nonopenai"])
def test_stream_with_a_bad_first_chunk_is_retried_then_502(
    post: Callable[..., httpx.Response], up: Upstream, mode: str
) -> None:
    body = {"model": "router-random-1", "messages": user("a b"), "stream": True}
    up.fail(mode, times=1)
    r = post(body)
    assert r.status_code == 200 and "echo:" in r.text and r.text.endswith("[DONE]\n\n")
    up.fail(mode, times=6)  # 3 attempts per model, both models: nothing sent, a 502
    r = post(body)
    assert r.status_code == 502 and r.headers["content-type"] == "application/json"
    assert len(r.json()["error"]["routing"]["attempts"]) == 6


def test_broken_stream_is_counted_and_logged_as_failed(
    server: BackgroundServer, post: Callable[..., httpx.Response], up: Upstream, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="routellm_py.server")
    before = stats(server)
    up.fail("midstream")
    r = post({"model": "router-random-1", "messages": user("a b c d"), "stream": True})
    events = [e for e in r.text.split("\n\n") if e]
    assert json.loads(events[-1].removeprefix("data: "))["error"]["type"] == "upstream_error"
    assert "[DONE]" not in r.text
    after = stats(server)
    weak = "openai/weak-m"
    assert after["failed"].get(weak, 0) == before["failed"].get(weak, 0) + 1
    assert after["served"].get(weak, 0) == before["served"].get(weak, 0)  # not served
    lines = [x.getMessage() for x in caplog.records if x.name == "routellm_py.server"]
    assert len(lines) == 1 and "FAILED status=502" in lines[0] and "attempts=2" in lines[0]


# ---- 5. client input never gives 500 nor reaches the upstream ------------------------------
MSG = '"messages": [{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (
            (
                '{"model": "router-random-0.5", '
                + MSG
                + ', "metadata": '
                + '{"a": ' * 70
                + "1"
                + "}" * 71
            ).encode(),
            "nested deeper than 64 levels",
        ),
        (
            b'{"model": "router-random-0.5", "messages": [{"role": "user", "content": "\\ud800"}]}',
            "messages[0].content holds a lone UTF-16 surrogate (\\ud800)",
        ),
        (
            f'{{"model": "router-random-0.5", {MSG}, "temperature": NaN}}'.encode(),
            "NaN is not valid",
        ),
        (f'{{"model": "router-random-0.5", {MSG}, "top_p": -Infinity}}'.encode(), "-Infinity"),
        (
            f'{{"model": "router-random-0.5", {MSG}, "temperature": 1e999}}'.encode(),
            "temperature is inf",
        ),
        (
            f'{{"model": "router-random-0.5", {MSG}, "tools": [{{"type": "mcp", '
            f'"server_url": "http://169.254.169.254"}}]}}'.encode(),
            "tool type 'mcp' is not supported",
        ),
        (
            f'{{"model": "router-random-0.5", {MSG}, "tools": [{{"type": "function"}}]}}'.encode(),
            "tools[0].function.name must be a string",
        ),
        (f'{{"model": "router-random-\\u0661", {MSG}}}'.encode(), "is not a threshold"),
        (b'{"model": "router-random-0.5", "messages": "\xff\xfe"}', "not valid JSON"),
    ],
)
def test_hostile_input_is_a_4xx_naming_the_problem(
    post: Callable[..., httpx.Response], up: Upstream, body: bytes, fragment: str
) -> None:
    r = post(body)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["error"]["message"]
    assert up.requests == []


# ---- 6. retries: Retry-After, client errors, one deadline --------------------------------
def test_retry_after_is_passed_on_and_not_exceeded(
    post: Callable[..., httpx.Response], up: Upstream
) -> None:
    """The upstream asks for 7 s, more than max_retry_after=5: no retry of that model,
    the fallback is rate limited too, and the client is told to wait 7 s."""
    up.fail("429", times=2)
    start = time.monotonic()
    r = post({"model": "router-random-1", "messages": user("x")})
    assert time.monotonic() - start < 3  # neither 7 s wait was taken
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["error"]["type"] == "upstream_error"
    assert len(up.requests) == 2  # weak once, strong once


@pytest.mark.parametrize("code", ["400"])
def test_client_errors_are_neither_retried_nor_fallen_back(
    post: Callable[..., httpx.Response], up: Upstream, code: str
) -> None:
    up.fail(code, times=6)
    r = post({"model": "router-random-1", "messages": user("x")})
    assert r.status_code == 400 and len(up.requests) == 1


def test_timeout_is_one_deadline_for_all_attempts(up: Upstream) -> None:
    """--timeout 1.5 with a hung upstream, 2 retries and fallback: one answer after about
    1.5 s (before: 1.5 s per attempt, 6 attempts)."""
    up.clear()
    up.fail("hang", times=6)
    with serve(up, timeout=1.5, attempt_timeout=None, num_retries=2, fallback=True) as srv:
        start = time.monotonic()
        r = httpx.post(
            f"{srv.base_url}/chat/completions",
            json={"model": "router-random-1", "messages": user("x")},
            timeout=30,
        )
        elapsed = time.monotonic() - start
    assert r.status_code == 504 and 1.4 < elapsed < 4.0  # 4.0: a loaded CI machine
    assert "deadline of 1.5 s reached" in r.json()["error"]["message"]
    up.clear()


# ---- 7. upstream error text stays out of the logs unless --log-prompts --------------------
@pytest.mark.parametrize("log_prompts", [False, True])
def test_upstream_error_text_is_logged_only_with_log_prompts(
    up: Upstream, caplog: Any, log_prompts: bool
) -> None:
    caplog.set_level(logging.INFO)  # every logger: ours, uvicorn's, litellm's
    up.clear()
    up.fail("400")  # its message echoes the prompt, as providers' messages may
    app = create_app(make_controller(up), log_prompts=log_prompts)
    with BackgroundServer(app) as srv:
        r = httpx.post(
            f"{srv.base_url}/chat/completions",
            json={"model": "router-random-1", "messages": user("my bank pin 4321")},
            timeout=30,
        )
    assert r.status_code == 400 and "4321" in r.text  # the client sees its own prompt
    failed = [x.getMessage() for x in caplog.records if "FAILED" in x.getMessage()]
    assert len(failed) == 1 and "errors=BadRequestError" in failed[0]
    assert ("4321" in caplog.text) is log_prompts
