"""Prompt embeddings for the embedding routers: pluggable encoders, a bounded in-memory
cache for serving and an on-disk cache for training and bench.

`get_encoder(spec)` returns the process's shared `Encoder` for a spec (`.id`, `.dim`,
`.encode(texts)` -> float32 rows of unit norm); see `routellm_py.embeddings.encoders` for
the spec grammar and backends, `routellm_py.embeddings.cache` for the cache modes.
"""

from routellm_py.embeddings.cache import (
    EmbeddingCache,
    LRUCache,
    cache_mode,
    cache_root,
    set_cache_mode,
)
from routellm_py.embeddings.encoders import (
    BACKENDS,
    DEFAULT_SPEC,
    APIEncoder,
    Encoder,
    HashingEncoder,
    Model2VecEncoder,
    SentenceTransformerEncoder,
    bundled_minilm_path,
    distilled_minilm_path,
    get_encoder,
    is_remote_spec,
    resolve_backend,
    set_backend,
    use_offline_defaults,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_SPEC",
    "APIEncoder",
    "EmbeddingCache",
    "Encoder",
    "LRUCache",
    "HashingEncoder",
    "Model2VecEncoder",
    "SentenceTransformerEncoder",
    "bundled_minilm_path",
    "cache_mode",
    "cache_root",
    "distilled_minilm_path",
    "get_encoder",
    "is_remote_spec",
    "resolve_backend",
    "set_backend",
    "set_cache_mode",
    "use_offline_defaults",
]
