"""`routellm-py train ROUTER --data SOURCES --out DIR [--init CHECKPOINT] [hyperparameters]`.

Every constructor parameter of the router class with a plain default becomes a flag
(`n_epochs` -> `--n-epochs`), so a new router needs no CLI code.

`--init CHECKPOINT` warm-starts from a trained router of the same kind (routers whose `fit`
takes `init`, e.g. mf): its strong/weak pair and hyperparameters are the defaults, its
weights the starting point, e.g. `train mf --data feedback:sqlite:///fb.db --init
routers/mf --out routers/mf-feedback`. Provenance records the checkpoint and its data.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import sys
from typing import Any

from routellm_py.cli.common import add_data_dir, add_models


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a router on preference data and save a checkpoint",
        description=__doc__,
        add_help=False,
    )
    p.add_argument("router", help="registry name, e.g. mf, sw_ranking, bert")
    p.add_argument("--data", required=False, help="comma-separated sources (see data/README.md)")
    p.add_argument("--out", required=False, help="checkpoint directory to write")
    p.add_argument("--init", default=None, help="warm-start from this checkpoint (e.g. mf)")
    p.add_argument("-h", "--help", action="store_true", help="show options, with the router's")
    add_data_dir(p)
    add_models(p)
    p.set_defaults(func=run)


def router_options(cls: type) -> argparse.ArgumentParser:
    """A parser holding one flag per plain-typed constructor parameter of `cls`."""
    p = argparse.ArgumentParser(prog=f"routellm-py train {cls.name}", add_help=False)
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "strong_model", "weak_model") or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            continue
        flag, default = "--" + name.replace("_", "-"), param.default
        if isinstance(default, bool):
            p.add_argument(flag, dest=name, default=default, action=argparse.BooleanOptionalAction)
        elif isinstance(default, int | float | str) or default is None:
            kind = type(default) if default is not None else str
            p.add_argument(flag, dest=name, default=default, type=kind, help=f"(default {default})")
    return p


def run(args: argparse.Namespace) -> int:
    import routellm_py.feedback.battles  # noqa: F401 (registers the feedback: source)
    from routellm_py.data.sources import load_sources
    from routellm_py.embeddings.encoders import use_offline_defaults
    from routellm_py.routers.base import get_router_class

    use_offline_defaults()  # disk cache, reference encoder backend (serving: RAM, fast path)

    cls = get_router_class(args.router)
    opts = router_options(cls)
    if args.help or not args.data or not args.out:
        opts.print_help()
        return 0 if args.help else 2
    init, fit_kwargs = _init(cls, args.init, opts)
    params: dict[str, Any] = vars(opts.parse_args(args.extra))
    strong, weak = (init.strong_model, init.weak_model) if init else (args.strong, args.weak)
    battles = load_sources(args.data, data_dir=args.data_dir, strong=strong, weak=weak)
    print(battles.summary().to_string(), file=sys.stderr)
    router = cls(strong_model=strong, weak_model=weak, **params)
    # Routers that read more than battles (e.g. quality_gap's scores) take the data dir too.
    if "data_dir" in inspect.signature(cls.fit).parameters:
        fit_kwargs["data_dir"] = args.data_dir
    router.fit(battles, **fit_kwargs)
    prompts = sorted(set(battles.frame["prompt"]))
    router.provenance = {
        "data": args.data,
        "sources": battles.summary().reset_index().to_dict(orient="records"),
        "n_battles": len(battles),
        "train_prompts_sha256": hashlib.sha256("\x00".join(prompts).encode()).hexdigest(),
        **router.provenance,
        **({"init": _init_provenance(args.init, init)} if init else {}),
    }
    out = router.save(args.out)
    print(f"saved {cls.name} router to {out}")
    return 0


def _init(cls: type, path: str | None, opts: argparse.ArgumentParser) -> tuple[Any, dict[str, Any]]:
    """(the --init router or None, fit kwargs); its params become the flags' defaults."""
    if path is None:
        return None, {}
    from routellm_py.routers.base import Router

    if "init" not in inspect.signature(cls.fit).parameters:
        raise ValueError(f"router {cls.name!r} cannot warm-start: its fit takes no init")
    init = Router.load(path)
    if not isinstance(init, cls):
        raise ValueError(f"--init {path} holds a {init.name!r} router, not {cls.name!r}")
    flags = {a.dest for a in opts._actions}
    opts.set_defaults(**{k: v for k, v in init.get_params().items() if k in flags})
    return init, {"init": init}


def _init_provenance(path: str, init: Any) -> dict[str, Any]:
    """What the warm start started from: the checkpoint, its weights' id and its data."""
    return {"checkpoint": str(path), "fingerprint": init.fingerprint(), **init.provenance}
