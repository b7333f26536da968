"""Causal-LM classifier router on a tiny random Llama: the label-token read-out equals the
LM's own next-token logits, prompts truncate the query and never the template, and the
router learns, round-trips through safetensors and batches exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from routellm_py.data.aliases import DEFAULT_STRONG as S  # noqa: E402
from routellm_py.data.aliases import DEFAULT_WEAK as W  # noqa: E402
from routellm_py.routers.base import load_router  # noqa: E402
from routellm_py.routers.causal_llm import CausalLLMRouter, resolve_causal_backbone  # noqa: E402
from routellm_py.training.classifier import pad_batch  # noqa: E402
from routellm_py.training.label_lm import ChatPromptTokenizer, LabelTokenLM  # noqa: E402
from routellm_py.training.testing import (  # noqa: E402
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
