"""Training provenance: what a router learned from, recorded when it is fitted and saved in
its checkpoint, so decontamination never has to re-load the training data.

Every `Router.fit` records (`recording_fit`, applied to each subclass's `fit`), in
`router.provenance` (config.json "provenance", JSON):

    library_version, trained_at   routellm-py version, UTC time (ISO 8601)
    n_battles, n_prompts          battles fitted, distinct training prompts
    sources                       per-source counts (`Battles.summary`)
    prompts_file                  "provenance.npz"
    digest                        DIGEST_RULE (how a prompt becomes a digest)
    near_duplicates               {"encoder", "text_policy"} of the stored embeddings, if any

and in `PROMPTS_FILE` (npz, next to config.json) the arrays of a `PromptRecord`:

    digests     uint64 (n_prompts,), sorted, distinct: `prompt_digests`
    embeddings  float16 (n_prompts, dim): the training prompts' unit embeddings under the
                router's own encoder and text policy (or `train_router`'s encoder)

`lab.train.train_router` adds the data spec with absolute paths and each source
file's sha256 (see there). Decontamination (`data.decontaminate`) drops an evaluation prompt
whose digest is a training digest (exact duplicate) or whose embedding has cosine >= 0.95
to a stored row (near duplicate, RouteLLM §5.1). float16 keeps cosines to within about 1e-4
(exactly, for model2vec encoders, whose outputs are float16 values): on MMLU the shipped mf
router removes the same 835 prompts as with the texts re-loaded. int8 rows were tried and
halve the file, but move cosines by up to 4e-3 and flipped 4 of those 835 at 0.9500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import CheckpointError, atomic_path
from routellm_py.data.digests import DIGEST_RULE, prompt_digests

PROMPTS_FILE = "provenance.npz"


def unit_rows(emb: np.ndarray) -> np.ndarray:
    """float32 rows scaled to norm 1 (an all-zero row stays zero)."""
    emb = np.asarray(emb, dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.where(norms > 0, norms, 1.0)


class PromptRecord:
    """A router's training-prompt digests and (optionally) embeddings; read from the
    checkpoint's `PROMPTS_FILE` on first use, so loading a router for serving reads nothing."""

    def __init__(
        self,
        digests: np.ndarray | None = None,
        embeddings: np.ndarray | None = None,
        path: Path | None = None,
    ) -> None:
        self._arrays = None if digests is None else (digests, embeddings)
        self.path = path

    def _load(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self._arrays is None:
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    digests = z["digests"].astype(np.uint64)
                    emb = z.get("embeddings")
            except (OSError, ValueError, KeyError) as e:
                raise CheckpointError(f"{self.path}: unreadable provenance arrays ({e})") from e
            if emb is not None and emb.ndim != 2:
                raise CheckpointError(f"{self.path}: embeddings must be a 2-D array")
            self._arrays = (digests, emb)
        return self._arrays

    @property
    def digests(self) -> np.ndarray:
        return self._load()[0]

    def embeddings(self) -> np.ndarray | None:
        """The stored training-prompt embeddings as unit float32 rows, or None."""
        emb = self._load()[1]
        return None if emb is None else unit_rows(emb)

    def save(self, directory: Path) -> Path:
        """Write `PROMPTS_FILE` into `directory` (atomically)."""
        digests, emb = self._load()
        arrays = {"digests": digests} if emb is None else {"digests": digests, "embeddings": emb}
        path = directory / PROMPTS_FILE
        with atomic_path(path) as tmp, tmp.open("wb") as fh:  # a handle: savez adds no ".npz"
            np.savez_compressed(fh, **arrays)
        return path


def attach_checkpoint_record(router: Any, directory: Path) -> None:
    """At load: point the router at `directory`'s `PROMPTS_FILE` (read lazily), if any."""
    path = directory / PROMPTS_FILE
    router.prompt_record = PromptRecord(path=path) if path.is_file() else None


def record_fit(router: Any, battles: Any, encoder: str | None = None) -> None:
    """Record what `router` was just fitted on (see the module docstring). The prompts are
    embedded (for near duplicates) with the router's own encoder and text policy (embedding
    routers), else with `encoder` (a `get_encoder` spec) if given, else not at all."""
    from routellm_py._version import __version__

    prompts = sorted(set(battles.frame["prompt"]))
    digests = prompt_digests(prompts)
    emb = None
    near: dict[str, Any] = {}
    own = getattr(router, "embed", None)
    if prompts and (own is not None or encoder is not None):
        policy = getattr(router, "policy", None) if own is not None else None
        spec = router.encoder if own is not None else encoder
        if own is not None:
            emb = _own_embeddings(router, prompts)
        else:
            from routellm_py.embeddings.encoders import get_encoder

            emb = get_encoder(spec).encode(prompts)
        emb = np.asarray(emb, dtype=np.float16)
        near = {
            "near_duplicates": {
                "encoder": spec,
                "text_policy": policy.to_dict() if policy is not None else None,
            }
        }
    router.prompt_record = PromptRecord(digests, emb)
    router.provenance.update(
        {
            "library_version": __version__,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_battles": len(battles),
            "n_prompts": len(digests),
            "sources": battles.summary().reset_index().to_dict(orient="records"),
            "prompts_file": PROMPTS_FILE,
            "digest": DIGEST_RULE,
            **near,
        }
    )


def _own_embeddings(router: Any, prompts: list[str]) -> np.ndarray:
    """`router.embed(prompts)`, reusing the rows its fit embedded (`fit_embedded`, taken
    from the router) and embedding only the prompts fit did not."""
    done, rows = router.__dict__.pop("fit_embedded", None) or ([], None)
    index = {p: i for i, p in enumerate(done)}
    missing = [p for p in prompts if p not in index]
    if missing:
        new = router.embed(missing)
        rows = new if rows is None else np.concatenate([rows, new])
        index.update({p: len(done) + i for i, p in enumerate(missing)})
    return rows[[index[p] for p in prompts]]


def drop_embeddings(router: Any) -> None:
    """Keep only the digests of the router's record (exact-duplicate decontamination)."""
    if router.prompt_record is not None:
        router.prompt_record = PromptRecord(router.prompt_record.digests)
    router.provenance.pop("near_duplicates", None)


def recording_fit(fit: Callable) -> Callable:
    """Wrap a `Router.fit` so that the outermost call starts a fresh provenance and records
    the battles it was given (`record_fit`); a subclass's `super().fit` records nothing."""

    @functools.wraps(fit)
    def wrapper(self: Any, battles: Any, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_fitting"):
            return fit(self, battles, *args, **kwargs)
        self._fitting = True
        self.provenance = {}
        self.__dict__.pop("fit_embedded", None)  # left by a fit that raised
        try:
            out = fit(self, battles, *args, **kwargs)
        finally:
            del self._fitting
        record_fit(self, battles)
        return out

    return wrapper
