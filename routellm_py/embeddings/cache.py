"""On-disk embedding cache keyed by (encoder id, sha256 of the text).

Layout: `<root>/embeddings/<slug>-<hash of encoder id>/` holds shards `<uuid>.npz`, each with
`keys` (n, 32) uint8 sha256 digests and `vectors` (n, dim) float32. Shards are written to a
temporary name and renamed, so an interrupted run never leaves a corrupt shard, and several
processes may share one cache: each writes its own shards. Many small shards are merged.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ENV_VAR = "ROUTELLM_PY_CACHE"
MERGE_AT = 32  # merge shards once a directory holds this many


def cache_root() -> Path:
    """`$ROUTELLM_PY_CACHE`, else `~/.cache/routellm_py`."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "routellm_py"


def text_key(text: str) -> bytes:
    """The cache key of one text: its UTF-8 sha256 digest."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors of one encoder, looked up by text digest; loaded lazily from all shards."""

    def __init__(self, encoder_id: str, root: Path | None = None) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id)[-60:]
        digest = hashlib.sha256(encoder_id.encode()).hexdigest()[:12]
        self.directory = (root or cache_root()) / "embeddings" / f"{slug}-{digest}"
        self._table: dict[bytes, np.ndarray] | None = None

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._table is None:
            self._table = {}
            for shard in sorted(self.directory.glob("*.npz")):
                self._table.update(_read_shard(shard))
        return self._table

    def get(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        """The cached vector of each key, or None where absent."""
        table = self._load()
        return [table.get(k) for k in keys]

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store vectors (one row per key) as a new shard; merge shards when there are many."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        if not len(keys):
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_shard(self.directory / f"{uuid.uuid4().hex}.npz", keys, vectors)
        table = self._load()
        table.update(zip(keys, vectors, strict=True))
        shards = sorted(self.directory.glob("*.npz"))
        if len(shards) >= MERGE_AT:
            self._merge(shards)

    def _merge(self, shards: list[Path]) -> None:
        merged: dict[bytes, np.ndarray] = {}
        for shard in shards:
            merged.update(_read_shard(shard))
        vectors = np.stack(list(merged.values()))
        _write_shard(self.directory / f"{uuid.uuid4().hex}.npz", list(merged), vectors)
        for shard in shards:
            shard.unlink(missing_ok=True)


def _write_shard(path: Path, keys: Sequence[bytes], vectors: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
    with tmp.open("wb") as fh:
        np.savez(fh, keys=key_array, vectors=vectors)
    tmp.replace(path)


def _read_shard(path: Path) -> dict[bytes, np.ndarray]:
    """A shard's rows; a shard deleted by a concurrent merge or unreadable is skipped
    (its texts are then embedded again, never read wrong)."""
    try:
        with np.load(path) as z:
            keys, vectors = z["keys"], z["vectors"]
    except (FileNotFoundError, zipfile.BadZipFile, KeyError, ValueError, EOFError):
        return {}
    return {bytes(k): v for k, v in zip(keys, vectors, strict=True)}
