"""The feedback loop end to end on SQLite and a real PostgreSQL server: decisions carry ids,
feedback is stored once per decision with clear errors, prompts only when enabled,
retention deletes old records, and the stored outcomes become training battles."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from routellm_py.controller import Controller
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.sources import load_sources
from routellm_py.feedback import FeedbackError, FeedbackStore
from routellm_py.feedback.battles import feedback_battles
from routellm_py.routers.base import load_router
from routellm_py.server import BackgroundServer, create_app
from tests.upstream import Upstream

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    return request.getfixturevalue("postgres_url")


def controller(url: str | None, store_prompts: bool = True, **kw: Any) -> Controller:
    return Controller(
        ["random"], "openai/strong-m", "openai/weak-m", feedback_db=url,
        store_prompts=store_prompts, **kw,
    )  # fmt: skip


def test_feedback_loop_end_to_end(db_url: str) -> None:
    prompts = ["what is 2 + 2?", "prove Fermat's last theorem", "hi", "name a colour", "x"]
    with controller(db_url) as c:
        # threshold 0 routes strong, 1 routes weak (random win rates are < 1)
        records = c.decide(prompts[:2], "random", 0.0) + c.decide(prompts[2:], "random", 1.0)
        assert [r["routed_to"] for r in records] == ["strong"] * 2 + ["weak"] * 3
        ids = [r["id"] for r in records]
        assert len(set(ids)) == 5 and all(i.startswith("rt-") for i in ids)
        assert c.feedback(ids[0], rating="good") == {
            "id": ids[0], "kind": "rating", "rating": 1.0, "preference": None
        }  # fmt: skip
        c.feedback(ids[1], rating=0.25)
        c.feedback(ids[2], preference="strong")
        c.feedback(ids[3], rating="bad")
        with pytest.raises(FeedbackError, match="already has feedback") as e:
            c.feedback(ids[0], preference="weak")
        assert e.value.status == 409
        with pytest.raises(FeedbackError, match="unknown routing id 'rt-nope'") as e:
            c.feedback("rt-nope", rating="bad")
        assert e.value.status == 404
        rows = {r["id"]: r for r in c.feedback_store.records()}
    assert set(rows) == set(ids)
    rates = load_router("random").win_rate(prompts)
    for r, rec, w, p in zip([rows[i] for i in ids], records, rates, prompts, strict=True):
        assert r["prompt"] == p and r["win_rate"] == pytest.approx(w)
        assert (r["routed_to"], r["routed_model"]) == (rec["routed_to"], rec["routed_model"])
        assert (r["strong_model"], r["weak_model"]) == (DEFAULT_STRONG, DEFAULT_WEAK)
    assert rows[ids[4]]["kind"] is None
    # the rule: mean ratings pi_strong = (1 + .25) / 2 = .625, pi_weak = 0;
    # strong rated r: w + (r - .625) / 2; weak rated r: w - (r - 0) / 2; clipped to [0, 1]
    battles = feedback_battles(list(rows.values())).frame.set_index("prompt")
    assert len(battles) == 4 and set(battles["source"]) == {"feedback"}
    expected = np.clip([rates[0] + 0.1875, rates[1] - 0.1875, rates[3]], 0, 1)
    got = battles.loc[[prompts[0], prompts[1], prompts[3]], "p_a_wins"]
    np.testing.assert_allclose(got, expected)
    assert battles.loc[prompts[2], "outcome"] == "a_wins"
    assert np.isnan(battles.loc[prompts[2], "p_a_wins"])
    # the `feedback:URL` data source reads the same
    loaded = load_sources(f"feedback:{db_url}").frame
    assert sorted(loaded["prompt"]) == sorted(battles.index)
    assert loaded["source"].str.startswith("feedback:").all()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "exactly one of rating"),
        ({"rating": "good", "preference": "tie"}, "exactly one of rating"),
        ({"rating": "great"}, "rating must be 'good', 'bad' or a number in [0, 1]"),
        ({"rating": 1.5}, "rating must be 'good', 'bad' or a number in [0, 1]"),
        ({"rating": float("nan")}, "rating must be"),
        ({"rating": True}, "rating must be"),
        ({"preference": "both"}, "preference must be one of strong, weak, tie"),
    ],
)
def test_malformed_feedback_is_400(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    with controller(f"sqlite:///{tmp_path / 'f.db'}") as c:
        rid = c.decide(["hello"], "random", 0.5)[0]["id"]
        with pytest.raises(FeedbackError) as e:
            c.feedback(rid, **kwargs)
        assert e.value.status == 400 and fragment in str(e.value)
        c.feedback(rid, rating="bad")  # nothing was stored by the failed attempts


def test_prompts_are_stored_only_when_enabled_and_retention_purges(db_url: str) -> None:
    with controller(db_url, store_prompts=False) as c:
        old, new = (c.decide([p], "random", 0.5)[0]["id"] for p in ("secret one", "secret two"))
        c.feedback(old, rating="good")
        store = c.feedback_store
        assert [r["prompt"] for r in store.records()] == [None, None]
        with pytest.raises(ValueError, match="start the server with --store-prompts"):
            feedback_battles(store.records())
        store._execute("UPDATE routellm_decisions SET created_at = 0 WHERE id = ?", (old,))
        assert store.purge(older_than_days=30) == 1
        assert [r["id"] for r in store.records()] == [new]
        assert store.purge(older_than_days=30) == 0
        with pytest.raises(FeedbackError, match="unknown routing id") as e:
            c.feedback(old, rating="bad")
        assert e.value.status == 404


def test_purge_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from routellm_py.cli import main

    url = f"sqlite:///{tmp_path / 'f.db'}"
    with controller(url) as c:
        c.decide(["a", "b"], "random", 0.5)
        c.feedback_store._execute("UPDATE routellm_decisions SET created_at = 0")
        c.decide(["c"], "random", 0.5)
    assert main(["feedback", "purge", "--db", url, "--older-than-days", "7"]) == 0
    assert "deleted 2 decisions older than 7 days" in capsys.readouterr().out
    assert len(FeedbackStore(url).records()) == 1


def test_sqlite_is_shared_by_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    FeedbackStore(url).close()
    script = textwrap.dedent(
        f"""
        import sys
        from routellm_py.feedback.store import FeedbackStore
        s = FeedbackStore({url!r})
        for i in range(100):
            rid = f"rt-{{sys.argv[1]}}-{{i}}"
            s.record_decision({{"id": rid, "router": "r", "routed_to": "weak",
                "routed_model": "w", "win_rate": 0.5, "threshold": 0.5}}, "s", "w", None)
            s.add_feedback(rid, rating=i / 99)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k)], cwd=REPO) for k in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    rows = FeedbackStore(url).records()
    assert len(rows) == 200 and all(r["kind"] == "rating" for r in rows)
    mode = FeedbackStore(url)._execute("PRAGMA journal_mode")
    assert mode == [("wal",)]


def test_bad_database_urls_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not sqlite:///PATH or postgresql://"):
        FeedbackStore(str(tmp_path / "f.db"))
    with pytest.raises(FeedbackError, match="feedback is off") as e:
        controller(None).feedback("rt-x", rating="good")
    assert e.value.status == 501


# ---- the server --------------------------------------------------------------------------
@pytest.fixture
def feedback_server(tmp_path: Path) -> Iterator[tuple[str, Controller]]:
    with Upstream() as up:
        c = Controller(
            ["random"],
            {"model": "openai/strong-m", "api_base": up.base_url, "api_key": "k"},
            {"model": "openai/weak-m", "api_base": up.base_url, "api_key": "k"},
            feedback_db=f"sqlite:///{tmp_path / 'f.db'}",
            store_prompts=True,
            num_retries=0,
        )
        with BackgroundServer(create_app(c)) as srv:
            yield srv.base_url, c


def test_server_feedback_endpoint(feedback_server: tuple[str, Controller]) -> None:
    base, c = feedback_server
    chat = {"model": "router-random-0.5", "messages": [{"role": "user", "content": "hi there"}]}
    answer = httpx.post(f"{base}/chat/completions", json=chat, timeout=30).json()
    rid = answer["routing"]["id"]
    ok = httpx.post(f"{base}/feedback", json={"id": rid, "preference": "tie"})
    assert ok.status_code == 200
    assert ok.json() == {
        "object": "routing.feedback", "id": rid, "kind": "preference", "rating": None,
        "preference": "tie",
    }  # fmt: skip
    (row,) = c.feedback_store.records()
    assert row["served_to"] == answer["routing"]["routed_to"] and row["prompt"] == "hi there"
    routed = httpx.post(f"{base}/route", json={"model": "router-random-0.5", "prompts": ["x"]})
    route_id = routed.json()["data"][0]["id"]
    cases = [
        ({"id": rid, "rating": "good"}, 409, "already has feedback"),
        ({"id": "rt-unknown", "rating": "good"}, 404, "unknown routing id"),
        ({"id": route_id, "rating": 7}, 400, "rating must be"),
        ({"id": route_id}, 400, "exactly one of rating"),
        ({"rating": "good"}, 400, "id is required"),
        ({"id": route_id, "rating": "good", "note": "x"}, 400, "unsupported field(s) note"),
        (["not", "an", "object"], 400, "must be a JSON object"),
    ]
    for body, status, fragment in cases:
        r = httpx.post(f"{base}/feedback", json=body)
        assert r.status_code == status, body
        assert fragment in r.json()["error"]["message"]
    bad_json = httpx.post(
        f"{base}/feedback", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert httpx.post(f"{base}/feedback", json={"id": route_id, "rating": "bad"}).status_code == 200
