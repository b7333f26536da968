"""`routellm-py ui --routers random,length [--results DIR]`: the browser pages alone.

Serves the playground (win rates and decisions of every loaded router for your prompts),
the benchmark curves of the last `bench` run (`--results`, default benchmarks/results) and
the live dashboard at http://HOST:PORT/ui/ (needs the `[serve]` extra). Without
--strong-model and --weak-model it needs no upstream model: routing only, and chat
completions are refused. With both (or a --config as for `serve`) the playground also
shows the answer. Bind address, Host allow list and --api-key work as for `serve`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from routellm_py._util import API_KEY_ENV
from routellm_py.cli import serve
from routellm_py.cli.common import add_data_dir
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK


def serve_defaults() -> dict[str, Any]:
    """Every `serve` option at its default: what `controller_kwargs` reads beyond ours."""
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    return vars(parser.parse_args(["serve"]))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ui", help="browser playground, benchmark curves and dashboard", description=__doc__
    )
    serve.add_controller_options(p, models_note=" (optional: for answers)")
    p.add_argument("--results", default="benchmarks/results", help="bench output directory")
    serve.add_bind_options(p)
    add_data_dir(p)
    p.set_defaults(func=run)


def build_app(args: argparse.Namespace) -> Any:
    """The server app for these arguments: routing only unless both models are given."""
    from routellm_py.controller import Controller
    from routellm_py.server import create_app, served_hosts
    from routellm_py.ui.app import RoutingOnly

    args = argparse.Namespace(**{**serve_defaults(), **vars(args)})
    config = serve.read_config(args.config)
    chat = all(getattr(args, f"{w}_model") or config.get(f"{w}_model") for w in ("strong", "weak"))
    if not chat:  # names for the decisions shown; no call is ever made to them
        args.strong_model, args.weak_model = DEFAULT_STRONG, DEFAULT_WEAK
    app = create_app(
        Controller(**serve.controller_kwargs(args)),
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        allowed_hosts=served_hosts(args.host, args.allowed_hosts),
    )
    app.state.ui.chat = chat
    app.state.ui.results_dir = Path(args.results)
    if not chat:
        app.add_middleware(RoutingOnly)
    return app


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from routellm_py.server import configure_logging, uvicorn_config

    configure_logging(args.log_level)
    app = build_app(args)
    print(f"routellm-py ui: http://{args.host}:{args.port}/ui/", flush=True)
    uvicorn.Server(uvicorn_config(app, args.host, args.port, args.log_level)).run()
    return 0
