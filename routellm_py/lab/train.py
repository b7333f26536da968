"""Train a router from a data spec and record where its data came from.

`train_router("mf", data="arena-bench-v1,csv:prefs.csv", out="routers/my-mf")` resolves the
spec (`data.sources`), fits and saves. Its provenance (config.json "provenance") holds, besides
what every `Router.fit` records (`routers.provenance`: prompt digests, library version, time):

    data         the spec with every path absolute (`csv:/abs/prefs.csv`,
                 `feedback:sqlite:////abs/fb.db`), so the checkpoint means the same from any
                 working directory; a database password is written as `***`
    data_given   the spec as given, when it differs
    files        [{"source", "path", "sha256"}] for every file a source read
    init         the warm-start checkpoint, its fingerprint and its provenance (`init=`)

`python -m routellm_py.lab.train add-provenance CHECKPOINT...` records the prompt
digests and embeddings of an existing checkpoint from its recorded spec, without
refitting (how the shipped routers got theirs).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import routellm_py.feedback.battles  # noqa: F401 (registers the feedback: data source)
from routellm_py._util import CARD_FILE, sha256_file
from routellm_py.data.battles import Battles
from routellm_py.routers.base import Router, get_router_class, load_router
from routellm_py.routers.provenance import drop_embeddings, record_fit

SQLITE = "sqlite:///"


def resolve_spec(spec: str) -> tuple[str, list[dict[str, str]]]:
    """(the spec with absolute paths, [{"source", "path", "sha256"}] of its files).

    A path that does not exist is refused here, naming the directory it was looked up in."""
    from routellm_py.data.sources import parse_spec

    items, files = [], []
    for s in parse_spec(spec):
        path = s.path
        if s.name == "feedback" and path and path.startswith(SQLITE):
            local = _existing(path[len(SQLITE) :], s.name)
            path = SQLITE + str(local)
            files.append({"source": s.name, "path": str(local), "sha256": sha256_file(local)})
        elif s.name == "feedback" and path:
            path = _redact(path)
        elif path and not path.startswith("hf:"):
            local = _existing(path, s.name)
            path = str(local)
            files.append({"source": s.name, "path": path, "sha256": sha256_file(local)})
        item = f"{s.name}:{path}" if path else s.name
        items.append(item if s.weight == 1.0 else f"{item}@{s.weight:g}")
    return ",".join(items), files


def _existing(path: str, source: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{source}: no such file {path!r} (looked in {Path.cwd()})")
    return p.resolve()


def _redact(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def train_router(
    router: str | Router,
    data: str | Battles,
    out: str | Path | None = None,
    *,
    init: str | Path | None = None,
    data_dir: str | Path | None = None,
    strong: str | None = None,
    weak: str | None = None,
    near_duplicate_encoder: str | None = "minilm",
    digests_only: bool = False,
    verbose: bool = False,
    progress: bool = True,
    **params: Any,
) -> Router:
    """Fit `router` (a registry name, built with `params`, or an unfitted Router) on `data`
    (a spec, see `data.sources`, or a Battles table) and save it to `out` if given.

    `init` warm-starts from a checkpoint of the same router (its strong/weak pair and
    parameters are the defaults). A router without its own encoder gets its near-duplicate
    embeddings from `near_duplicate_encoder` (None: digests only, exact duplicates only).
    `digests_only` keeps no embeddings for any router: the checkpoint is smaller (the
    embeddings take 2 * dim bytes a prompt, 358 MB for 700k prompts at dim 256), and
    decontamination against it drops exact duplicates only (and says so).
    `verbose` prints the per-source summary of the loaded spec to stderr; `progress=False`
    turns the fit's progress bars off (routers whose fit takes `progress`)."""
    cls = get_router_class(router) if isinstance(router, str) else type(router)
    warm = _load_init(cls, init)
    if isinstance(router, Router):
        if params:
            raise ValueError(f"give {sorted(params)} to the Router you pass, not to train_router")
        model = router
    else:
        base = warm.get_params() if warm is not None else {}
        pair = {"strong_model": strong, "weak_model": weak}
        model = cls(**{**base, **params, **{k: v for k, v in pair.items() if v is not None}})
    extra: dict[str, Any] = {}
    if isinstance(data, str):
        from routellm_py.data.sources import load_sources

        resolved, files = resolve_spec(data)
        extra = {"data": resolved, "files": files}
        if resolved != data:
            extra["data_given"] = data
        data = load_sources(resolved, data_dir, model.strong_model, model.weak_model)
        if verbose:
            print(data.summary().to_string(), file=sys.stderr)
    fit_kwargs: dict[str, Any] = {"init": warm} if warm is not None else {}
    takes = inspect.signature(cls.fit).parameters
    if "data_dir" in takes:
        fit_kwargs["data_dir"] = data_dir  # routers that read more than battles (quality_gap)
    if "progress" in takes:
        fit_kwargs["progress"] = progress
    model.fit(data, **fit_kwargs)
    if digests_only:
        drop_embeddings(model)
    elif getattr(model, "embed", None) is None and near_duplicate_encoder is not None:
        record_fit(model, data, encoder=near_duplicate_encoder)
    model.provenance.update(extra)
    if warm is not None:
        model.provenance["init"] = {
            "checkpoint": str(Path(init).resolve()),
            "fingerprint": warm.fingerprint(),
            **warm.provenance,
        }
    if out is not None:
        model.save(out)
    return model


def _load_init(cls: type[Router], path: str | Path | None) -> Router | None:
    """The warm-start router at `path`, checked to be a `cls` whose fit takes `init`."""
    if path is None:
        return None
    if "init" not in inspect.signature(cls.fit).parameters:
        raise ValueError(f"router {cls.name!r} cannot warm-start: its fit takes no init")
    warm = Router.load(path)
    if not isinstance(warm, cls):
        raise ValueError(f"--init {path} holds a {warm.name!r} router, not {cls.name!r}")
    return warm


def add_provenance(
    checkpoint: str | Path,
    data_dir: str | Path | None = None,
    near_duplicate_encoder: str | None = "minilm",
) -> Path:
    """Record the prompt digests and embeddings of a saved router from its provenance "data"
    spec, without refitting; its weights and other provenance stay as they are."""
    from routellm_py.data.sources import load_sources

    router = load_router(Path(checkpoint))
    spec = router.provenance.get("data")
    if not spec:
        raise ValueError(f"{checkpoint}: its provenance names no data spec to read prompts from")
    battles = load_sources(spec, data_dir, router.strong_model, router.weak_model)
    kept = dict(router.provenance)
    encoder = None if getattr(router, "embed", None) else near_duplicate_encoder
    record_fit(router, battles, encoder=encoder)
    router.provenance["prompts_recorded_at"] = router.provenance.pop("trained_at")
    router.provenance = {**kept, **router.provenance}
    return router.save(checkpoint, card=_card(Path(checkpoint)))


def _card(directory: Path) -> str | None:
    card = directory / CARD_FILE
    return card.read_text(encoding="utf-8") if card.is_file() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m routellm_py.lab.train", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add-provenance", help="record prompt digests of existing checkpoints")
    a.add_argument("checkpoints", nargs="+")
    a.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    from routellm_py.embeddings.encoders import use_offline_defaults

    use_offline_defaults()
    for c in args.checkpoints:
        print(f"recorded prompt digests in {add_provenance(c, args.data_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
