"""BARTScore on a tiny randomly initialised BART, against a one-pair-at-a-time manual
computation of mean_t log p(y_t | y_<t, x) (no padding, decoder fed by hand)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_py.quality.bartscore import BartScorer, ResponseQuality, load_responses
from tests.tiny_models import tiny_config, tiny_tokenizer

SOURCES = ["What is 2 + 2?", "Name a colour.", "Explain gravity in one long sentence please.", "Hi"]
TARGETS = ["Four.", "A very bright red, like a fire engine or a ripe tomato.", "Mass attracts.", ""]


@pytest.fixture(scope="module")
def tiny_bart():
    import torch
    from transformers import BartForConditionalGeneration

    tok = tiny_tokenizer(" ".join(SOURCES + TARGETS).split())  # other words map to [UNK]
    torch.manual_seed(0)
    return BartForConditionalGeneration(tiny_config("bart", len(tok))).eval(), tok


def manual_score(bart, tok, source: str, target: str) -> float:
    import torch

    x = torch.tensor([tok(source)["input_ids"]])
    y = tok(target)["input_ids"]
    dec = torch.tensor([[bart.config.decoder_start_token_id, *y[:-1]]])
    with torch.no_grad():
        logp = torch.log_softmax(bart(input_ids=x, decoder_input_ids=dec).logits[0], dim=-1)
    return float(np.mean([logp[t, y[t]].item() for t in range(len(y))]))


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_batched_score_equals_manual_formula(tiny_bart, batch_size: int) -> None:
    bart, tok = tiny_bart
    scorer = BartScorer(batch_size=batch_size, bart=bart, tokenizer=tok)
    got = scorer.score(SOURCES, TARGETS)
    want = [manual_score(bart, tok, s, t) for s, t in zip(SOURCES, TARGETS, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.all(got < 0)
    assert len(set(np.round(got, 6))) == len(got)  # the score depends on the pair


def test_score_rejects_mismatched_inputs(tiny_bart) -> None:
    bart, tok = tiny_bart
    scorer = BartScorer(bart=bart, tokenizer=tok)
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        scorer.score(["a", "b"], ["c"])
    with pytest.raises(TypeError, match=r"targets\[0\]"):
        scorer.score(["a"], [None])


def test_missing_weights_say_how_to_get_them(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not bundled"):
        BartScorer(str(tmp_path / "no-bart-here"))


def test_response_quality_gives_k_samples_per_model(tiny_bart, tmp_path) -> None:
    bart, tok = tiny_bart
    rows = [
        {"prompt": p, "model": m, "sample": k, "response": f"{m} answer {k} to {p}"}
        for p in SOURCES[:2]
        for m in ("small-lm", "large-lm")
        for k in range(2)
    ]
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scorer = BartScorer(bart=bart, tokenizer=tok)
    q = ResponseQuality(f"jsonl:{path}", scorer).samples("small-lm", "large-lm")
    assert q.small.shape == (2, 2) and q.large.shape == (2, 2) and q.n_missing == 0
    i = q.prompts.index(SOURCES[1])
    want = scorer.score([SOURCES[1]] * 2, [f"large-lm answer {k} to {SOURCES[1]}" for k in (0, 1)])
    np.testing.assert_allclose(q.large[i], want, rtol=1e-6)


def test_gsm8k_responses_are_bundled(data_dir) -> None:
    r = load_responses("gsm8k", data_dir)
    assert len(r) == 2 * 1319
    assert set(r["model"]) == {"gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"}


def test_bad_response_spec_is_explained() -> None:
    with pytest.raises(ValueError, match="jsonl:PATH"):
        load_responses("responses.txt")
