"""MF router: the scoring formula, ties, soft labels, determinism, checkpoints, N-way scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import load_router
from routellm_py.data.battles import Battles
from routellm_py.routers.mf import MFRouter
from routellm_py.training.tables import training_table, validation_mask

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
MATH = [f"solve the integral number {i} step by step" for i in range(10)]
POEM = [f"write a short poem about flower {i}" for i in range(10)]
FAST = dict(encoder="hashing:128", dim=16, lr=0.05, max_epochs=60, patience=5, batch_size=64)


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


def battles(rows, p_a_wins=None) -> Battles:
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    p = np.nan if p_a_wins is None else p_a_wins
    return Battles(frame.assign(p_a_wins=p, source="synthetic", weight=1.0))


def topical_battles() -> Battles:
    """Strong beats weak on math, weak beats strong on poems; a third model loses to both."""
    rows = []
    for p in MATH:
        rows += [(p, STRONG, WEAK, "a_wins")] * 4 + [(p, WEAK, "third", "a_wins")]
    for p in POEM:
        rows += [(p, STRONG, WEAK, "b_wins")] * 4 + [(p, STRONG, "third", "a_wins")]
    return battles(rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTELLM_PY_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield MFRouter(**FAST, val_fraction=0.2).fit(topical_battles(), progress=False)


def test_learns_topical_preferences(trained):
    wr = trained.win_rate(["solve the integral of x", "write a poem about a flower"])
    assert wr[0] > 0.7 and wr[1] < 0.3


def test_score_is_the_routellm_formula(trained):
    """s(m, q) = w^T (normalize(v_m) * (W_proj e_q)); win rate = sigmoid(s_strong - s_weak)."""
    prompts = ["solve the integral of x", "a poem"]
    e = trained.embed(prompts)
    t = trained._weights
    v = t["model_embeddings"] / np.linalg.norm(t["model_embeddings"], axis=1, keepdims=True)
    s = ((v[None, :, :] * (e @ t["text_proj"].T)[:, None, :]) @ t["classifier"]).astype(float)
    models = [STRONG, WEAK, "third"]
    cols = [trained.models.index(m) for m in models]
    np.testing.assert_allclose(trained.model_scores(prompts, models), s[:, cols], atol=1e-5)
    expected = 1 / (1 + np.exp(-(s[:, cols[0]] - s[:, cols[1]])))
    np.testing.assert_allclose(trained.win_rate(prompts), expected, atol=1e-6)


def test_unknown_models_are_named(trained):
    with pytest.raises(ValueError, match=r"unknown model 'gpt-5'.*3 models"):
        trained.model_scores(["hi"], ["gpt-5"])
    with pytest.raises(TypeError, match="list of model names"):
        trained.model_scores(["hi"], STRONG)
    assert trained.model_scores(["hi"], ["gpt4_1106_preview"]).shape == (1, 1)  # alias


def test_seeded_training_is_deterministic():
    a = MFRouter(**{**FAST, "max_epochs": 3}).fit(topical_battles(), progress=False)
    b = MFRouter(**{**FAST, "max_epochs": 3}).fit(topical_battles(), progress=False)
    c = MFRouter(**{**FAST, "max_epochs": 3}, seed=1).fit(topical_battles(), progress=False)
    np.testing.assert_array_equal(a._z, b._z)
    assert not np.array_equal(a._z, c._z)


def test_early_stopping_restores_the_best_epoch():
    # labels are coin flips: held-out loss soon rises, so training stops early
    rng = np.random.default_rng(0)
    rows = [
        (f"{w} question {i}", STRONG, WEAK, rng.choice(["a_wins", "b_wins"]))
        for i in range(60)
        for w in ("math", "poem")
    ]
    router = MFRouter(**FAST, val_fraction=0.3).fit(battles(rows), progress=False)
    rep = router.training_report
    losses = [h["val_loss"] for h in rep["history"]]
    assert rep["epochs_run"] < FAST["max_epochs"]
    assert rep["best_epoch"] == int(np.argmin(losses)) + 1
    assert rep["best_val_loss"] == pytest.approx(min(losses))
    assert rep["n_val_prompts"] > 0 and rep["n_val_battles"] > 0
    # the restored weights give the best epoch's held-out loss, not the last one's
    assert rep["best_val_loss"] < losses[-1]


def test_validation_split_holds_out_whole_prompts():
    prompts = [f"prompt {i}" for i in range(2000)]
    mask = validation_mask(prompts, 0.1, seed=0)
    assert 150 < mask.sum() < 250
    np.testing.assert_array_equal(mask[::-1], validation_mask(prompts[::-1], 0.1, seed=0))


def test_ties_half_means_even_odds_and_drop_leaves_them_out():
    ties = battles([(p, STRONG, WEAK, "tie") for p in MATH + POEM] * 3)
    table = training_table(ties, "half")
    np.testing.assert_array_equal(table.y, 0.5)
    router = MFRouter(**FAST).fit(ties, progress=False)
    np.testing.assert_allclose(router.win_rate(MATH[:2] + ["unseen"]), 0.5, atol=0.02)
    with pytest.raises(ValueError, match="no battles left"):
        MFRouter(**FAST, ties="drop").fit(ties, progress=False)
    mixed = Battles.concat([ties, topical_battles()])
    dropped = training_table(mixed, "drop")
    assert dropped.report["per_source"]["synthetic"] == {"battles": 160, "ties": 60, "used": 100}
    with pytest.raises(ValueError, match="ties must be one of"):
        MFRouter(ties="ignore")


def test_soft_labels_are_used_as_given():
    rows = [(MATH[0], STRONG, WEAK, "a_wins"), (MATH[1], STRONG, WEAK, "b_wins")]
    table = training_table(battles(rows, p_a_wins=[0.8, 0.3]), "half")
    np.testing.assert_allclose(table.y[np.argsort(table.prompt_idx)], [0.8, 0.3])


def test_pair_only_trains_on_the_pair():
    router = MFRouter(**{**FAST, "max_epochs": 2}, pair_only=True)
    router.fit(topical_battles(), progress=False)
    assert router.models == sorted([STRONG, WEAK])
    assert router.training_report["n_battles"] == 80


def test_checkpoint_roundtrip(trained, tmp_path):
    trained.save(tmp_path / "mf")
    names = sorted(p.name for p in (tmp_path / "mf").iterdir())
    assert names == ["README.md", "config.json", "mf.json", "mf.safetensors", "provenance.npz"]
    meta = json.loads((tmp_path / "mf" / "mf.json").read_text())
    assert meta["models"] == sorted([STRONG, WEAK, "third"])
    assert meta["encoder"]["id"] == "hashing:128|max_words=512" and meta["dim"] == 16
    config = json.loads((tmp_path / "mf" / "config.json").read_text())
    assert config["router"] == "mf" and config["params"]["dim"] == 16
    loaded = load_router(tmp_path / "mf")
    prompts = ["solve the integral of x", "a poem"]
    np.testing.assert_array_equal(loaded.win_rate(prompts), trained.win_rate(prompts))


def test_loading_with_an_unseen_strong_model_fails(trained, tmp_path):
    trained.save(tmp_path / "mf")
    config = json.loads((tmp_path / "mf" / "config.json").read_text())
    config["params"]["strong_model"] = "gpt-5"
    (tmp_path / "mf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="unknown model 'gpt-5'"):
        load_router(tmp_path / "mf")


def test_strong_model_must_be_in_the_data():
    with pytest.raises(ValueError, match="strong model 'gpt-5' is in no training battle"):
        MFRouter(strong_model="gpt-5", **FAST).fit(topical_battles(), progress=False)


@pytest.mark.slow
def test_shipped_checkpoint_is_n_way():
    router = load_router("mf")  # found under the repository's routers/
    assert router.name == "mf" and router.labels == "task-difficulty"
    assert router.policy.spec == "tail:1000" and router.encoder == "model2vec-minilm"
    assert len(router.models) > 50 and {STRONG, WEAK, "gpt-4o", "gpt-4"} <= set(router.models)
    scores = router.model_scores(["What is 17 * 23?"], router.models)
    assert scores.shape == (1, len(router.models)) and np.isfinite(scores).all()
    other = load_router("mf", strong_model="gpt-4o", weak_model="Meta-Llama-3.1-8B-Instruct")
    assert 0.0 < other.win_rate(["What is 17 * 23?"])[0] < 1.0  # any two trained models
    assert router.provenance["data"] and router.training_report["n_battles"] > 10_000
    card = (router.checkpoint_dir / "README.md").read_text()
    assert "## Benchmark results" in card and "CC BY-NC 4.0" in card
