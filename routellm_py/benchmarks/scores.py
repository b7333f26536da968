"""Score prompts with a router once: batched, with progress, cached on disk.

Cache: one `<router name>-<fingerprint>.npz` per router config/weights (`Router.fingerprint`)
holding `keys` (sha256 of each prompt) and `scores` (win rates). The file is rewritten
atomically (tmp + rename) every few batches, so an interrupted run keeps what it scored
and never leaves a corrupt cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from routellm_py._util import CACHE_ENV, atomic_path
from routellm_py.routers.base import Router, validate_prompts

FLUSH_EVERY = 8  # batches between cache writes


def default_cache_dir(out: str | Path | None = None) -> Path:
    """`$ROUTELLM_PY_CACHE/scores` if set, else `<out>/cache` (the bench's git-ignored
    `benchmarks/results/cache`), else `~/.cache/routellm_py/scores`."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env) / "scores"
    return Path(out) / "cache" if out is not None else Path.home() / ".cache/routellm_py/scores"


def prompt_key(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


class ScoreCache:
    """Win rates of one router keyed by prompt sha256, persisted as an npz file."""

    def __init__(self, router: Router, cache_dir: str | Path | None) -> None:
        self.path = (
            Path(cache_dir) / f"{router.name}-{router.fingerprint()}.npz" if cache_dir else None
        )
        self.scores: dict[str, float] = {}
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    keys, scores = z["keys"].astype(str), z["scores"].tolist()
            except (OSError, ValueError, KeyError) as e:
                raise ValueError(f"score cache {self.path} is unreadable ({e}); delete it") from e
            self.scores = dict(zip(keys, scores, strict=True))

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, tmp.open("wb") as fh:
            np.savez(
                fh,
                keys=np.array(list(self.scores), dtype="U64"),
                scores=np.array(list(self.scores.values()), dtype=np.float64),
            )


def score_prompts(
    router: Router,
    prompts: Sequence[str],
    cache_dir: str | Path | None = None,
    batch_size: int = 256,
    progress: bool = True,
) -> np.ndarray:
    """`router.win_rate` of every prompt, scoring only prompts not already cached."""
    from tqdm.auto import tqdm

    prompts = validate_prompts(prompts)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    cache = ScoreCache(router, cache_dir)
    keys = [prompt_key(p) for p in prompts]
    todo = list({k: p for k, p in zip(keys, prompts, strict=True) if k not in cache.scores}.items())
    try:
        with tqdm(total=len(todo), desc=f"scoring {router.name}", disable=not progress) as bar:
            for b, start in enumerate(range(0, len(todo), batch_size)):
                batch = todo[start : start + batch_size]
                rates = router.win_rate([p for _, p in batch])
                cache.scores.update(zip([k for k, _ in batch], rates.tolist(), strict=True))
                bar.update(len(batch))
                if (b + 1) % FLUSH_EVERY == 0:
                    cache.save()
    finally:
        if todo:
            cache.save()
    return np.array([cache.scores[k] for k in keys], dtype=np.float64)
