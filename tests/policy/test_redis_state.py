"""Budgets shared through a real Redis: two server workers hold one target together; an
outage of Redis leaves routing on local state (logged once, bounded delay) and resyncs.

Needs `redis-server` (Redis at $ROUTELLM_PY_REDIS, default redis://127.0.0.1:6379/0, for
the workers; its own server on a free port for the outage). Without them the tests skip,
saying why, unless ROUTELLM_PY_REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import httpx
import numpy as np
import pytest

from routellm_py.controller.counters import RedisCounters, summarise
from routellm_py.policy.budget import Budget
from routellm_py.policy.drift import drift_prompts, window_fractions
from routellm_py.policy.redis_state import RedisState, redis_client, redis_state_factory
from routellm_py.routers.base import load_router
from tests.upstream import Upstream

REDIS_URL = os.environ.get("ROUTELLM_PY_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE = os.environ.get("ROUTELLM_PY_REQUIRE_SERVICES") == "1"
redis = pytest.importorskip("redis") if not REQUIRE else __import__("redis")


def unavailable(reason: str) -> None:
    """Skip with the reason, or fail when services are required."""
    if REQUIRE:
        pytest.fail(f"{reason} (ROUTELLM_PY_REQUIRE_SERVICES=1)")
    print(f"SKIP: {reason}")
    pytest.skip(reason)


@pytest.fixture
def shared_redis():
    """A client of the Redis at REDIS_URL and a fresh key prefix, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        unavailable(f"no Redis at {REDIS_URL} ({e}); start redis-server or set ROUTELLM_PY_REDIS")
    prefix = f"routellm-test:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (Debian package redis-server)")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"redis-server on port {port} did not start")


def test_two_workers_share_one_budget_and_their_stats(shared_redis, data_dir, tmp_path) -> None:
    client, prefix = shared_redis
    port = free_port()
    up = Upstream().start()
    env = {
        **os.environ,
        "ROUTELLM_PY_DATA": str(data_dir),
        "ROUTELLM_PY_BUDGET_PREFIX": prefix,
        "OPENAI_API_KEY": "sk-test",
    }
    cmd = [sys.executable, "-m", "routellm_py.cli", "serve", "--routers", "length"]
    cmd += ["--strong-model", "openai/strong-m", "--weak-model", "openai/weak-m"]
    cmd += ["--api-base", up.base_url, "--port", str(port)]
    cmd += ["--workers", "2", "--state", REDIS_URL, "--log-level", "warning"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        pids = set()
        deadline = time.monotonic() + 120
        while len(pids) < 2:  # both workers up and answering (a new connection each time)
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "two workers did not answer within 120 s"
            try:
                pids.add(httpx.get(f"{base}/stats", timeout=5).json()["pid"])
            except httpx.TransportError:
                time.sleep(0.2)
        prompts = drift_prompts(2000, data_dir, seed=2)
        strong: list[bool] = []
        served_by = set()
        for i in range(0, len(prompts), 20):  # sequential: the send order is the decision order
            body = {"model": "router-length-b0.3", "prompts": prompts[i : i + 20]}
            r = httpx.post(f"{base}/v1/route", json=body, timeout=30)
            assert r.status_code == 200, r.text
            strong += [d["routed_to"] == "strong" for d in r.json()["data"]]
            served_by.add(httpx.get(f"{base}/stats", timeout=5).json()["pid"])
        assert served_by == pids  # both workers routed
        fractions = window_fractions(strong, window=500, start=200)
        assert np.abs(fractions - 0.3).max() <= 0.03
        counts = client.hgetall(f"{prefix}length:0.3:counts")
        assert int(counts[b"decisions"]) == 2000
        assert int(counts[b"strong"]) == sum(strong)
        stats = httpx.get(f"{base}/stats", timeout=5).json()["budgets"]["router-length-b0.3"]
        assert stats["state"] == "redis" and stats["redis_ok"]
        assert stats["shared_counts"] == {"decisions": 2000, "strong": sum(strong)}
        # Chat completions on new connections, then /stats of each worker: both show all.
        routed = []
        for prompt in prompts[:40]:
            body = {"model": "router-length-0.5", "messages": [{"role": "user", "content": prompt}]}
            r = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)
            assert r.status_code == 200, r.text
            routed.append(r.json()["routing"]["served_model"])
        expected = {m: routed.count(m) for m in set(routed)}
        seen, deadline = {}, time.monotonic() + 60
        while set(seen) != pids:
            assert time.monotonic() < deadline, "a worker did not answer /stats"
            stats = httpx.get(f"{base}/stats", timeout=5).json()
            seen[stats["pid"]] = stats
        for stats in seen.values():
            assert stats["counters"]["state"] == "redis" and stats["served"] == expected
            assert stats["routed"]["length"] == expected
            assert sum(stats["routed_fraction"]["length"].values()) == pytest.approx(1.0)
    finally:
        server.terminate()
        server.wait(20)
        log.close()
        up.stop()


def test_redis_outage_routes_locally_logs_once_and_resyncs(data_dir, caplog) -> None:
    port = free_port()
    proc = start_redis(port)
    timeout = 0.05
    url = f"redis://127.0.0.1:{port}/0"
    state = redis_state_factory(url, timeout=timeout, retry_s=0.2)("outage", 500)
    assert isinstance(state, RedisState)
    budget = Budget(0.3, state)
    w = load_router("length").win_rate(drift_prompts(1500, data_dir, seed=3))
    caplog.set_level(logging.WARNING, logger="routellm_py.policy")
    try:
        slowest = 0.0
        decisions = []
        for i, x in enumerate(w):
            if i == 500:
                proc.kill()
                proc.wait()
            if i == 1000:
                proc = start_redis(port)
                time.sleep(0.2)  # the retry interval: the next decision reconnects
            start = time.perf_counter()
            decisions.append(x >= budget.decide(float(x)))
            slowest = max(slowest, time.perf_counter() - start)
            if 500 <= i < 1000:
                assert not state.describe()["redis_ok"]
        down = [r for r in caplog.records if "unreachable" in r.getMessage()]
        back = [r for r in caplog.records if "is back" in r.getMessage()]
        assert len(down) == 1 and len(back) == 1  # logged once per outage
        assert "500 local decisions resynced" in back[0].getMessage()
        assert slowest < timeout + 0.25  # a refused connection fails fast (+ CPU slack)
        fractions = window_fractions(decisions, window=500, start=200)
        assert np.abs(fractions - 0.3).max() <= 0.03  # routing held through the outage
        fresh = redis.Redis(port=port)
        # The restarted Redis (no persistence) holds the outage's decisions and what followed.
        assert int(fresh.hget("routellm:budget:outage:counts", "decisions")) == 1000
        assert fresh.llen("routellm:budget:outage") == 500
        assert state.describe()["redis_ok"] and state.outages == 1
    finally:
        proc.kill()
        proc.wait()


def test_a_silent_redis_costs_one_timeout_then_nothing(caplog) -> None:
    """A Redis that accepts connections but never answers (a hung host): the first call
    waits the timeout, later ones do not wait at all until the retry interval."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: connects succeed, reads hang
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        timeout = 0.2
        budget = Budget(0.3, redis_state_factory(url, timeout=timeout, retry_s=60)("silent", 500))
        caplog.set_level(logging.WARNING, logger="routellm_py.policy")
        times = []
        for w in np.linspace(0.0, 1.0, 200):
            start = time.perf_counter()
            budget.decide(float(w))
            times.append(time.perf_counter() - start)
    assert timeout <= times[0] < timeout + 0.3
    assert max(times[1:]) < 0.05  # on local state, no further waits
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
    assert budget.state.describe()["redis_ok"] is False


def test_counters_are_shared_through_redis(shared_redis) -> None:
    """Two processes' counters (two clients, one prefix) add up in either one's snapshot."""
    client, prefix = shared_redis
    a, b = (RedisCounters(redis_client(REDIS_URL, timeout=1.0), prefix) for _ in range(2))
    for _ in range(3):
        a.incr("served", "openai/strong-m")
    b.incr("served", "openai/strong-m")
    b.incr("routed:mf", "openai/weak-m", 2)
    b.incr("cancelled", "")
    expected = {
        "served": {"openai/strong-m": 4},
        "routed:mf": {"openai/weak-m": 2},
        "cancelled": {"": 1},
    }
    assert a.snapshot() == b.snapshot() == expected
    assert summarise(a.snapshot())["routed_fraction"] == {"mf": {"openai/weak-m": 1.0}}
    assert int(client.hget(f"{prefix}stats:served", "openai/strong-m")) == 4
    assert a.describe() == {"state": "redis", "redis_ok": True, "redis_outages": 0}


def test_counters_survive_an_outage_and_resync(caplog) -> None:
    port = free_port()
    proc = start_redis(port)
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=0.05)
    counters = RedisCounters(client, prefix="", retry_s=0.2)
    caplog.set_level(logging.WARNING, logger="routellm_py.policy")
    try:
        for _ in range(5):
            counters.incr("served", "m")
        proc.kill()
        proc.wait()
        for _ in range(7):  # Redis is gone: counted here, logged once
            counters.incr("served", "m")
            counters.incr("failed", "m")
        assert counters.snapshot() == {"served": {"m": 12}, "failed": {"m": 7}}
        assert not counters.describe()["redis_ok"]
        proc = start_redis(port)  # empty: no persistence
        time.sleep(0.25)  # the retry interval
        assert counters.snapshot() == {"served": {"m": 7}, "failed": {"m": 7}}  # resynced
        assert counters.describe() == {"state": "redis", "redis_ok": True, "redis_outages": 1}
        fresh = redis.Redis(port=port)
        assert int(fresh.hget("stats:failed", "m")) == 7
        down = [r for r in caplog.records if "unreachable" in r.getMessage()]
        back = [r for r in caplog.records if "is back" in r.getMessage()]
        assert len(down) == 1 and "counters" in down[0].getMessage()
        assert len(back) == 1 and "14 local counts resynced" in back[0].getMessage()
    finally:
        proc.kill()
        proc.wait()
