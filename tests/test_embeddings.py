"""Encoders, the spec grammar and the on-disk embedding cache."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from routellm_py.embeddings import (
    APIEncoder,
    Encoder,
    HashingEncoder,
    bundled_minilm_path,
    cache,
    get_encoder,
)


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


class CountingEncoder(Encoder):
    """Deterministic vectors from the text's length and first letter; counts what it embeds."""

    spec = id = "counting"
    truncation = {"unit": "chars", "max_length": None, "keep": "head"}
    embedded: list[str]

    def __init__(self, ident: str = "counting") -> None:
        self.id = ident
        self.embedded = []
        super().__init__()

    def _embed(self, texts, batch_size):
        self.embedded.extend(texts)
        return np.array([[len(t), ord(t[0]) if t else 1.0, 3.0] for t in texts])

    def _dim(self):
        return 3


def test_import_is_light_and_creates_no_client():
    code = (
        "import sys, routellm_py.embeddings as e; e.get_encoder('litellm:text-embedding-3-small');"
        "print(sorted(m for m in ('torch','sentence_transformers','litellm','openai','model2vec')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_encode_normalises_deduplicates_and_keeps_order():
    enc = CountingEncoder()
    v = enc.encode(["ab", "b", "ab"])
    assert v.dtype == np.float32 and v.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(v[0], np.array([2, 97, 3]) / np.linalg.norm([2, 97, 3]), rtol=1e-6)
    assert enc.embedded == ["ab", "b"]  # the duplicate is embedded once
    np.testing.assert_array_equal(v[0], v[2])


def test_cache_is_on_disk_and_keyed_by_encoder_id():
    first = CountingEncoder()
    a = first.encode(["x", "yy"])
    again = CountingEncoder()  # a new object, as in a new process: reads the shards
    b = again.encode(["yy", "x", "zzz"])
    assert again.embedded == ["zzz"]
    np.testing.assert_array_equal(b[:2], a[::-1])
    other = CountingEncoder("other-model")
    other.encode(["x"])
    assert other.embedded == ["x"]  # another id never reads this id's vectors


def test_shards_merge_and_corrupt_shards_are_skipped(monkeypatch):
    monkeypatch.setattr(cache, "MERGE_AT", 3)
    enc = CountingEncoder()
    for t in ["a", "bb", "ccc", "dddd"]:
        enc.encode([t])
    shards = sorted(enc._cache.directory.glob("*.npz"))
    assert len(shards) == 2  # 3 shards merged into one, then one more
    (enc._cache.directory / "broken.npz").write_bytes(b"not a zip")
    fresh = CountingEncoder()
    fresh.encode(["a", "bb", "ccc", "dddd"])
    assert fresh.embedded == []


def test_encode_rejects_bad_input():
    enc = CountingEncoder()
    with pytest.raises(TypeError, match="list of strings"):
        enc.encode("one string")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        enc.encode(["ok", 3])
    assert enc.encode([]).shape == (0, 3)


@pytest.mark.parametrize(
    "spec, message",
    [("", "empty"), ("st:", "incomplete"), ("hashing:x", "incomplete"), ("litellm:", "incomplete")],
)
def test_bad_specs_say_what_to_write(spec, message):
    with pytest.raises(ValueError, match=message):
        get_encoder(spec)


def test_hashing_encoder_is_word_overlap():
    enc = get_encoder("hashing:512")
    assert isinstance(enc, HashingEncoder) and enc.dim == 512
    v = enc.encode(["solve the integral", "Solve the integral!", "write a sonnet about love"])
    assert v[0] @ v[1] == pytest.approx(1.0)  # case and punctuation are ignored
    assert abs(v[0] @ v[2]) < 0.5


def test_api_encoder_truncates_batches_and_records_how(monkeypatch):
    calls = []

    def fake_embedding(model, input):
        calls.append((model, list(input)))
        return types.SimpleNamespace(data=[{"embedding": [len(t), 1.0]} for t in input])

    monkeypatch.setitem(sys.modules, "litellm", types.SimpleNamespace(embedding=fake_embedding))
    enc = get_encoder("litellm:my-embedder", max_length=4)
    assert isinstance(enc, APIEncoder)
    monkeypatch.setattr(enc, "_dim", lambda: 2)
    v = enc.encode(["abcdefgh", "ab", "abc"], batch_size=2)
    assert calls == [("my-embedder", ["abcd", "ab"]), ("my-embedder", ["abc"])]
    np.testing.assert_allclose(v[0], np.array([4, 1]) / np.hypot(4, 1), rtol=1e-6)
    assert enc.config()["truncation"] == {"unit": "chars", "max_length": 4, "keep": "head"}
    assert get_encoder("openai:text-embedding-3-small").dim == 1536  # known: no API call


def test_openai_backend_uses_the_client(monkeypatch):
    enc = get_encoder("openai:emb")
    item = types.SimpleNamespace(embedding=[0.0, 2.0])
    fake = types.SimpleNamespace(
        embeddings=types.SimpleNamespace(
            create=lambda model, input: types.SimpleNamespace(data=[item] * len(input))
        )
    )
    enc._client = fake
    monkeypatch.setattr(enc, "_dim", lambda: 2)
    np.testing.assert_allclose(enc.encode(["q"]), [[0.0, 1.0]])


def test_bundled_minilm_spec_records_truncation_without_loading():
    path = bundled_minilm_path()
    assert (path / "config.json").is_file()
    enc = get_encoder()
    assert enc.id == "st:sentence-transformers/all-MiniLM-L6-v2|max_tokens=256"
    assert enc.truncation == {"unit": "tokens", "max_length": 256, "keep": "head"}
    assert enc._model is None
    assert get_encoder("minilm", max_length=128).id.endswith("max_tokens=128")


@pytest.mark.slow
def test_real_minilm_smoke():
    enc = get_encoder("minilm")
    v = enc.encode(["How do I bake bread?", "Give me a bread recipe.", "Integrate x^2 dx."])
    assert v.shape == (3, 384) and enc.dim == 384
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert enc.config()["truncation"]["max_length"] == 256
