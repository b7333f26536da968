"""Controller: routing decisions, litellm calls to a real local upstream, retries, fallback.

No mocks on the HTTP path: litellm's openai provider talks to `tests.upstream.Upstream`
over TCP. The random router (untrained, seeded) makes the decisions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from routellm_py import load_router
from routellm_py.controller import (
    Controller,
    ModelEndpoint,
    RoutingError,
    UpstreamError,
    routing_text,
)
from routellm_py.controller.batcher import WinRateBatcher
from routellm_py.controller.calls import AttemptPlan, load_litellm
from routellm_py.routers.base import CheckpointError
from tests.upstream import Upstream

PROMPTS = [f"question number {i}: what is {i} plus {i}?" for i in range(40)]


@pytest.fixture(scope="module")
def ups() -> Iterator[tuple[Upstream, Upstream]]:
    """Two upstreams: one per model, to check per-model api_base."""
    with (
        Upstream(hang_seconds=6, retry_after="0.2") as strong,
        Upstream(hang_seconds=6, retry_after="0.2") as weak,
    ):
        yield strong, weak


@pytest.fixture
def make(ups: tuple[Upstream, Upstream]) -> Iterator[Any]:
    strong_up, weak_up = ups
    strong_up.clear()
    weak_up.clear()
    made: list[Controller] = []

    def factory(**kw: Any) -> Controller:
        kw.setdefault("backoff", 0.0)
        kw.setdefault("timeout", 30.0)  # generous: a loaded CI machine must not time out
        c = Controller(
            ["random"],
            {"model": "openai/strong-m", "api_base": strong_up.base_url, "api_key": "sk-s"},
            ModelEndpoint("openai/weak-m", api_base=weak_up.base_url, api_key="sk-w"),
            **kw,
        )
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def strong_prompt(threshold: float = 0.5) -> str:
    """A prompt the seeded random router sends strong at `threshold`."""
    w = load_router("random").win_rate(PROMPTS)
    return PROMPTS[int(np.argmax(w >= threshold))]


# ---- routing only ----------------------------------------------------------------------------
def test_route_batch_is_win_rate_at_least_threshold(make: Any) -> None:
    c = make()
    w = load_router("random").win_rate(PROMPTS)
    t = float(np.median(w))
    got = c.route_batch(PROMPTS, "random", t)
    expected = ["openai/strong-m" if x >= t else "openai/weak-m" for x in w]
    assert got == expected
    assert got.count("openai/strong-m") == 20  # median of 40 distinct values: half strong
    assert c.route_batch(PROMPTS, "random", 0.0) == ["openai/strong-m"] * 40
    assert c.route(PROMPTS[0], "random", 1.0) == "openai/weak-m"


def test_route_uses_last_user_message(make: Any) -> None:
    c = make()
    conv = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": PROMPTS[0]},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": [{"type": "text", "text": PROMPTS[5]}]},
    ]
    w = load_router("random").win_rate([PROMPTS[5]])[0]
    assert c.win_rates([conv], "random") == [w]
    assert c.route(conv, "random", w) == "openai/strong-m"
    assert c.route(conv, "random", min(1.0, w + 1e-9)) == "openai/weak-m"


def test_window_routing_text_truncates_whole_messages() -> None:
    conv = [
        {"role": "user", "content": "a" * 30},
        {"role": "assistant", "content": "b" * 10},
        {"role": "user", "content": "c" * 5},
    ]
    assert routing_text(conv) == "ccccc"
    full = f"user: {'a' * 30}\n\nassistant: {'b' * 10}\n\nuser: ccccc"
    assert routing_text(conv, "window", max_chars=1000) == full
    # 11 (last) + 2 + 21 (assistant) = 34 chars fit in 40; the oldest message does not.
    assert routing_text(conv, "window", max_chars=40) == f"assistant: {'b' * 10}\n\nuser: ccccc"
    # the last user message alone is over budget: its head is kept
    assert routing_text(conv, "window", max_chars=8) == "user: cc"
    assert routing_text([{"role": "user", "content": "x" * 50}], max_chars=7) == "x" * 7


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "messages is empty"),
        ("hello", "messages must be a list"),
        ([{"role": "user", "content": 5}], "messages[0].content must be a string or a list"),
        ([{"role": "wizard", "content": "x"}], "messages[0].role must be one of"),
        ([{"role": "user"}], "messages[0] has no content"),
        ([{"role": "system", "content": "x"}], "no user message to route on"),
        ([{"role": "user", "content": "   "}], "has no text to route on"),
        ([{"role": "user", "content": [{"text": "x"}]}], "must be an object with a 'type'"),
        (["hi"], "messages[0] must be an object, got str"),
    ],
)
def test_bad_messages_are_clear_errors(make: Any, messages: Any, message: str) -> None:
    c = make()
    with pytest.raises(RoutingError) as info:
        c.chat.completions.create(model="router-random-0.5", messages=messages)
    assert message in str(info.value)


def test_routing_argument_errors(make: Any) -> None:
    c = make()
    with pytest.raises(RoutingError, match="unknown router 'mf'.*routes with: random") as info:
        c.route("hi", "mf", 0.5)
    assert info.value.status == 404 and info.value.code == "model_not_found"
    with pytest.raises(RoutingError, match="threshold must be in"):
        c.route("hi", "random", 1.5)
    with pytest.raises(RoutingError, match="exactly one of threshold / strong_fraction"):
        c.route("hi", "random", 0.5, strong_fraction=0.3)
    with pytest.raises(RoutingError, match="either a router model string or router"):
        c.chat.completions.create(model="router-random-0.5", router="random", messages=user("x"))


def test_a_string_is_not_a_batch_of_prompts(make: Any) -> None:
    """`route_batch("hello")` would route five one-letter prompts; refused like win_rate."""
    c = make()
    for call in (c.route_batch, c.win_rates):
        with pytest.raises(TypeError, match="not one string; wrap it"):
            call("hello", "random", 0.5) if call == c.route_batch else call("hello", "random")
    assert c.route_batch(["hello"], "random", 0.0) == ["openai/strong-m"]
    with pytest.raises(RoutingError, match="threshold must be a number"):
        c.route("hi", "random", "١")  # an Arabic-Indic one is not a threshold


def test_controller_construction_errors(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ROUTELLM_PY_ROUTERS", str(tmp_path / "no-checkpoints"))
    with pytest.raises(KeyError, match="unknown router 'nope'"):
        Controller(["nope"], "a", "b")
    with pytest.raises(CheckpointError, match="needs a trained checkpoint"):
        Controller(["mf"], "a", "b")
    with pytest.raises(ValueError, match="non-empty list of router names"):
        Controller("random", "a", "b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="route_on must be"):
        Controller(["random"], "a", "b", route_on="all")  # type: ignore[arg-type]
    load_router("random", seed=7).save(tmp_path / "ck")
    with pytest.raises(CheckpointError, match=r"with overrides \['colour'\]"):
        Controller(
            ["random"], "a", "b", {"random": {"checkpoint": str(tmp_path / "ck"), "colour": 1}}
        )
    # other keys next to 'checkpoint' override the saved parameters
    c = Controller(
        ["random"], "a", "b", {"random": {"checkpoint": str(tmp_path / "ck"), "seed": 3}}
    )
    assert c.routers["random"].get_params()["seed"] == 3


def test_routers_load_from_checkpoints_with_dashed_names(tmp_path: Any, make: Any) -> None:
    load_router("random", seed=7).save(tmp_path / "ck")
    c = Controller(
        ["my-random"], "openai/s", "openai/w", {"my-random": {"checkpoint": str(tmp_path / "ck")}}
    )
    assert c.routers["my-random"].seed == 7
    w = load_router("random", seed=7).win_rate(["hi"])[0]
    assert c.spec("router-my-random-0.5").router == "my-random"
    assert c.win_rates(["hi"], "my-random") == [w]


def test_strong_fraction_threshold_is_calibrated(
    make: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    from routellm_py.calibration import calibrate

    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path))
    c = make(calibration_prompts=PROMPTS)
    expected = calibrate(load_router("random"), 0.3, PROMPTS)
    assert c.threshold(c.spec("router-random-s0.3")) == expected
    # 30% of the 40 calibration prompts (12) go strong at that threshold
    assert c.route_batch(PROMPTS, "random", strong_fraction=0.3).count("openai/strong-m") == 12


# ---- completions through litellm ----------------------------------------------------------
def test_completion_routes_calls_and_reports(make: Any, ups: tuple[Upstream, Upstream]) -> None:
    events: list[dict[str, Any]] = []
    c = make(on_decision=events.append)
    prompt = strong_prompt(0.5)
    extra = {
        "temperature": 0.25,
        "max_tokens": 7,
        "stop": ["\n"],
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    }
    r = c.chat.completions.create(model="router-random-0.5", messages=user(prompt), **extra)
    assert r.choices[0].message.content == f"echo: {prompt}"
    assert r.model == "openai/strong-m"
    w = load_router("random").win_rate([prompt])[0]
    assert r.routing["win_rate"] == w and r.routing["threshold"] == 0.5
    assert r.routing["routed_to"] == "strong" and r.routing["served_model"] == "openai/strong-m"
    assert [a["ok"] for a in r.routing["attempts"]] == [True]
    strong_up, weak_up = ups
    assert weak_up.requests == []  # per-model api_base: only the strong upstream was called
    sent = strong_up.requests[0]
    assert sent["model"] == "strong-m"
    assert {k: sent[k] for k in extra} == extra  # pass-through kwargs arrive unchanged
    assert events[0]["event"] == "completion" and events[0]["served_model"] == "openai/strong-m"
    # threshold 1.0: weak, to the weak upstream
    r = c.chat.completions.create(model="router-random-1", messages=user(prompt))
    assert r.model == "openai/weak-m" and weak_up.models_called() == ["weak-m"]
    assert c.stats()["routed"] == {"random": {"openai/strong-m": 1, "openai/weak-m": 1}}
    assert c.stats()["served"] == {"openai/strong-m": 1, "openai/weak-m": 1}


def test_shared_api_base_is_the_default(ups: tuple[Upstream, Upstream]) -> None:
    strong_up, weak_up = ups
    weak_up.clear()
    c = Controller(
        ["random"],
        {"model": "openai/s", "api_base": strong_up.base_url},
        "openai/w",
        api_base=weak_up.base_url,
        api_key="sk-shared",
    )
    assert c.weak.api_base == weak_up.base_url and c.strong.api_base == strong_up.base_url
    r = c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert r.model == "openai/w" and weak_up.models_called() == ["w"]


def test_sync_and_async_streaming(make: Any) -> None:
    c = make()
    prompt = "one two three"
    stream = c.chat.completions.create(model="router-random-1", messages=user(prompt), stream=True)
    assert stream.routing["routed_to"] == "weak"  # known before the first chunk is read
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text == f"echo: {prompt}"
    assert chunks[0].routing["served_model"] == "openai/weak-m"
    assert {ch.model for ch in chunks} == {"openai/weak-m"}

    async def consume() -> str:
        stream = await c.chat.completions.acreate(
            model="router-random-0", messages=user(prompt), stream=True
        )
        return "".join([ch.choices[0].delta.content or "" async for ch in stream])

    assert asyncio.run(consume()) == f"echo: {prompt}"
    assert c.stats()["served"] == {"openai/weak-m": 1, "openai/strong-m": 1}


@pytest.mark.parametrize("mode", ["500", "429", "malformed", "hang"])
def test_transient_failures_are_retried_and_reported(
    make: Any, ups: tuple[Upstream, Upstream], mode: str
) -> None:
    c = make(num_retries=2, attempt_timeout=2.0 if mode == "hang" else None)
    ups[1].fail(mode, times=2)
    r = c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert r.choices[0].message.content == "echo: hi"
    attempts = r.routing["attempts"]
    assert [a["ok"] for a in attempts] == [False, False, True]
    assert {a["model"] for a in attempts} == {"openai/weak-m"}
    expected_status = {"500": 500, "429": 429, "malformed": 500, "hang": 408}[mode]
    assert attempts[0]["status_code"] == expected_status
    assert c.stats()["failed_attempts"] == {"openai/weak-m": 2}
    assert len(ups[1].requests) == 3  # no hidden SDK retries: 3 attempts, 3 requests


def test_client_errors_are_not_retried(make: Any, ups: tuple[Upstream, Upstream]) -> None:
    c = make(num_retries=3)
    ups[1].fail("400", times=1)
    with pytest.raises(UpstreamError, match="after 1 attempt") as info:
        c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert info.value.status == 400
    assert info.value.routing["served_model"] is None


def test_fallback_to_the_other_model(make: Any, ups: tuple[Upstream, Upstream]) -> None:
    events: list[dict[str, Any]] = []
    c = make(num_retries=1, fallback=True, on_decision=events.append)
    ups[1].fail("500", times=2, model="weak-m")
    r = c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert r.model == "openai/strong-m"
    assert r.routing["routed_model"] == "openai/weak-m" and r.routing["fallback_used"] is True
    assert [(a["model"], a["ok"]) for a in r.routing["attempts"]] == [
        ("openai/weak-m", False),
        ("openai/weak-m", False),
        ("openai/strong-m", True),
    ]
    assert events[-1]["fallback_used"] is True


def test_total_failure_raises_with_every_attempt(make: Any, ups: tuple[Upstream, Upstream]) -> None:
    events: list[dict[str, Any]] = []
    c = make(num_retries=1, attempt_timeout=1.0, on_decision=events.append)
    ups[1].fail("hang", times=2)
    with pytest.raises(UpstreamError, match="after 2 attempt") as info:
        c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert info.value.status == 504
    assert [a["error"] for a in info.value.routing["attempts"]] == ["Timeout", "Timeout"]
    assert events[-1]["event"] == "error" and events[-1]["served_model"] is None


def test_broken_stream_raises_after_partial_output(
    make: Any, ups: tuple[Upstream, Upstream]
) -> None:
    c = make()
    ups[1].fail("midstream")

    async def consume() -> list[str]:
        got: list[str] = []
        stream = await c.chat.completions.acreate(
            model="router-random-1", messages=user("a b c d"), stream=True
        )
        async for ch in stream:
            got.append(ch.choices[0].delta.content or "")
        return got

    with pytest.raises(UpstreamError) as info:
        asyncio.run(consume())
    last = info.value.routing["attempts"][-1]
    assert last["mid_stream"] is True and last["ok"] is False


@pytest.mark.parametrize("mode", ["malformed", "nonopenai"])
def test_a_stream_that_is_not_openai_is_retried_before_any_chunk(
    make: Any, ups: tuple[Upstream, Upstream], mode: str
) -> None:
    """litellm turns a 200 non-SSE body into one empty final chunk; it must count as a
    failed attempt (retried, then fallen back), not as an empty answer."""
    c = make(num_retries=1, fallback=True)
    ups[1].fail(mode, times=2, model="weak-m")
    stream = c.chat.completions.create(model="router-random-1", messages=user("a b"), stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in stream) == "echo: a b"
    attempts = stream.routing["attempts"]
    assert [(a["model"], a["ok"]) for a in attempts] == [
        ("openai/weak-m", False),
        ("openai/weak-m", False),
        ("openai/strong-m", True),
    ]
    assert c.stats()["served"] == {"openai/strong-m": 1}


def test_a_broken_stream_counts_as_failed_not_served(
    make: Any, ups: tuple[Upstream, Upstream]
) -> None:
    c = make()
    ups[1].fail("midstream")
    stream = c.chat.completions.create(model="router-random-1", messages=user("a b c"), stream=True)
    with pytest.raises(UpstreamError, match="after 2 attempt"):
        list(stream)
    stats = c.stats()
    assert (stats["served"], stats["failed"]) == ({}, {"openai/weak-m": 1})
    # a reader that stops early: cancelled, neither served nor failed
    stream = c.chat.completions.create(model="router-random-1", messages=user("a b c"), stream=True)
    next(iter(stream))
    stream.chunks.close()  # type: ignore[attr-defined]
    assert c.stats()["cancelled"] == 1 and c.stats()["served"] == {}


def test_one_deadline_for_the_whole_request(make: Any, ups: tuple[Upstream, Upstream]) -> None:
    """`timeout` bounds all attempts together: a hung upstream is not waited for once per
    retry and again for the fallback (before: up to (retries + 1) * 2 * timeout)."""
    c = make(timeout=1.0, num_retries=3, fallback=True)
    ups[1].fail("hang", times=4)
    start = time.monotonic()
    with pytest.raises(UpstreamError, match="deadline of 1 s reached") as info:
        c.chat.completions.create(model="router-random-1", messages=user("hi"))
    assert time.monotonic() - start < 1.8
    assert info.value.status == 504 and len(info.value.routing["attempts"]) == 1


def test_responses_are_copies_litellm_logging_never_sees_mutated(make: Any) -> None:
    """litellm serialises the response it returned in its logging thread; tagging that
    same object (model, routing) raced with it ("dictionary changed size during
    iteration" in pydantic-core). The Controller returns a tagged copy instead."""
    from litellm.integrations.custom_logger import CustomLogger

    litellm = load_litellm()
    seen: list[Any] = []
    logged = threading.Event()

    class Spy(CustomLogger):  # type: ignore[misc]
        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            seen.append(response_obj)
            logged.set()

    spy = Spy()
    litellm.callbacks.append(spy)
    try:
        c = make()
        r = c.chat.completions.create(model="router-random-1", messages=user("hi"))
        assert logged.wait(10)
    finally:
        litellm.callbacks.remove(spy)
    assert r.model == "openai/weak-m" and r.routing["served_model"] == "openai/weak-m"
    assert seen[0] is not r
    assert seen[0].model == "weak-m" and "routing" not in (seen[0].model_extra or {})


def make_plan(**kw: Any) -> AttemptPlan:
    """Attempts at model 'a' with 'b' as the other model; `kw` overrides the policy."""
    policy = {"num_retries": 0, "backoff": 1.0, "max_backoff": 3.0, "fallback": False, **kw}
    return AttemptPlan(ModelEndpoint("a"), ModelEndpoint("b"), {"routed_model": "a"}, **policy)


def test_error_messages_hide_api_keys() -> None:
    plan = make_plan(secrets=("sk-secret-123",))
    list(plan)
    plan.failed(ModelEndpoint("a"), RuntimeError("bad key sk-secret-123 \x1b[31mred\x1b[0m"))
    assert plan.routing["attempts"][0]["message"] == "bad key *** red"
    assert "sk-secret-123" not in str(plan.error())


def provider_error(status: int, headers: dict[str, str] | None = None) -> Exception:
    """An exception shaped like litellm's: `status_code` and the response headers."""
    err = type(f"Status{status}", (Exception,), {"status_code": status})()
    err.litellm_response_headers = headers  # type: ignore[attr-defined]
    return err


def run_plan(plan: AttemptPlan, errors: list[Exception]) -> list[tuple[str, float]]:
    """Fail the attempts of `plan` with `errors` in turn; (model, delay) of each attempt."""
    got = []
    for attempt, err in zip(plan, errors, strict=False):
        got.append((attempt.endpoint.model, attempt.delay))
        plan.failed(attempt.endpoint, err)
    return got


def test_backoff_is_exponential_and_capped() -> None:
    plan = make_plan(num_retries=4, fallback=True)
    bug = [RuntimeError("x")] * 3  # no status: not retried, but the other model may work
    assert run_plan(plan, bug) == [("a", 0.0), ("b", 0.0)]
    delays = [d for _, d in run_plan(make_plan(num_retries=4), [provider_error(503)] * 5)]
    # nominal 0, 1, 2, 4 -> cap 3, 3 ; jitter scales each by [0.5, 1]
    for got, nominal in zip(delays, [0, 1, 2, 3, 3], strict=True):
        assert nominal * 0.5 <= got <= nominal


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_end_the_plan(status: int) -> None:
    """The other model would refuse the same request: neither retried nor fallen back."""
    plan = make_plan(num_retries=3, fallback=True)
    assert run_plan(plan, [provider_error(status)] * 4) == [("a", 0.0)]
    assert plan.error().status == (400 if status in (400, 422) else 502)


@pytest.mark.parametrize(
    ("headers", "delay"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"Retry-After": "Fri, 01 Jan 1999 00:00:00 GMT"}, 0.0),  # a date in the past
    ],
)
def test_retry_after_is_honoured(headers: dict[str, str], delay: float) -> None:
    plan = make_plan(num_retries=1)
    got = run_plan(plan, [provider_error(429, headers)] * 2)
    assert got == [("a", 0.0), ("a", delay)]
    error = plan.error()
    assert (error.status, error.retry_after) == (429, delay)


def test_retry_after_beyond_the_cap_falls_back_at_once() -> None:
    plan = make_plan(num_retries=3, fallback=True, max_retry_after=10.0)
    got = run_plan(plan, [provider_error(429, {"Retry-After": "60"})] * 2)
    assert got == [("a", 0.0), ("b", 0.0)]  # no 60 s wait, no retry of a
    assert plan.error().retry_after == 60.0


def test_one_deadline_bounds_every_attempt_and_wait() -> None:
    plan = make_plan(num_retries=5, backoff=0.2, max_backoff=0.2, deadline_s=0.5)
    start = time.monotonic()
    timeouts = []
    for attempt in plan:
        assert attempt.timeout <= 0.5 - (time.monotonic() - start) - attempt.delay + 1e-3
        timeouts.append(attempt.timeout)
        time.sleep(attempt.delay + 0.1)  # a call that fails after 0.1 s
        plan.failed(attempt.endpoint, provider_error(503))
    assert 2 <= len(timeouts) < 6 and time.monotonic() - start < 0.6
    assert plan.routing["deadline_exceeded"] is True
    assert "deadline of 0.5 s reached" in str(plan.error())
    capped = make_plan(deadline_s=100.0, attempt_timeout=2.0)
    assert [a.timeout for a in capped] == [2.0]


# ---- batching -------------------------------------------------------------------------------
def test_batcher_groups_requests_that_arrive_while_busy() -> None:
    from concurrent.futures import ThreadPoolExecutor

    calls: list[list[str]] = []
    entered, release = threading.Event(), threading.Event()

    def score(prompts: list[str]) -> np.ndarray:
        calls.append(list(prompts))
        entered.set()
        release.wait(10)
        return np.array([len(p) / 10 for p in prompts])

    async def main() -> list[float]:
        with ThreadPoolExecutor(2) as pool:
            b = WinRateBatcher(score, pool, max_batch=3)
            first = asyncio.ensure_future(b.win_rate("p"))
            await asyncio.to_thread(entered.wait, 10)
            rest = [asyncio.ensure_future(b.win_rate("q" * i)) for i in range(1, 6)]
            await asyncio.sleep(0)
            assert len(b.pending) == 5
            release.set()
            return await asyncio.gather(first, *rest)

    assert asyncio.run(main()) == [0.1, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert calls == [["p"], ["q", "qq", "qqq"], ["qqqq", "qqqqq"]]  # max_batch=3


def test_batcher_gives_every_waiter_the_router_error() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def score(prompts: list[str]) -> np.ndarray:
        raise RuntimeError("router broke")

    async def main() -> list[Any]:
        with ThreadPoolExecutor(1) as pool:
            b = WinRateBatcher(score, pool)
            return await asyncio.gather(b.win_rate("a"), b.win_rate("b"), return_exceptions=True)

    assert [str(e) for e in asyncio.run(main())] == ["router broke", "router broke"]


def test_batcher_scores_only_cheap_routers_inline_after_warmup() -> None:
    from concurrent.futures import ThreadPoolExecutor

    on_loop: list[bool] = []

    def cheap(prompts: list[str]) -> np.ndarray:
        on_loop.append(threading.current_thread() is threading.main_thread())
        return np.zeros(len(prompts))

    def slow(prompts: list[str]) -> np.ndarray:
        time.sleep(0.005)
        return cheap(prompts)

    async def main(score: Any) -> WinRateBatcher:
        with ThreadPoolExecutor(1) as pool:
            b = WinRateBatcher(score, pool, inline_budget_s=0.002, warmup=2)
            for i in range(4):
                assert await b.win_rate(f"p{i}") == 0.0
            return b

    assert asyncio.run(main(cheap)).n_inline == 2
    assert on_loop == [False, False, True, True]  # 2 warm-up batches in a thread, then inline
    on_loop.clear()
    assert asyncio.run(main(slow)).n_inline == 0
    assert on_loop == [False] * 4  # 5 ms per prompt > 2 ms budget: always off the loop


def test_async_completions_batch_routing(make: Any) -> None:
    c = make()

    async def main() -> list[Any]:
        return await asyncio.gather(
            *[
                c.chat.completions.acreate(model="router-random-0.5", messages=user(p))
                for p in PROMPTS[:12]
            ]
        )

    results = asyncio.run(main())
    assert [r.choices[0].message.content for r in results] == [f"echo: {p}" for p in PROMPTS[:12]]
    batches = c.stats()["routing_batches"]["random"]
    assert batches == {"batches": 1, "prompts": 12}  # all 12 queued before the first scoring


def test_failed_calibration_is_a_clear_error(make: Any, tmp_path: Any) -> None:
    c = make(data_dir=tmp_path / "no-data")
    with pytest.raises(RoutingError, match="cannot calibrate router 'random' for strong") as info:
        c.route("hi", "random", strong_fraction=0.3)
    assert (info.value.status, info.value.code) == (500, "calibration_failed")


def test_endpoint_keys_from_the_environment(monkeypatch: Any) -> None:
    ep = ModelEndpoint("openai/m", api_base="http://127.0.0.1:1/v1", api_key_env="MY_KEY")
    monkeypatch.delenv("MY_KEY", raising=False)
    assert ep.secret() is None
    with pytest.raises(ValueError, match="environment variable MY_KEY"):
        ep.call_kwargs()
    monkeypatch.setenv("MY_KEY", "sk-env")
    assert ep.call_kwargs() == {
        "model": "openai/m",
        "api_base": "http://127.0.0.1:1/v1",
        "api_key": "sk-env",
    }
    assert "sk-env" not in repr(ep) and ep.with_defaults(None, "sk-shared").api_key is None
    with pytest.raises(ValueError, match="needs 'model'"):
        ModelEndpoint.coerce({"api_base": "x"})
