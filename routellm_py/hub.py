"""Routers on the Hugging Face Hub, both ways.

Loading rule (one rule, no guessing): a router spec that starts with `hf:` names a Hub
repository, `hf:OWNER/NAME` or `hf:OWNER/NAME@REVISION` (branch, tag or commit); anything
else is a local path or name (see `routellm_py.load_router`). The repository holds a
checkpoint at its root (config.json, weights, README.md), exactly what `Router.save` writes.
It is fetched with `huggingface_hub.snapshot_download` into the standard Hub cache
(`$HF_HUB_CACHE`, default ~/.cache/huggingface/hub), so with `HF_HUB_OFFLINE=1` a cached
revision loads without network.

Pushing: `push_to_hub(router_or_dir, "OWNER/NAME")` uploads the checkpoint files with its
model card as the repository's README.md (`HfApi.create_repo` + `HfApi.upload_folder`).

This module sits below `routers.base` (whose `load_router` fetches `hf:` specs through it)
and imports nothing from it: a router is pushed from its `checkpoint_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from routellm_py._util import CARD_FILE, CONFIG_FILE, HUB_PREFIX, CheckpointError, json_object

# Files of a checkpoint directory that are never uploaded: partial writes and OS litter.
SKIP_SUFFIXES = (".tmp", ".lock", ".pyc")


def parse_hub_spec(spec: str, revision: str | None = None) -> tuple[str, str | None]:
    """`hf:OWNER/NAME[@REV]` -> (repo id, revision); `revision=` must not contradict @REV."""
    body = spec.removeprefix(HUB_PREFIX)
    repo_id, _, rev = body.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(
            f"Hub router spec {spec!r} must be {HUB_PREFIX}OWNER/NAME or "
            f"{HUB_PREFIX}OWNER/NAME@REVISION"
        )
    if rev and revision and rev != revision:
        raise ValueError(f"{spec!r} names revision {rev!r}, but revision={revision!r} was passed")
    return repo_id, (rev or revision or None)


def download_router(
    spec: str, revision: str | None = None, cache_dir: str | Path | None = None
) -> Path:
    """The local snapshot directory of a Hub router, fetched into the Hub cache if needed.

    Offline (`HF_HUB_OFFLINE=1`) only the cache is read; a miss raises `CheckpointError`
    naming the repository, the revision, the cache and how to fix it."""
    return download_snapshot(spec, revision, cache_dir, repo_type="model")


def download_snapshot(
    spec: str,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    repo_type: str = "model",
) -> Path:
    """`snapshot_download` of a model or dataset repository, with errors that name the fix."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id, rev = parse_hub_spec(spec, revision)
    where = f"{repo_type} {repo_id!r} (revision {rev or 'main'})"
    try:
        # offline: say so explicitly (for a commit hash huggingface_hub would otherwise try to
        # list the repository's files online)
        path = snapshot_download(
            repo_id,
            repo_type=repo_type,
            revision=rev,
            cache_dir=cache_dir,
            local_files_only=bool(constants.HF_HUB_OFFLINE),
        )
    except LocalEntryNotFoundError as e:
        cache = cache_dir or constants.HF_HUB_CACHE
        if constants.HF_HUB_OFFLINE:
            raise CheckpointError(
                f"Hub {where} is not in the Hugging Face cache at {cache}, and HF_HUB_OFFLINE=1 "
                f"forbids downloading it. Fetch it once online (HF_HUB_OFFLINE=0 "
                f"hf download {repo_id}{f' --revision {rev}' if rev else ''}"
                f"{' --repo-type dataset' if repo_type == 'dataset' else ''}), point "
                "HF_HUB_CACHE at a cache that holds it, or pass a local checkpoint path"
            ) from e
        raise CheckpointError(
            f"Hub {where} could not be downloaded and is not cached at {cache}: {e}. "
            "Check the network (or HF_ENDPOINT), or pass a local checkpoint path"
        ) from e
    except RevisionNotFoundError as e:
        raise CheckpointError(f"Hub {where}: no such revision; check the branch/tag/commit") from e
    except RepositoryNotFoundError as e:
        raise CheckpointError(
            f"Hub {where} does not exist or is private; check the id, or log in "
            "(HF_TOKEN) if it is private"
        ) from e
    return Path(path)


def upload_set(directory: str | Path) -> list[str]:
    """The files of a checkpoint directory that `push_to_hub` uploads, relative and sorted:
    config.json, README.md (the model card), weights and sub-folders (e.g. `model/`)."""
    d = Path(directory)
    if not (d / CONFIG_FILE).is_file():
        raise CheckpointError(f"{d} is not a router checkpoint: no {CONFIG_FILE}")
    if not (d / CARD_FILE).is_file():
        raise CheckpointError(f"{d} has no {CARD_FILE} model card; re-save it with Router.save")
    files = [
        f.relative_to(d).as_posix()
        for f in d.rglob("*")
        if f.is_file()
        and not f.name.endswith(SKIP_SUFFIXES)
        and not any(
            part.startswith(".") or part == "__pycache__" for part in f.parts[len(d.parts) :]
        )
    ]
    return sorted(files)


def push_to_hub(
    router_or_dir: Any,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> Any:
    """Upload a checkpoint to the Hub repository `repo_id` (created if missing) and return
    huggingface_hub's `CommitInfo`. A router object is uploaded from its `checkpoint_dir`
    (save it first); the model card README.md becomes the repository's README."""
    from huggingface_hub import HfApi, constants

    if isinstance(router_or_dir, str | os.PathLike):
        directory = Path(router_or_dir)
    elif router_or_dir.checkpoint_dir is None:
        raise CheckpointError("this router has no checkpoint directory: call save(DIR) first")
    else:
        directory = Path(router_or_dir.checkpoint_dir)
    repo_id = repo_id.removeprefix(HUB_PREFIX)
    if repo_id.count("/") != 1:
        raise ValueError(f"repo id {repo_id!r} must be OWNER/NAME")
    if constants.HF_HUB_OFFLINE:
        raise CheckpointError("HF_HUB_OFFLINE=1 forbids uploading; unset it to push")
    files = upload_set(directory)
    name = _router_name(directory)
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    return api.upload_folder(
        repo_id=repo_id,
        folder_path=directory,
        revision=revision,
        allow_patterns=files,
        commit_message=commit_message or f"Upload {name} router",
    )


def _router_name(directory: Path) -> str:
    """The `router` field of a checkpoint's config.json (CheckpointError if unreadable)."""
    path = directory / CONFIG_FILE
    config = json_object(path.read_bytes(), str(path), CheckpointError)
    if not isinstance(config.get("router"), str):
        raise CheckpointError(f"{path} names no router: re-save the checkpoint with Router.save")
    return config["router"]
