"""Which part of a prompt an embedding router encodes: the text policy.

A sentence encoder keeps only its first tokens (MiniLM: 256, about 1,000 characters), so
prompts that share a long head (the few-shot examples of a task, a long system prompt) get one
identical embedding, and every embedding router is constant on them. A `TextPolicy` turns a
prompt into the segments that are encoded; the prompt's embedding is the normalised mean of
its segments' embeddings:

    e(q) = normalize( (1/K) sum_k enc(segment_k(q)) )

Spec grammar (`parse_policy`): optional steps joined by "+", then one window:
    strip            remove the longest learned prefix shared by many training prompts
                     (learned by `fit` and stored in the checkpoint)
    last             keep the last blank-line-separated block(s) of the text, at least
                     `LAST_MIN_CHARS` characters: the last turn of joined turns, the final
                     question of a few-shot prompt
    head             the text as it is (the encoder keeps its head): the behaviour of
                     checkpoints written before policies existed
    tail:N           the last N characters
    headtail:H:T     the first H and the last T characters, joined by a newline
    chunks:N         consecutive N-character chunks of the whole text (at most `MAX_CHUNKS`,
                     evenly spread), mean-pooled

Texts no longer than the window are passed unchanged, so short prompts share cache entries
with every policy. The same policy object is applied in training, scoring and
decontamination (`routellm_py.data.decontaminate`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_POLICY = "head"
WINDOWS = ("head", "tail", "headtail", "chunks")
LAST_MIN_CHARS = 128
MAX_CHUNKS = 8
PREFIX_MIN_PROMPTS = 20  # a learned prefix is shared by at least this many training prompts
PREFIX_MIN_CHARS = 200  # ... and at least this long
MAX_PREFIXES = 256


@dataclass(frozen=True)
class TextPolicy:
    """A parsed policy spec plus the prefixes learned at fit time (see the module doc)."""

    spec: str = DEFAULT_POLICY
    strip: bool = False
    last: bool = False
    window: str = "head"
    head_chars: int = 0
    tail_chars: int = 0
    chunk_chars: int = 0
    prefixes: tuple[str, ...] = ()

    # ---- text -> segments ------------------------------------------------------------
    def segments(self, text: str) -> list[str]:
        """The texts encoded for one prompt (one, or several chunks)."""
        if self.strip:
            text = strip_prefix(text, self.prefixes)
        if self.last:
            text = last_block(text)
        if self.window == "tail" and len(text) > self.tail_chars:
            return [text[-self.tail_chars :]]
        if self.window == "headtail" and len(text) > self.head_chars + self.tail_chars:
            return [text[: self.head_chars] + "\n" + text[-self.tail_chars :]]
        if self.window == "chunks" and len(text) > self.chunk_chars:
            return chunk(text, self.chunk_chars)
        return [text]

    def embed(self, encoder: Any, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """(n, dim) unit rows: per text the normalised mean of its segments' embeddings."""
        segs = [self.segments(t) for t in texts]
        if all(len(s) == 1 for s in segs):
            return encoder.encode([s[0] for s in segs], progress=progress)
        flat = [x for s in segs for x in s]
        emb = encoder.encode(flat, progress=progress)
        owner = np.repeat(np.arange(len(segs)), [len(s) for s in segs])
        pooled = np.zeros((len(segs), emb.shape[1]), dtype=np.float64)
        np.add.at(pooled, owner, emb)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    # ---- learning and storage --------------------------------------------------------
    def fit(self, prompts: Sequence[str]) -> TextPolicy:
        """This policy with the shared prefixes of `prompts` learned (a no-op without strip)."""
        if not self.strip:
            return self
        return dataclasses.replace(self, prefixes=shared_prefixes(prompts))

    def to_dict(self) -> dict[str, Any]:
        """What a checkpoint stores: the spec and the learned prefixes."""
        return {"spec": self.spec, "prefixes": list(self.prefixes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TextPolicy:
        """Rebuild a stored policy; None (a checkpoint from before policies) is `head`."""
        if d is None:
            return parse_policy(DEFAULT_POLICY)
        return dataclasses.replace(parse_policy(d["spec"]), prefixes=tuple(d.get("prefixes", ())))


def parse_policy(spec: str) -> TextPolicy:
    """`[strip+][last+]WINDOW` -> TextPolicy; errors name the valid forms."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"text policy must be a non-empty string, e.g. {DEFAULT_POLICY!r}")
    *steps, window = spec.strip().split("+")
    unknown = [s for s in steps if s not in ("strip", "last")]
    if unknown or len(set(steps)) != len(steps):
        raise ValueError(
            f"text policy {spec!r}: steps before the window must be 'strip' and/or 'last', "
            f"each once, got {steps}"
        )
    kind, *args = window.split(":")
    expected = {"head": 0, "tail": 1, "headtail": 2, "chunks": 1}
    if kind not in expected or len(args) != expected[kind] or not all(a.isdigit() for a in args):
        raise ValueError(
            f"text policy {spec!r}: window must be one of head, tail:N, headtail:H:T, "
            f"chunks:N (N in characters), got {window!r}"
        )
    n = [int(a) for a in args]
    if any(v < 1 for v in n):
        raise ValueError(f"text policy {spec!r}: character counts must be >= 1")
    fields: dict[str, int] = {}
    if kind == "tail":
        fields = {"tail_chars": n[0]}
    elif kind == "headtail":
        fields = {"head_chars": n[0], "tail_chars": n[1]}
    elif kind == "chunks":
        fields = {"chunk_chars": n[0]}
    return TextPolicy(
        spec=spec.strip(), strip="strip" in steps, last="last" in steps, window=kind, **fields
    )


def chunk(text: str, size: int) -> list[str]:
    """Consecutive `size`-character chunks; more than `MAX_CHUNKS` are thinned evenly (the
    first and the last chunk are always kept)."""
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    if len(parts) > MAX_CHUNKS:
        keep = np.unique(np.linspace(0, len(parts) - 1, MAX_CHUNKS).round().astype(int))
        parts = [parts[k] for k in keep]
    return parts


def last_block(text: str, min_chars: int = LAST_MIN_CHARS) -> str:
    """The trailing blank-line-separated blocks, as few as give >= `min_chars` characters."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    kept: list[str] = []
    for b in reversed(blocks):
        kept.insert(0, b)
        if sum(len(k) for k in kept) >= min_chars:
            break
    return "\n\n".join(kept) if kept else text


def strip_prefix(text: str, prefixes: Sequence[str]) -> str:
    """`text` without the longest of `prefixes` it starts with (unchanged if none, or if
    nothing would remain)."""
    best = max((p for p in prefixes if text.startswith(p)), key=len, default="")
    rest = text[len(best) :]
    return rest if rest.strip() else text


def shared_prefixes(
    prompts: Sequence[str],
    min_prompts: int = PREFIX_MIN_PROMPTS,
    min_chars: int = PREFIX_MIN_CHARS,
) -> tuple[str, ...]:
    """Prefixes of >= `min_chars` characters shared by >= `min_prompts` distinct prompts.

    In sorted order, k prompts share a prefix exactly as long as the smallest longest-common-
    prefix of the k - 1 neighbouring pairs between them; each such run gives a candidate, cut
    back to a line break so that no example is split. At most `MAX_PREFIXES` are kept, the
    most widely shared first.
    """
    texts = sorted(set(prompts))
    if len(texts) < min_prompts or min_prompts < 2:
        return ()
    lcp = np.array([_common_prefix_len(a, b) for a, b in zip(texts, texts[1:], strict=False)])
    window = np.lib.stride_tricks.sliding_window_view(lcp, min_prompts - 1).min(axis=1)
    candidates: set[str] = set()
    for i in np.flatnonzero(window >= min_chars):
        head = texts[i][: window[i]]
        cut = head.rfind("\n") + 1
        if cut >= min_chars:
            candidates.add(head[:cut])
    counts = {p: sum(t.startswith(p) for t in texts) for p in candidates}
    ranked = sorted(counts, key=lambda p: (-counts[p], -len(p), p))
    return tuple(ranked[:MAX_PREFIXES])


def _common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix, by binary search over slice comparisons."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
