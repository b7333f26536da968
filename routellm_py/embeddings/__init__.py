"""Prompt embeddings for the embedding routers: pluggable encoders with an on-disk cache.

`get_encoder(spec)` builds an `Encoder` (`.id`, `.dim`, `.encode(texts)` -> float32 rows of
unit norm); see `routellm_py.embeddings.encoders` for the spec grammar.
"""

from routellm_py.embeddings.cache import EmbeddingCache, cache_root
from routellm_py.embeddings.encoders import (
    DEFAULT_SPEC,
    APIEncoder,
    Encoder,
    HashingEncoder,
    Model2VecEncoder,
    SentenceTransformerEncoder,
    bundled_minilm_path,
    distilled_minilm_path,
    get_encoder,
)

__all__ = [
    "DEFAULT_SPEC",
    "APIEncoder",
    "EmbeddingCache",
    "Encoder",
    "HashingEncoder",
    "Model2VecEncoder",
    "SentenceTransformerEncoder",
    "bundled_minilm_path",
    "cache_root",
    "distilled_minilm_path",
    "get_encoder",
]
