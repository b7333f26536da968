"""Prompt digests: the identity of a prompt's text for decontamination and provenance.

A digest is the first 8 bytes of sha256 of the normalised text (`DIGEST_RULE`), so equal
prompts that differ only in Unicode form or whitespace match, and a checkpoint can list
hundreds of thousands of training prompts in a few MB (`routers.provenance`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

DIGEST_RULE = "sha256(NFKC, whitespace runs -> one space, stripped)[:8] as big-endian uint64"
_SPACE = re.compile(r"\s+")


def normalise(prompt: str) -> str:
    """The text a digest is taken of: Unicode NFKC, whitespace runs as one space, stripped."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", prompt)).strip()


def _digests(prompts: Iterable[str]) -> np.ndarray:
    """uint64 per prompt: the first 8 bytes of sha256(normalise(p)), big-endian."""
    raw = b"".join(hashlib.sha256(normalise(p).encode()).digest()[:8] for p in prompts)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def prompt_digests(prompts: Iterable[str]) -> np.ndarray:
    """Sorted distinct digests of `prompts` (`DIGEST_RULE`). 64 bits: the chance that any
    of 10^6 training and 10^5 evaluation prompts collide is about 10^11 / 2^64 < 10^-8."""
    return np.unique(_digests(prompts))


def contains(digests: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
    """Boolean mask: prompt i's digest is in the sorted array `digests`."""
    mine = _digests(prompts)
    if not len(digests):
        return np.zeros(len(mine), dtype=bool)
    at = np.minimum(np.searchsorted(digests, mine), len(digests) - 1)
    return digests[at] == mine
