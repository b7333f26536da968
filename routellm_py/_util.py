"""Shared plumbing with no heavy imports: environment-variable names, the checkpoint file
names and error, atomic writes, sha256 hashing, a text-hash uniform draw and the offline
litellm import.

Atomic write: write to a temporary file in the target's own directory, then `os.replace`
it onto the target (atomic on POSIX and Windows within one file system), so a reader sees
the old file or the new one, never a part, and a crash leaves only a `*.tmp` behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Environment variables, each named once.
DATA_ENV = "ROUTELLM_PY_DATA"  # the data directory (default ./data)
CACHE_ENV = "ROUTELLM_PY_CACHE"  # root of the on-disk caches (default ~/.cache/routellm_py)
ROUTERS_ENV = "ROUTELLM_PY_ROUTERS"  # os.pathsep-separated checkpoint roots
ALLOW_REMOTE_ENV = "ROUTELLM_PY_ALLOW_REMOTE_ENCODER"  # "1": load routers with an API encoder
EMBED_CACHE_ENV = "ROUTELLM_PY_EMBED_CACHE"  # embedding cache mode: memory, disk or off
EMBED_LRU_ENV = "ROUTELLM_PY_EMBED_LRU_MB"  # size of the in-memory embedding LRU
ENCODER_BACKEND_ENV = "ROUTELLM_PY_ENCODER_BACKEND"  # auto, torch, onnx, ...
ENCODER_THREADS_ENV = "ROUTELLM_PY_ENCODER_THREADS"  # intra-op threads of the ONNX encoder
API_KEY_ENV = "ROUTELLM_PY_API_KEY"  # bearer token the server requires
SERVE_ARGS_ENV = "ROUTELLM_PY_SERVE_ARGS"  # serve flags for `uvicorn --factory`
BUDGET_PREFIX_ENV = "ROUTELLM_PY_BUDGET_PREFIX"  # Redis key prefix of the budget state
LITELLM_OFFLINE_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"  # litellm's switch to its bundled prices

# The names of a router checkpoint directory, shared by `routers.base` (which reads and
# writes checkpoints) and `hub` (which fetches and pushes them) without either importing
# the other's module.
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
HUB_PREFIX = "hf:"


class CheckpointError(ValueError):
    """A checkpoint directory is missing, corrupt or written by another router."""


def cache_root() -> Path:
    """`$ROUTELLM_PY_CACHE`, else `~/.cache/routellm_py`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "routellm_py"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A fresh temporary path beside `path` for the block to write (a file or a directory);
    it replaces `path` when the block ends normally and is removed when the block raises."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8, or bytes) to `path` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


def json_object(text: str | bytes, where: str, error: type[Exception] = ValueError) -> Any:
    """`text` parsed as a JSON object (dict); invalid JSON or any other JSON value raises
    `error` with a message that starts with `where`."""
    try:
        value = json.loads(text)
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise error(f"{where}: not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise error(f"{where}: expected a JSON object, got {value!r:.60}")
    return value


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in `chunk`-byte blocks (bounded memory)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def text_uniform(text: str, seed: int | str) -> float:
    """A deterministic draw in [0, 1) from `text` alone: the first 8 bytes of
    sha256(f"{seed}\\0{text}") read as a little-endian integer, divided by 2**64. Equal texts
    always draw equally, so a hash split never depends on order or splits duplicates."""
    digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def offline_litellm() -> Any:
    """Import litellm offline (its bundled model price map, never fetched) and quietly."""
    os.environ.setdefault(LITELLM_OFFLINE_ENV, "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm
