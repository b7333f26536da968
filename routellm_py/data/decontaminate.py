"""Drop evaluation prompts that are near-duplicates of training prompts (RouteLLM §5.1:
an eval prompt is contaminated when its embedding's cosine similarity to some training
prompt is >= 0.95).

The embeddings are those of the router's text policy (`routellm_py.embeddings.text_policy`)
when one is given, so a router is decontaminated on the text it actually routes on: with
the encoder's head only, prompts sharing a long few-shot prefix all look like duplicates.

`against_record` decontaminates against what a router's checkpoint recorded at fit time
(`routers.provenance`): exact duplicates by prompt digest, near duplicates against the
stored embeddings. It never re-loads the training data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from routellm_py.embeddings.text_policy import TextPolicy


class TrainingRecord(Protocol):
    """A router's training prompts as `routers.provenance.PromptRecord` holds them."""

    digests: np.ndarray

    def embeddings(self) -> np.ndarray | None:
        """Unit rows of the training prompts' embeddings, or None if not recorded."""
        ...


class TextEncoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray:
        """Rows of L2-normalised embeddings, one per text."""
        ...


def max_cosine(
    eval_emb: np.ndarray, train_emb: np.ndarray, chunk_size: int = 2048, progress: bool = False
) -> np.ndarray:
    """max_j <e_i, t_j> for every eval row i (rows L2-normalised, so this is cosine).

    Computed in (chunk_size x chunk_size) blocks so memory stays O(chunk_size^2) rather than
    O(n_eval x n_train) (14k x 100k would be 5.6 GB as float32)."""
    eval_emb = _unit_rows(eval_emb, "eval")
    train_emb = _unit_rows(train_emb, "train")
    if eval_emb.shape[1] != train_emb.shape[1]:
        raise ValueError(f"embedding dims differ: {eval_emb.shape[1]} vs {train_emb.shape[1]}")
    from tqdm.auto import tqdm

    best = np.full(len(eval_emb), -np.inf, dtype=np.float32)
    starts = range(0, len(eval_emb), chunk_size)
    for i in tqdm(starts, desc="max cosine", unit="chunk", disable=not progress):
        block = eval_emb[i : i + chunk_size]
        for j in range(0, len(train_emb), chunk_size):
            sims = block @ train_emb[j : j + chunk_size].T
            np.maximum(best[i : i + chunk_size], sims.max(axis=1), out=best[i : i + chunk_size])
    return best


def _unit_rows(emb: np.ndarray, what: str) -> np.ndarray:
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"{what} embeddings must be a 2-D array, got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1)
    # a zero row (a text with no known token under a static encoder) matches nothing
    if len(emb) and not np.all(np.isclose(norms, 1.0, atol=1e-3) | (norms == 0)):
        raise ValueError(
            f"{what} embeddings must be L2-normalised rows (norms {norms.min():.3g}"
            f"..{norms.max():.3g}); the encoder should normalise"
        )
    return emb


def decontaminate(
    eval_prompts: Sequence[str],
    train_prompts: Sequence[str],
    encoder: TextEncoder,
    threshold: float = 0.95,
    chunk_size: int = 2048,
    progress: bool = False,
    policy: TextPolicy | None = None,
) -> tuple[np.ndarray, int]:
    """(keep_mask, n_dropped): keep_mask[i] is False when eval prompt i has cosine >=
    `threshold` to any training prompt under `encoder` (applied through `policy` if given)."""
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
    if len(eval_prompts) == 0:
        return np.ones(0, dtype=bool), 0
    if len(train_prompts) == 0:
        return np.ones(len(eval_prompts), dtype=bool), 0
    if policy is None:
        eval_emb, train_emb = (
            encoder.encode(list(eval_prompts)),
            encoder.encode(list(train_prompts)),
        )
    else:
        eval_emb = policy.embed(encoder, list(eval_prompts))
        train_emb = policy.embed(encoder, list(train_prompts))
    keep = max_cosine(eval_emb, train_emb, chunk_size, progress) < threshold
    return keep, int((~keep).sum())


@dataclass(frozen=True)
class Removal:
    """What decontaminating against one router's recorded training prompts removed: `exact`
    prompts by digest, then `near` more by cosine (None: not checked, see `note`)."""

    origin: str  # where the digests came from
    exact: int
    near: int | None
    note: str = ""

    @property
    def removed(self) -> int:
        return self.exact + (self.near or 0)


def against_record(
    eval_prompts: Sequence[str],
    record: TrainingRecord,
    near_duplicates: dict[str, Any] | None,
    origin: str,
    threshold: float = 0.95,
    encoder_spec: str | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, Removal]:
    """(drop mask, Removal) of `eval_prompts` against a router's `record`. `near_duplicates`
    is its provenance entry of that name (encoder spec and text policy of the embeddings); the
    eval prompts are embedded the same way. With `encoder_spec` naming another encoder, or
    no embeddings, only exact duplicates are dropped and the Removal says why."""
    from routellm_py.data.digests import contains

    drop = contains(record.digests, eval_prompts)
    train_emb = record.embeddings()
    note = ""
    if train_emb is None or not near_duplicates:
        note = "prompt digests only, no training-prompt embeddings"
    elif encoder_spec is not None and encoder_spec != near_duplicates.get("encoder"):
        note = f"its embeddings are under {near_duplicates.get('encoder')!r}, not {encoder_spec!r}"
    if note or drop.all():
        return drop, Removal(origin, int(drop.sum()), None if note else 0, note)
    from routellm_py.embeddings.encoders import get_encoder
    from routellm_py.embeddings.text_policy import TextPolicy

    rest = [p for p, d in zip(eval_prompts, drop, strict=True) if not d]
    encoder = get_encoder(near_duplicates["encoder"])
    policy = near_duplicates.get("text_policy")
    emb = TextPolicy.from_dict(policy).embed(encoder, rest) if policy else encoder.encode(rest)
    near = max_cosine(emb, train_emb, progress=progress) >= threshold
    n_exact = int(drop.sum())
    drop[~drop] = near
    return drop, Removal(origin, n_exact, int(near.sum()))
