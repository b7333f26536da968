"""The Router contract: registry, validation, routing, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_py import available_routers, get_router_class, load_router
from routellm_py.routers.base import (
    CheckpointError,
    Router,
    register,
    validate_prompts,
    validate_threshold,
)
from routellm_py.routers.random import RandomRouter


def test_unknown_router_lists_valid_names():
    with pytest.raises(KeyError, match="valid routers: .*random"):
        get_router_class("no_such_router")


def test_builtin_names_are_listed():
    assert {"random", "mf", "sw_ranking", "bert", "causal_llm", "quality_gap"} <= set(
        available_routers()
    )


@pytest.mark.parametrize(
    "bad, err, msg",
    [
        ([], ValueError, "empty"),
        ("one prompt", TypeError, "wrap it"),
        (["ok", ""], ValueError, r"prompts\[1\]"),
        (["ok", 3], TypeError, r"prompts\[1\] is int"),
    ],
)
def test_bad_prompts_are_rejected(bad, err, msg):
    with pytest.raises(err, match=msg):
        validate_prompts(bad)


@pytest.mark.parametrize("t", [-0.01, 1.01, float("nan")])
def test_threshold_outside_unit_interval(t):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        validate_threshold(t)


def test_random_router_is_seeded_and_batch_independent():
    r = RandomRouter(seed=3)
    prompts = [f"question {i}" for i in range(50)]
    batch = r.win_rate(prompts)
    singles = np.array([r.win_rate([p])[0] for p in prompts])
    np.testing.assert_array_equal(batch, singles)
    assert not np.array_equal(batch, RandomRouter(seed=4).win_rate(prompts))
    assert 0.3 < batch.mean() < 0.7


def test_route_is_strong_iff_win_rate_at_least_threshold():
    r = RandomRouter(seed=0)
    prompts = [f"q{i}" for i in range(20)]
    w = r.win_rate(prompts)
    t = float(np.median(w))
    assert r.route_batch(prompts, t) == ["strong" if x >= t else "weak" for x in w]
    assert r.route(prompts[0], 0.0) == "strong"
    assert r.route(prompts[0], 1.0) == "weak"


def test_model_scores_unsupported_says_so():
    with pytest.raises(NotImplementedError, match="no per-model scores"):
        RandomRouter().model_scores(["q"], ["a", "b"])


def test_save_load_round_trip(tmp_path):
    r = RandomRouter(seed=11, weak_model="mistralai/mixtral-8x7b-chat")
    r.provenance = {"data": "none"}
    r.save(tmp_path / "ckpt")
    cfg = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert cfg["router"] == "random" and cfg["format_version"] == 1
    assert cfg["params"]["weak_model"] == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    assert (tmp_path / "ckpt" / "README.md").read_text().startswith("# random router")
    loaded = load_router(tmp_path / "ckpt")
    assert isinstance(loaded, RandomRouter) and loaded.provenance == {"data": "none"}
    np.testing.assert_array_equal(loaded.win_rate(["a", "b"]), r.win_rate(["a", "b"]))
    assert loaded.fingerprint() == RandomRouter.load(tmp_path / "ckpt").fingerprint()


def test_corrupt_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_router(tmp_path / "missing" / "dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        Router.load(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        Router.load(bad)
    (bad / "config.json").write_text(
        json.dumps({"router": "random", "format_version": 99, "params": {}})
    )
    with pytest.raises(CheckpointError, match="Upgrade"):
        Router.load(bad)
    (bad / "config.json").write_text(
        json.dumps({"router": "random", "format_version": 1, "params": {"nope": 1}})
    )
    with pytest.raises(CheckpointError, match="params do not fit"):
        Router.load(bad)


def test_trainable_router_without_checkpoint_explains_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_ROUTERS", str(tmp_path))

    @register("_test_trainable")
    class Trainable(RandomRouter):
        trainable = True

    with pytest.raises(CheckpointError, match="routellm-py train _test_trainable"):
        load_router("_test_trainable")


def test_win_rate_output_is_checked():
    @register("_test_broken")
    class Broken(RandomRouter):
        def _win_rate(self, prompts):
            return np.full(len(prompts), 1.5)

    with pytest.raises(RuntimeError, match=r"outside \[0, 1\]"):
        Broken().win_rate(["q"])
