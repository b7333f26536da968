"""Warm-starting MF from a checkpoint (`fit(init=...)`, `train --init`) and retraining it
from logged feedback (`--data feedback:URL`), with provenance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py.cli import main
from routellm_py.controller import Controller
from routellm_py.data.battles import Battles
from routellm_py.routers.base import load_router
from routellm_py.routers.mf import MFRouter
from tests.routers.test_mf import FAST, MATH, POEM, STRONG, WEAK


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


def reversed_router() -> MFRouter:
    """Wrong about the topics: strong wins poems, weak wins math (and a third model)."""
    rows = [(p, STRONG, WEAK, "b_wins") for p in MATH for _ in range(4)]
    rows += [(p, STRONG, WEAK, "a_wins") for p in POEM for _ in range(4)]
    rows += [(p, WEAK, "third", "a_wins") for p in MATH]
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    battles = Battles(frame.assign(p_a_wins=np.nan, source="synthetic", weight=1.0))
    return MFRouter(**FAST, val_fraction=0.2).fit(battles, progress=False)


def test_warm_start_begins_at_the_init_weights():
    init = reversed_router()
    pairs = [(p, STRONG, WEAK, "a_wins") for p in MATH]
    frame = pd.DataFrame(pairs, columns=["prompt", "model_a", "model_b", "outcome"])
    battles = Battles(frame.assign(p_a_wins=np.nan, source="s", weight=1.0))
    frozen = MFRouter(**{**FAST, "lr": 0.0, "max_epochs": 2}, val_fraction=0.2)
    frozen.fit(battles, progress=False, init=init)  # lr 0: the weights stay the init's
    assert frozen.models == init.models == sorted([STRONG, WEAK, "third"])
    np.testing.assert_allclose(frozen.win_rate(MATH + POEM), init.win_rate(MATH + POEM))
    other = MFRouter(**{**FAST, "dim": 8})
    with pytest.raises(ValueError, match="warm start needs the same"):
        other.fit(battles, progress=False, init=init)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_train_from_pairwise_feedback_flips_a_wrong_router(backend, tmp_path, request):
    """The loop end to end on both stores: route, log outcomes, retrain from the log."""
    init_dir = reversed_router().save(tmp_path / "init")
    url = (
        f"sqlite:///{tmp_path / 'fb.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    with Controller([load_router(init_dir)], "s", "w", feedback_db=url, store_prompts=True) as c:
        for r, p in zip(c.decide(MATH + POEM, "mf", 0.5), MATH + POEM, strict=True):
            # both models answered (shadow call): strong wins math; poems are a tie
            c.feedback(r["id"], preference="strong" if p in MATH else "tie")
    before = load_router(init_dir)
    out = tmp_path / "retrained"
    args = ["train", "mf", "--data", f"feedback:{url}", "--init", str(init_dir)]
    assert main([*args, "--out", str(out), "--lr", "0.05", "--val-fraction", "0.0"]) == 0
    after = load_router(out)
    gap = lambda r: r.win_rate(MATH).mean() - r.win_rate(POEM).mean()  # noqa: E731
    assert gap(before) < 0 < gap(after)
    config = json.loads((out / "config.json").read_text())
    assert config["params"]["encoder"] == "hashing:128" and config["params"]["dim"] == 16
    prov = config["provenance"]
    assert prov["data"] == f"feedback:{url}" and prov["n_battles"] == 20
    assert prov["init"]["checkpoint"] == str(init_dir)
    assert prov["init"]["fingerprint"] == before.fingerprint()


def test_init_must_be_the_same_router(tmp_path, capsys):
    from routellm_py.routers.length import LengthRouter

    LengthRouter().save(tmp_path / "len")
    url = f"sqlite:///{tmp_path / 'fb.db'}"
    args = ["train", "mf", "--data", f"feedback:{url}", "--init", str(tmp_path / "len")]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "holds a 'length' router, not 'mf'" in capsys.readouterr().err
