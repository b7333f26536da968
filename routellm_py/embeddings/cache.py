"""Embedding caches keyed by (encoder, sha256 of the text): a bounded in-memory LRU for
serving, and an on-disk cache for training and bench.

Which one an encoder gets is the cache *mode*:
    "memory"  (default) a bounded LRU in RAM (`ROUTELLM_PY_EMBED_LRU_MB`, default 4 MB of
              vectors); nothing is written to disk, so no digest of a user prompt is stored.
    "disk"    the LRU in front of the on-disk cache below; `routellm-py train` and `bench` use
              it so a corpus is embedded once per machine.
    "off"     no cache at all.
The mode comes from `ROUTELLM_PY_EMBED_CACHE`, else the process default that
`set_cache_mode` sets (the CLI's train and bench set "disk"), else "memory".

On-disk layout: `<root>/embeddings/<slug>-<hash of encoder id>/` holds shards `<uuid>.npz`,
each with `keys` (n, 32) uint8 sha256 digests and `vectors` (n, dim) float32. Shards are
written to a temporary name and renamed, so an interrupted run never leaves a corrupt shard,
and several processes may share one cache: each writes its own shards, and a lookup that
misses reads the shards it has not seen yet. Small shards are merged once there are many.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from routellm_py._util import EMBED_CACHE_ENV, EMBED_LRU_ENV, atomic_path, cache_root

MODES = ("memory", "disk", "off")
DEFAULT_LRU_MB = 4.0
MERGE_AT = 32  # merge small shards once a directory holds this many shards
SMALL_SHARD = 4096  # rows; only shards smaller than this are merged, so a merge stays cheap

_mode_override: str | None = None


def text_key(text: str) -> bytes:
    """The cache key of one text: its UTF-8 sha256 digest."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"embedding cache mode must be one of {MODES}, got {mode!r}")
    return mode


def cache_mode() -> str:
    """`$ROUTELLM_PY_EMBED_CACHE`, else the process default (`set_cache_mode`), else
    "memory": serving never writes to disk unless asked to."""
    env = os.environ.get(EMBED_CACHE_ENV, "").strip().lower()
    return check_mode(env or _mode_override or "memory")


def set_cache_mode(mode: str | None) -> None:
    """The process default cache mode for encoders built from now on, used where
    `$ROUTELLM_PY_EMBED_CACHE` is unset (None: back to "memory")."""
    global _mode_override
    _mode_override = None if mode is None else check_mode(mode)


def lru_bytes() -> int:
    """Bytes of vectors the in-memory LRU holds: `$ROUTELLM_PY_EMBED_LRU_MB` (default 4)."""
    raw = os.environ.get(EMBED_LRU_ENV, "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_LRU_MB
    except ValueError as e:
        raise ValueError(f"{EMBED_LRU_ENV} must be a number of megabytes, got {raw!r}") from e
    if mb < 0:
        raise ValueError(f"{EMBED_LRU_ENV} must be >= 0, got {mb}")
    return int(mb * 2**20)


class LRUCache:
    """Vectors by key, least recently used evicted first once their bytes exceed `max_bytes`.
    Thread-safe: the server scores requests from several threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        with self._lock:
            out = []
            for k in keys:
                v = self._items.get(k)
                if v is not None:
                    self._items.move_to_end(k)
                out.append(v)
            return out

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        with self._lock:
            for k, v in zip(keys, vectors, strict=True):
                # A copy: a row view would keep its whole batch array alive.
                row = np.array(v, dtype=np.float32)
                if row.nbytes > self.max_bytes:
                    continue
                old = self._items.pop(k, None)
                self.nbytes += row.nbytes - (0 if old is None else old.nbytes)
                self._items[k] = row
            while self.nbytes > self.max_bytes:
                self.nbytes -= self._items.popitem(last=False)[1].nbytes


class EmbeddingCache:
    """On-disk vectors of one encoder, looked up by text digest (training and bench only)."""

    def __init__(self, encoder_id: str, root: Path | None = None) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id)[-60:]
        digest = hashlib.sha256(encoder_id.encode()).hexdigest()[:12]
        self.directory = (root or cache_root()) / "embeddings" / f"{slug}-{digest}"
        self._table: dict[bytes, np.ndarray] = {}
        self._seen: set[str] = set()  # shard names already read into the table
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        """Read shards written since the last look (by this or another process)."""
        for shard in sorted(self.directory.glob("*.npz")):
            if shard.name not in self._seen:
                self._seen.add(shard.name)
                self._table.update(_read_shard(shard))

    def get(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        """The cached vector of each key, or None where absent."""
        with self._lock:
            if any(k not in self._table for k in keys):
                self._refresh()
            return [self._table.get(k) for k in keys]

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store vectors (one row per key) as a new shard; merge small shards when many."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        if not len(keys):
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex}.npz"
            _write_shard(self.directory / name, keys, vectors)
            self._seen.add(name)
            self._table.update(zip(keys, vectors, strict=True))
            shards = sorted(self.directory.glob("*.npz"))
            if len(shards) >= MERGE_AT:
                self._merge([s for s in shards if _rows(s) < SMALL_SHARD])

    def _merge(self, shards: list[Path]) -> None:
        if len(shards) < 2:
            return
        merged: dict[bytes, np.ndarray] = {}
        for shard in shards:
            merged.update(_read_shard(shard))
        if merged:
            name = f"{uuid.uuid4().hex}.npz"
            _write_shard(self.directory / name, list(merged), np.stack(list(merged.values())))
            self._seen.add(name)
        for shard in shards:
            shard.unlink(missing_ok=True)


def _write_shard(path: Path, keys: Sequence[bytes], vectors: np.ndarray) -> None:
    key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, keys=key_array, vectors=vectors)


def _rows(path: Path) -> int:
    """Rows in a shard from its `keys` header alone (0 if unreadable: merged away)."""
    try:
        with np.load(path, mmap_mode="r") as z:
            return int(z["keys"].shape[0])
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, EOFError):
        return 0


def _read_shard(path: Path) -> dict[bytes, np.ndarray]:
    """A shard's rows; a shard deleted by a concurrent merge or unreadable is skipped
    (its texts are then embedded again, never read wrong)."""
    try:
        with np.load(path) as z:
            keys, vectors = z["keys"], z["vectors"]
    except (FileNotFoundError, zipfile.BadZipFile, KeyError, ValueError, EOFError):
        return {}
    return {bytes(k): v for k, v in zip(keys, vectors, strict=True)}
