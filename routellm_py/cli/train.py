"""`routellm-py train ROUTER --data SOURCES --out DIR [--init CHECKPOINT] [hyperparameters]`.

Every constructor parameter of the router class with a plain default becomes a flag
(`n_epochs` -> `--n-epochs`), so a new router needs no CLI code.

`--init CHECKPOINT` warm-starts from a trained router of the same kind (routers whose `fit`
takes `init`, e.g. mf): its strong/weak pair and hyperparameters are the defaults, its
weights the starting point, e.g. `train mf --data feedback:sqlite:///fb.db --init
routers/mf --out routers/mf-feedback`. Provenance records the checkpoint and its data.

A thin wrapper over `routellm_py.lab.train.train_router`, which records the provenance
(absolute source paths and their sha256, training-prompt digests; see there).
"""

from __future__ import annotations

import argparse
import inspect
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
    p.add_argument(
        "--digests-only",
        action="store_true",
        help="record training-prompt digests but not their embeddings (a smaller checkpoint; "
        "bench then removes exact duplicates only)",
    )
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
    from routellm_py.embeddings.encoders import use_offline_defaults
    from routellm_py.lab.train import train_router
    from routellm_py.routers.base import Router, get_router_class

    use_offline_defaults()  # disk cache, reference encoder backend (serving: RAM, fast path)

    cls = get_router_class(args.router)
    opts = router_options(cls)
    if args.help or not args.data or not args.out:
        opts.print_help()
        return 0 if args.help else 2
    if args.init:  # the warm start's hyperparameters are the flags' defaults
        flags = {a.dest for a in opts._actions}
        init = Router.load(args.init).get_params()
        opts.set_defaults(**{k: v for k, v in init.items() if k in flags})
    params: dict[str, Any] = vars(opts.parse_args(args.extra))
    pair = (None, None) if args.init else (args.strong, args.weak)
    router = train_router(
        cls.name, args.data, args.out, init=args.init, data_dir=args.data_dir,
        strong=pair[0], weak=pair[1], digests_only=args.digests_only, verbose=True, **params,
    )  # fmt: skip
    print(f"saved {cls.name} router to {router.checkpoint_dir}")
    return 0
