"""BERT classifier router: fit on a learnable toy task, checkpoint round trip, batching,
CLI training, and one short fine-tune of the real bundled MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers

from routellm_py.data.aliases import DEFAULT_STRONG as S
from routellm_py.data.aliases import DEFAULT_WEAK as W
from routellm_py.routers.base import CheckpointError, load_router
from routellm_py.routers.bert import BertRouter
from tests.tiny_models import (
    FRUIT,
    VEHICLES,
    tiny_config,
    tiny_tokenizer,
    toy_battles,
)

FAST = dict(lr=2e-2, epochs=3, batch_size=8, max_length=16, progress=False)


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """A tiny random BERT encoder saved as a local backbone folder (what a hub id resolves to)."""
    path = tmp_path_factory.mktemp("tiny_bert")
    tok = tiny_tokenizer(FRUIT + VEHICLES)
    torch.manual_seed(0)
    transformers.BertModel(tiny_config("bert", len(tok))).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def fitted(tiny_backbone):
    return BertRouter(backbone=tiny_backbone, **FAST).fit(toy_battles(48, S, W))


def test_learns_who_wins(fitted):
    fruit = ["apple banana cherry", "grape apple"]
    cars = ["car truck bus", "train car"]
    wr = fitted.win_rate(fruit + cars)
    assert wr[:2].min() > 0.8 and wr[2:].max() < 0.2
    report = fitted.provenance["training"]
    assert report["n_prompts"] == 48 and report["label_mass"] == [24.0, 0.0, 24.0]
    assert report["train_loss"][-1] < report["train_loss"][0]


def test_tie_share_moves_tie_mass():
    r = BertRouter(tie_share=0.5)
    proba = np.array([[0.2, 0.6, 0.2], [0.7, 0.0, 0.3]])
    np.testing.assert_allclose(r._win_from_proba(proba), [0.5, 0.7])
    np.testing.assert_allclose(BertRouter()._win_from_proba(proba), [0.2, 0.7])


def test_save_load_round_trip_is_identical(fitted, tmp_path):
    prompts = ["apple car", "bus grape cherry", "banana"]
    fitted.save(tmp_path / "ckpt")
    files = {p.name for p in (tmp_path / "ckpt").rglob("*")}
    assert {"config.json", "README.md", "model_files.json", "model.safetensors"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    loaded = load_router(tmp_path / "ckpt")
    assert isinstance(loaded, BertRouter) and loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.win_rate(prompts), fitted.win_rate(prompts))
    assert "strong_wins" in (tmp_path / "ckpt" / "README.md").read_text()


def test_corrupt_weights_are_refused(fitted, tmp_path):
    d = fitted.save(tmp_path / "ckpt")
    (d / "model" / "model.safetensors").write_bytes(b"garbage")
    # refused before any weight is read: by the safetensors header check or the manifest digest
    with pytest.raises(CheckpointError, match="truncated safetensors|sha256"):
        load_router(d)


def test_batched_equals_single(fitted):
    prompts = ["apple", "car truck bus train car", "grape banana", "bus"]
    batched = fitted.win_rate(prompts)
    single = [fitted.win_rate([p])[0] for p in prompts]
    np.testing.assert_allclose(batched, single, atol=1e-6)


def test_unfitted_and_bad_params_raise():
    with pytest.raises(RuntimeError, match="fit"):
        BertRouter().win_rate(["hello"])
    with pytest.raises(ValueError, match="tie_share"):
        BertRouter(tie_share=2.0)
    with pytest.raises(ValueError, match="max_examples"):
        BertRouter(max_examples=-1)


def test_fine_tuning_keywords_are_plain_parameters(tmp_path):
    """The shared `FineTuning` keywords appear in the signature at the router's defaults,
    round-trip through get_params and config.json, and an unknown keyword is refused."""
    import inspect

    from routellm_py.routers.causal_llm import CausalLLMRouter
    from routellm_py.routers.quality_gap import QualityGapRouter

    def defaults(cls: type) -> dict:
        return {k: p.default for k, p in inspect.signature(cls).parameters.items()}

    assert defaults(BertRouter)["lr"] == 5e-5 and defaults(BertRouter)["max_length"] == 128
    assert defaults(CausalLLMRouter)["epochs"] == 1 and defaults(CausalLLMRouter)["dtype"] == "auto"
    assert defaults(QualityGapRouter)["max_length"] == 256
    r = BertRouter(lr=1e-4, epochs=2, tie_share=0.5)
    assert r.get_params() == {**defaults(BertRouter), "lr": 1e-4, "epochs": 2, "tie_share": 0.5}
    clone = BertRouter(**json.loads(json.dumps(r.get_params())))
    assert clone.get_params() == r.get_params() and clone.lr == 1e-4
    with pytest.raises(TypeError, match="learning_rate"):
        BertRouter(learning_rate=1e-4)
    (tmp_path / "config.json").write_text(
        json.dumps({"router": "bert", "format_version": 1, "params": {"lrate": 1.0}})
    )
    with pytest.raises(CheckpointError, match="lrate"):
        load_router(tmp_path)


def test_same_seed_same_weights_whatever_the_global_rng(tiny_backbone):
    """The new head is drawn after seeding: a disturbed global RNG changes nothing, another
    seed changes the weights."""

    def weights(seed: int, disturb: int) -> np.ndarray:
        torch.manual_seed(disturb)
        r = BertRouter(backbone=tiny_backbone, **{**FAST, "epochs": 1, "seed": seed})
        r.fit(toy_battles(16, S, W))
        return torch.cat([p.detach().flatten() for p in r._model.parameters()]).numpy()

    first = weights(0, disturb=1)
    np.testing.assert_array_equal(first, weights(0, disturb=2))
    assert not np.array_equal(first, weights(1, disturb=1))


def test_cli_train_writes_a_loadable_checkpoint(tiny_backbone, tmp_path):
    from routellm_py.cli import main

    csv = tmp_path / "prefs.csv"
    toy_battles(16, S, W).frame.to_csv(csv, index=False)
    out = tmp_path / "bert"
    args = ["train", "bert", "--data", f"csv:{csv}", "--out", str(out)]
    flags = ["--backbone", tiny_backbone, "--epochs", "1", "--max-examples", "10", "--no-progress"]
    assert main(args + flags) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["params"]["max_examples"] == 10 and config["params"]["epochs"] == 1
    assert config["provenance"]["training"]["n_prompts"] == 10
    assert load_router(out).win_rate(["apple"]).shape == (1,)


@pytest.mark.slow
def test_real_minilm_smoke_fine_tune(data_dir, tmp_path):
    """A few steps on real MT-Bench gold battles with the bundled all-MiniLM-L6-v2."""
    from routellm_py.data.benchmarks import load_benchmark

    battles = load_benchmark("mt-bench", data_dir).battles(S, W)
    router = BertRouter(
        max_examples=12, epochs=1, batch_size=8, max_length=32, val_fraction=0.25, progress=False
    ).fit(battles)
    prompts = battles.frame["prompt"].tolist()[:4]
    wr = router.win_rate(prompts)
    assert wr.shape == (4,) and np.all((wr >= 0) & (wr <= 1))
    np.testing.assert_array_equal(load_router(router.save(tmp_path / "m")).win_rate(prompts), wr)
