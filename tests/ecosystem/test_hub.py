"""Hugging Face Hub both ways, without network.

Loading: a local directory laid out as the Hub cache (HF_HUB_CACHE:
models--OWNER--NAME/{refs/main, snapshots/REV/...}) holds checkpoints at two revisions;
`hf:OWNER/NAME[@REV]` loads them with HF_HUB_OFFLINE=1. Pushing: `push_to_hub` and
`routellm-py push` talk to a local Hub endpoint (`fake_hub`) that records the commit, and
the pushed files load back through the cache layout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routellm_py import load_router
from routellm_py.cli import main
from routellm_py.hub import push_to_hub, upload_set
from routellm_py.routers.base import CheckpointError
from routellm_py.routers.random import RandomRouter
from tests.ecosystem.fake_hub import FakeHub

REV_A, REV_B = "a" * 40, "b" * 40
PROMPTS = ["first prompt", "second prompt", "third"]


def add_snapshot(cache: Path, repo_id: str, rev: str, files: Path, main: bool) -> None:
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(files, repo / "snapshots" / rev)
    if main:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(rev)


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cache with me/router at REV_A (main; seed 1) and REV_B (seed 2)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    add_snapshot(cache, "me/router", REV_A, RandomRouter(seed=1).save(tmp_path / "s1"), True)
    add_snapshot(cache, "me/router", REV_B, RandomRouter(seed=2).save(tmp_path / "s2"), False)
    # huggingface_hub reads these variables at import: set them for this process too
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_hf_spec_loads_from_cache_offline_with_revisions(hub_cache: Path) -> None:
    seed1 = RandomRouter(seed=1).win_rate(PROMPTS)
    seed2 = RandomRouter(seed=2).win_rate(PROMPTS)
    assert not np.allclose(seed1, seed2)
    np.testing.assert_array_equal(load_router("hf:me/router").win_rate(PROMPTS), seed1)
    np.testing.assert_array_equal(load_router(f"hf:me/router@{REV_B}").win_rate(PROMPTS), seed2)
    np.testing.assert_array_equal(
        load_router("hf:me/router", revision=REV_B).win_rate(PROMPTS), seed2
    )
    loaded = load_router("hf:me/router")
    assert loaded.checkpoint_dir == hub_cache / "models--me--router" / "snapshots" / REV_A


def test_offline_miss_names_the_id_and_the_fix(hub_cache: Path) -> None:
    with pytest.raises(CheckpointError) as e:
        load_router("hf:me/missing@v2")
    msg = str(e.value)
    assert "'me/missing' (revision v2)" in msg and str(hub_cache) in msg
    assert "HF_HUB_OFFLINE=1" in msg and "hf download me/missing --revision v2" in msg
    with pytest.raises(ValueError, match="hf:OWNER/NAME"):
        load_router("hf:no-owner")
    with pytest.raises(CheckpointError, match="for a Hugging Face Hub repository write hf:me/x"):
        load_router("me/x")


def test_route_cli_reads_hub_cache_from_environment(hub_cache: Path, tmp_path: Path) -> None:
    """The real environment variables, in a fresh process (route: no LLM call)."""
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "routellm_py.cli", "route", *PROMPTS[:2]]
    out = subprocess.run(
        [*cmd, "--router", f"hf:me/router@{REV_B}", "--threshold", "0.5"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    want = RandomRouter(seed=2).win_rate(PROMPTS[:2])
    np.testing.assert_array_equal([r["win_rate"] for r in rows], want)
    assert [r["decision"] for r in rows] == ["strong" if w >= 0.5 else "weak" for w in want]


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_local_test_token")
    with FakeHub() as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        yield hub


def test_push_uploads_checkpoint_with_card_as_readme(
    online: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    router = RandomRouter(seed=3)
    ckpt = router.save(tmp_path / "ckpt")
    (ckpt / "config.json.tmp").write_text("partial write")  # never uploaded
    info = push_to_hub(router, "me/pushed")
    assert info.commit_url.endswith("/me/pushed/commit/" + "0" * 39 + "1")
    assert sorted(online.files) == upload_set(ckpt) == ["README.md", "config.json"]
    assert online.files["README.md"].decode() == router.model_card()
    assert online.files["config.json"] == (ckpt / "config.json").read_bytes()
    assert ("POST", "/api/repos/create") in online.requests
    # what was pushed loads back from a Hub cache holding it
    pushed = tmp_path / "pushed"
    pushed.mkdir()
    for name, data in online.files.items():
        (pushed / name).write_bytes(data)
    add_snapshot(tmp_path / "hub", "me/pushed", REV_A, pushed, True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    np.testing.assert_array_equal(
        load_router("hf:me/pushed").win_rate(PROMPTS), router.win_rate(PROMPTS)
    )


def test_push_cli_and_offline_refusal(online: FakeHub, tmp_path: Path, monkeypatch) -> None:
    ckpt = RandomRouter(seed=4).save(tmp_path / "ckpt")
    assert main(["push", str(ckpt), "me/cli", "--message", "first"]) == 0
    header = online.commits[0]["lines"][0]["value"]
    assert header["summary"] == "first" and sorted(online.files) == ["README.md", "config.json"]
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["push", str(ckpt), "me/cli"]) == 2
    with pytest.raises(CheckpointError, match="no config.json"):
        upload_set(tmp_path)


def test_checkpoint_roots_env_replaces_defaults(tmp_path: Path, monkeypatch) -> None:
    from routellm_py.routers.base import checkpoint_roots, find_checkpoint

    REPO = Path(__file__).resolve().parents[2]
    monkeypatch.delenv("ROUTELLM_PY_ROUTERS", raising=False)
    assert (
        checkpoint_roots()[0] == REPO / "routers" and find_checkpoint("mf") == REPO / "routers/mf"
    )
    RandomRouter(seed=5).save(tmp_path / "b" / "mine")
    monkeypatch.setenv("ROUTELLM_PY_ROUTERS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert find_checkpoint("mine") == tmp_path / "b" / "mine" and find_checkpoint("mf") is None
    np.testing.assert_array_equal(
        load_router("mine").win_rate(PROMPTS), RandomRouter(seed=5).win_rate(PROMPTS)
    )
