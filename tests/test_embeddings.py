"""Encoders, the spec grammar and the on-disk embedding cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
    set_backend,
    use_offline_defaults,
)


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    for var in ("ROUTELLM_PY_EMBED_CACHE", "ROUTELLM_PY_ENCODER_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    cache.set_cache_mode(None)  # a CLI test in this process may have set the defaults
    set_backend(None)


class CountingEncoder(Encoder):
    """Deterministic vectors from the text's length and first letter; counts what it embeds."""

    spec = id = "counting"
    truncation = {"unit": "chars", "max_length": None, "keep": "head"}
    embedded: list[str]

    def __init__(self, ident: str = "counting", cache="disk") -> None:
        self.id = ident
        self.embedded = []
        super().__init__(cache)

    def _embed(self, texts, batch_size):
        self.embedded.extend(texts)
        return np.array([[len(t), ord(t[0]) if t else 1.0, 3.0] for t in texts])

    def _dim(self):
        return 3


HEAVY = ("torch", "sentence_transformers", "litellm", "openai", "model2vec")


def heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter has imported after running `code`."""
    code = f"import sys; {code}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_is_light_and_creates_no_client():
    code = "import routellm_py.embeddings as e; e.get_encoder('litellm:text-embedding-3-small')"
    assert heavy_modules_after(code) == []


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
    monkeypatch.setattr(cache, "SMALL_SHARD", 2)
    enc = CountingEncoder()
    enc.encode(["big1", "big2"])  # 2 rows: not small, never merged
    for t in ["a", "bb", "ccc"]:
        enc.encode([t])
    shards = sorted(enc._cache.directory.glob("*.npz"))
    assert sorted(cache._rows(s) for s in shards) == [1, 2, 2]  # 1-row shards merged
    (enc._cache.directory / "broken.npz").write_bytes(b"not a zip")
    fresh = CountingEncoder()
    fresh.encode(["a", "bb", "ccc", "big1"])
    assert fresh.embedded == []


def test_disk_cache_sees_shards_written_after_its_first_read():
    """Two encoders (or processes) on one disk cache: a miss re-reads new shards."""
    first, second = CountingEncoder(), CountingEncoder()
    first.encode(["x"])  # `first` has read the (empty) directory
    second.encode(["late"])
    first.encode(["late", "x"])
    assert first.embedded == ["x"]


def test_memory_mode_is_the_default_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTELLM_PY_EMBED_CACHE", raising=False)
    enc = CountingEncoder(cache=True)
    assert enc.cache_mode == "memory" and enc._cache is None
    enc.encode(["a", "b"])
    enc.encode(["a"])
    assert enc.embedded == ["a", "b"]  # the LRU answered the repeat
    assert not (tmp_path / "cache").exists()  # no shard, no digest of a prompt on disk
    monkeypatch.setenv("ROUTELLM_PY_EMBED_CACHE", "disk")
    assert CountingEncoder(cache=True).cache_mode == "disk"
    monkeypatch.delenv("ROUTELLM_PY_EMBED_CACHE")
    cache.set_cache_mode("off")
    try:
        assert CountingEncoder(cache=True)._lru is None
    finally:
        cache.set_cache_mode(None)
    monkeypatch.setenv("ROUTELLM_PY_EMBED_CACHE", "sometimes")
    with pytest.raises(ValueError, match="cache mode must be one of"):
        CountingEncoder(cache=True)


def test_train_and_bench_use_the_disk_and_the_reference_backend(monkeypatch):
    import importlib.util

    fast = importlib.util.find_spec("onnxruntime") is not None
    assert get_encoder("minilm").cache_mode == "memory"
    assert get_encoder("minilm").backend == ("onnx-int8" if fast else "torch")  # serving
    use_offline_defaults()
    try:
        assert get_encoder("minilm").cache_mode == "disk"
        assert get_encoder("minilm").backend == "torch"
        monkeypatch.setenv("ROUTELLM_PY_ENCODER_BACKEND", "onnx")  # the environment wins
        assert get_encoder("minilm").backend == "onnx"
    finally:
        cache.set_cache_mode(None)
        set_backend(None)


def test_lru_is_bounded_by_bytes_and_evicts_the_least_recent():
    lru = cache.LRUCache(max_bytes=3 * 12)  # three float32 vectors of dim 3
    keys = [bytes([i]) * 32 for i in range(5)]
    lru.put(keys[:3], np.ones((3, 3)))
    lru.get([keys[0]])  # keys[0] is now the most recent
    lru.put(keys[3:], np.ones((2, 3)))
    assert [v is not None for v in lru.get(keys)] == [True, False, False, True, True]
    assert len(lru) == 3 and lru.nbytes == 36


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serving_soak_keeps_rss_flat_and_the_disk_untouched(tmp_path, monkeypatch):
    """Bounded soak: 4,000 unseen prompts one at a time (as the server sends them) through
    the default encoder cache. Each vector is 8 KB, so keeping them all would add 31 MB."""
    monkeypatch.delenv("ROUTELLM_PY_EMBED_CACHE", raising=False)
    monkeypatch.setenv("ROUTELLM_PY_EMBED_LRU_MB", "1")
    enc = get_encoder("hashing:2048")
    for i in range(500):  # warm-up: the LRU fills to its bound
        enc.encode([f"warm-up prompt number {i}"])
    before, t0 = _rss_mb(), time.monotonic()
    for i in range(4000):
        enc.encode([f"an unseen prompt about topic {i} and more {i * 7}"])
    grown = _rss_mb() - before
    assert grown < 8, f"RSS grew {grown:.1f} MB over 4,000 prompts"
    assert not (tmp_path / "cache").exists()
    assert time.monotonic() - t0 < 60
    assert enc._lru.nbytes <= 2**20 and len(enc._lru) == 2**20 // (2048 * 4)


def test_routers_with_one_encoder_spec_share_one_encoder():
    from routellm_py.routers.mf import MFRouter
    from routellm_py.routers.sw_ranking import SWRankingRouter

    a, b = MFRouter(encoder="hashing:64"), SWRankingRouter(encoder="hashing:64")
    assert a.get_encoder() is b.get_encoder() is get_encoder("hashing:64")
    assert get_encoder("hashing:64", cache=False) is not a.get_encoder()
    assert get_encoder("hashing:32") is not a.get_encoder()


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


def test_backends_keep_the_encoder_id_and_separate_the_disk_cache():
    torch_enc = get_encoder("minilm", cache="disk", backend="torch")
    fast = get_encoder("minilm", cache="disk", backend="onnx-int8")
    assert torch_enc.backend == "torch" and fast.backend == "onnx-int8"
    assert fast.id == torch_enc.id  # checkpoints trained on "minilm" load with either
    assert fast._cache.directory != torch_enc._cache.directory
    with pytest.raises(ValueError, match="backend must be one of"):
        get_encoder("minilm", backend="tpu")
    with pytest.raises(ValueError, match="local sentence-transformers folder"):
        get_encoder("st:some/hub-model", backend="onnx")


@pytest.mark.slow
def test_onnx_backends_reproduce_minilm():
    """Exported once from the bundled weights: float32 matches torch; int8 stays close and
    gives a text the same vector alone or in a batch."""
    pytest.importorskip("onnxruntime.quantization", reason="needs routellm-py[fast]")
    pytest.importorskip("onnx", reason="needs routellm-py[fast]")
    texts = [
        "How do I bake bread?",
        "Integrate x^2 dx from 0 to 3 and explain each step. " * 20,  # truncated at 256
        "Which of the following is a prime number? A. 21 B. 33 C. 37 D. 49",
    ]
    ref = get_encoder("minilm", backend="torch", cache=False).encode(texts)
    fp32 = get_encoder("minilm", backend="onnx", cache=False).encode(texts)
    int8 = get_encoder("minilm", backend="onnx-int8", cache=False)
    batch = int8.encode(texts)
    assert np.min(np.sum(fp32 * ref, axis=1)) > 0.9999
    assert np.min(np.sum(batch * ref, axis=1)) > 0.97
    alone = np.concatenate([int8.encode([t]) for t in texts])
    np.testing.assert_allclose(alone, batch, atol=1e-6)
    # Once exported, serving on int8 imports no torch (a lighter, smaller process).
    code = "from routellm_py.embeddings import get_encoder; get_encoder('minilm').encode(['hi'])"
    assert heavy_modules_after(code) == []


@pytest.mark.slow
def test_real_minilm_smoke():
    enc = get_encoder("minilm", backend="torch")
    v = enc.encode(["How do I bake bread?", "Give me a bread recipe.", "Integrate x^2 dx."])
    assert v.shape == (3, 384) and enc.dim == 384
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert enc.config()["truncation"]["max_length"] == 256
