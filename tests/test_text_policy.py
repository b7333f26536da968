"""Text policy: what an embedding router encodes, applied alike in training, scoring and
decontamination; old checkpoints keep the head behaviour."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import load_router
from routellm_py.data.battles import Battles
from routellm_py.data.decontaminate import decontaminate
from routellm_py.embeddings import get_encoder
from routellm_py.embeddings.text_policy import (
    MAX_CHUNKS,
    TextPolicy,
    chunk,
    last_block,
    parse_policy,
    shared_prefixes,
    strip_prefix,
)
from routellm_py.routers.mf import MFRouter
from routellm_py.routers.sw_ranking import SWRankingRouter

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
# 2,500 characters shared by every prompt (a few-shot prefix), 500 that decide the label
PREFIX = "".join(f"Example {i}: what is {i} plus {i}? Answer: {2 * i}.\n" for i in range(80))[:2500]
assert len(PREFIX) == 2500


def tail(topic: str, i: int) -> str:
    words = {"math": "integral derivative equation solve", "poem": "poem flower verse rhyme"}
    text = f"\n{words[topic]} {i} " * 40
    return text[:500]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


def few_shot_battles() -> Battles:
    """Strong wins on math tails, weak wins on poem tails; every prompt has the prefix."""
    rows = []
    for i in range(12):
        rows += [(PREFIX + tail("math", i), STRONG, WEAK, "a_wins")] * 3
        rows += [(PREFIX + tail("poem", i), STRONG, WEAK, "b_wins")] * 3
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    return Battles(frame.assign(p_a_wins=np.nan, source="synthetic", weight=1.0))


FAST = dict(encoder="hashing:256", dim=16, lr=0.05, max_epochs=60, patience=5, batch_size=64)


def test_parse_and_errors():
    p = parse_policy("strip+last+headtail:200:800")
    assert (p.strip, p.last, p.window, p.head_chars, p.tail_chars) == (
        True,
        True,
        "headtail",
        200,
        800,
    )
    assert parse_policy("chunks:1000").chunk_chars == 1000
    for bad, msg in [
        ("tail", "window must be one of"),
        ("tail:0", ">= 1"),
        ("foo+head", "'strip' and/or 'last'"),
        ("strip+strip+head", "each once"),
        ("", "non-empty"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_policy(bad)


def test_windows_cut_what_they_say():
    text = "a" * 600 + "b" * 600
    assert parse_policy("head").segments(text) == [text]
    assert parse_policy("tail:500").segments(text) == ["b" * 500]
    assert parse_policy("headtail:100:200").segments(text) == ["a" * 100 + "\n" + "b" * 200]
    assert parse_policy("chunks:500").segments(text) == [
        "a" * 500,
        "a" * 100 + "b" * 400,
        "b" * 200,
    ]
    short = "short prompt"  # shorter than every window: unchanged, so caches are shared
    for spec in ("tail:500", "headtail:100:200", "chunks:500"):
        assert parse_policy(spec).segments(short) == [short]
    parts = chunk("x" * 100, 5)
    assert len(parts) == MAX_CHUNKS and parts[0] == "x" * 5
    assert (
        last_block("intro\n\nQ1 " + "x" * 150 + "\n\nQ2 final?")
        == "Q1 " + "x" * 150 + "\n\nQ2 final?"
    )


def test_mean_pooling_is_the_normalised_mean_of_chunk_embeddings():
    enc = get_encoder("hashing:64")
    text = " ".join(f"w{i}" for i in range(400))
    segs = parse_policy("chunks:500").segments(text)
    pooled = parse_policy("chunks:500").embed(enc, [text])[0]
    mean = enc.encode(segs).mean(axis=0)
    np.testing.assert_allclose(pooled, mean / np.linalg.norm(mean), atol=1e-6)


def test_shared_prefixes_are_learned_and_stripped():
    prompts = [PREFIX + tail("math", i) for i in range(25)] + [f"unrelated {i}" for i in range(5)]
    learned = shared_prefixes(prompts)
    assert learned and all(prompts[0].startswith(p) and len(p) >= 200 for p in learned)
    assert max(map(len, learned)) == 2501  # the 2,500 shared + the tails' shared line break
    assert strip_prefix(prompts[0], learned) == prompts[0][2501:]
    assert shared_prefixes(prompts[:10]) == ()  # shared by fewer than 20 prompts: not learned
    assert strip_prefix("abc", ("abc",)) == "abc"  # nothing would remain: unchanged


def test_issue_case_shared_prefix_prompts_get_different_embeddings_and_win_rates():
    """Two 3,000-character prompts sharing a 2,500-character prefix: one embedding and one
    win rate with the head policy (the encoder keeps its first words), different ones with
    a policy that sees the end."""
    a, b = PREFIX + tail("math", 99), PREFIX + tail("poem", 99)
    assert len(a) == len(b) == 3000
    enc = get_encoder("hashing:256", max_length=300)  # keeps the first 300 words only
    head, tail_policy = parse_policy("head"), parse_policy("tail:800")
    np.testing.assert_array_equal(*head.embed(enc, [a, b]))
    assert np.dot(*tail_policy.embed(enc, [a, b])) < 0.9
    for cls in (MFRouter, SWRankingRouter):
        kwargs = FAST if cls is MFRouter else {"encoder": "hashing:256", "labels": "pair"}
        for spec, differ in [("head", False), ("tail:800", True), ("strip+head", True)]:
            router = cls(**kwargs, text_policy=spec)
            router.get_encoder = lambda enc=enc: enc  # the 300-word encoder
            router.fit(few_shot_battles(), progress=False)
            wa, wb = router.win_rate([a, b])
            assert (abs(wa - wb) > 0.2) == differ, (cls.name, spec, wa, wb)
            if differ:
                assert wa > wb  # math tail -> strong


def test_policy_is_saved_and_applied_after_loading(tmp_path):
    router = MFRouter(**FAST, text_policy="strip+tail:800").fit(few_shot_battles(), progress=False)
    assert router.policy.prefixes  # learned from the 24 training prompts
    router.save(tmp_path / "mf")
    meta = json.loads((tmp_path / "mf" / "mf.json").read_text())
    assert meta["text_policy"]["spec"] == "strip+tail:800" and meta["text_policy"]["prefixes"]
    loaded = load_router(tmp_path / "mf")
    assert loaded.policy == router.policy
    probe = [PREFIX + tail("math", 7), PREFIX + tail("poem", 7), "short"]
    np.testing.assert_array_equal(loaded.win_rate(probe), router.win_rate(probe))
    assert "strip+tail:800" in (tmp_path / "mf" / "README.md").read_text()


def test_checkpoint_without_policy_loads_with_head(tmp_path):
    router = MFRouter(**FAST).fit(few_shot_battles(), progress=False)
    router.save(tmp_path / "mf")
    meta_path, config_path = tmp_path / "mf" / "mf.json", tmp_path / "mf" / "config.json"
    meta = json.loads(meta_path.read_text())
    del meta["text_policy"]  # as written before policies existed
    meta_path.write_text(json.dumps(meta))
    config = json.loads(config_path.read_text())
    del config["params"]["text_policy"]
    config_path.write_text(json.dumps(config))
    loaded = load_router(tmp_path / "mf")
    assert loaded.policy == TextPolicy.from_dict(None) == parse_policy("head")
    np.testing.assert_array_equal(loaded.win_rate(["a b c"]), router.win_rate(["a b c"]))


def test_decontamination_uses_the_policy():
    enc = get_encoder("hashing:256", max_length=300)
    train = [PREFIX + tail("math", i) for i in range(5)]
    evals = [PREFIX + tail("poem", 1), PREFIX + tail("math", 3)]
    keep_head, n_head = decontaminate(evals, train, enc)
    assert n_head == 2 and not keep_head.any()  # the head policy sees only the prefix
    keep, n = decontaminate(evals, train, enc, policy=parse_policy("tail:800"))
    assert n == 1 and keep.tolist() == [True, False]  # only the true duplicate is dropped


def test_zero_embedding_rows_match_nothing():
    """A static encoder gives a zero vector for a text with no known token: accepted by
    decontamination and never a duplicate; other non-unit rows still raise."""
    from routellm_py.data.decontaminate import max_cosine

    train = np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    evals = np.array([[0.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(max_cosine(evals, train), [0.0, 1.0])
    with pytest.raises(ValueError, match="L2-normalised"):
        max_cosine(evals, np.array([[0.5, 0.0]], dtype=np.float32))
