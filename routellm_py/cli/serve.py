"""`routellm-py serve --routers mf,sw_ranking --strong-model M --weak-model M [--config FILE]`.

Starts the OpenAI-compatible server (needs the `[serve]` extra: fastapi, uvicorn).
The config file (JSON, or YAML if PyYAML is installed) may hold:

    routers:      {name: {checkpoint: PATH} or {constructor params}}
    strong_model: NAME or {model, api_base, api_key_env, extra}
    weak_model:   NAME or {model, api_base, api_key_env, extra}
    controller:   {timeout, attempt_timeout, num_retries, backoff, max_retry_after,
                   fallback, route_on, max_route_chars, models, ...}

`controller.models` lists the N-way models ({model, api_base?, api_key_env?, price_in?,
price_out?, output_tokens?, router_name?}; `routellm_py.controller.nway`), routed to by
`router-<name>-nway-lambda<lambda>` and `router-<name>-nway-t<t>`.

Command-line flags override the file. Provider keys come from the environment (litellm's
usual variables, or `api_key_env` / --strong-api-key-env), never from the command line.

`--workers N` runs N server processes on one listening socket; give them `--state
redis://HOST:PORT/DB` (extra `[state]`) so that budgets (`router-<name>-b<fraction>`,
`router-<name>-nway-usd<dollars>`) and the /stats counters are shared, else each worker
holds its own. The app is also importable as a factory:
`ROUTELLM_PY_SERVE_ARGS="--routers mf ..." uvicorn --factory routellm_py.cli.serve:app_factory`.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from routellm_py._util import API_KEY_ENV, SERVE_ARGS_ENV, json_object
from routellm_py.cli.common import add_data_dir, split_list
from routellm_py.server_guard import DEFAULT_MAX_CONCURRENCY, HEADER_TIMEOUT_S
from routellm_py.server_http import BODY_TIMEOUT_S, DEFAULT_MAX_BODY_BYTES


def add_bind_options(p: argparse.ArgumentParser) -> None:
    """Where the server listens and whom it serves: shared by `serve` and `ui`."""
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6060)
    p.add_argument(
        "--api-key",
        default=None,
        help=f"bearer token clients must send (default: ${API_KEY_ENV}; unset = no auth)",
    )
    p.add_argument(
        "--allowed-hosts",
        type=split_list,
        default=None,
        help="Host header names served, '*' for any (default: loopback names when bound "
        "to loopback, else any)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def add_controller_options(p: argparse.ArgumentParser, models_note: str = "") -> None:
    """Which routers and models: shared by `serve` and `ui` (`models_note` ends the model
    flags' help)."""
    p.add_argument("--routers", type=split_list, default=None, help="e.g. mf,sw_ranking")
    p.add_argument("--config", default=None, help="JSON/YAML config file (see `serve --help`)")
    for which in ("strong", "weak"):
        help_text = f"litellm model name of the {which} model{models_note}"
        p.add_argument(f"--{which}-model", default=None, help=help_text)
    p.add_argument("--api-base", default=None, help="api_base shared by both models")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="run the OpenAI-compatible routing server", description=__doc__
    )
    add_controller_options(p)
    add_bind_options(p)
    for which in ("strong", "weak"):
        p.add_argument(f"--{which}-api-base", default=None, help=f"api_base of the {which} model")
        p.add_argument(
            f"--{which}-api-key-env", default=None, help=f"env variable holding the {which} key"
        )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds for a whole request: every attempt, retry wait and fallback (600)",
    )
    p.add_argument(
        "--attempt-timeout", type=float, default=None, help="seconds per LLM call (the time left)"
    )
    p.add_argument("--num-retries", type=int, default=None, help="retries per model (2)")
    p.add_argument(
        "--max-retry-after",
        type=float,
        default=None,
        help="longest provider Retry-After waited for before a retry (30 s)",
    )
    p.add_argument("--fallback", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--route-on", choices=["last_user", "window"], default=None)
    p.add_argument("--max-body-bytes", type=int, default=None, help="request size limit (4 MiB)")
    p.add_argument(
        "--max-concurrency",
        type=int,
        default=DEFAULT_MAX_CONCURRENCY,
        help=f"requests in flight; beyond, 503 (default {DEFAULT_MAX_CONCURRENCY})",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="open connections (default: half the open-file limit)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        help=f"seconds to send request headers (default {HEADER_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT_S,
        help=f"seconds to send a request body (default {BODY_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--models",
        type=split_list,
        default=None,
        help="model ids GET /v1/models lists, e.g. router-mf-0.116,router-mf-s0.3 "
        "(default: router-<name>-0.5 per router)",
    )
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument(
        "--state",
        default=None,
        help="where budgets and /stats counters keep their state: redis://HOST:PORT/DB "
        "(shared by workers and machines; extra [state]); default: in each process",
    )
    p.add_argument(
        "--state-timeout",
        type=float,
        default=0.05,
        help="seconds per state call before routing goes on locally (default 0.05)",
    )
    p.add_argument("--log-prompts", action="store_true", help="log prompt text (off by default)")
    p.add_argument(
        "--feedback-db",
        default=None,
        help="store decisions and POST /v1/feedback outcomes: sqlite:///PATH or postgresql://...",
    )
    p.add_argument(
        "--store-prompts",
        action="store_true",
        help="keep prompt text in the feedback database (off by default; needed to retrain)",
    )
    add_data_dir(p)
    p.set_defaults(func=run)


def read_config(path: str | None) -> dict[str, Any]:
    """The config file as a dict; unknown top-level keys are an error."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {p} does not exist")
    text = p.read_text(encoding="utf-8")
    if p.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"{p} must hold a mapping")
    else:
        data = json_object(text, str(p))
    unknown = set(data) - {"routers", "strong_model", "weak_model", "controller"}
    if unknown:
        raise ValueError(
            f"{p}: unknown keys {sorted(unknown)}; "
            "use routers, strong_model, weak_model, controller"
        )
    return data


def _endpoint(args: argparse.Namespace, config: dict[str, Any], which: str) -> dict[str, Any]:
    """The model endpoint from the config file, with command-line flags on top."""
    base = config.get(f"{which}_model")
    endpoint = {"model": base} if isinstance(base, str) else dict(base or {})
    if getattr(args, f"{which}_model"):
        endpoint["model"] = getattr(args, f"{which}_model")
    if "model" not in endpoint:
        raise ValueError(f"--{which}-model is required (or {which}_model in --config)")
    for key in ("api_base", "api_key_env"):
        flag = getattr(args, f"{which}_{key}")
        if flag is not None:
            endpoint[key] = flag
    return endpoint


def controller_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of the Controller described by the flags and the config file."""
    config = read_config(args.config)
    routers_config = config.get("routers") or {}
    routers = args.routers or list(routers_config)
    if not routers:
        raise ValueError("--routers is required (or routers in --config)")
    options: dict[str, Any] = dict(config.get("controller") or {})
    for key in (
        "timeout",
        "attempt_timeout",
        "num_retries",
        "max_retry_after",
        "fallback",
        "route_on",
    ):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.state is not None:
        from routellm_py.controller.counters import RedisCounters
        from routellm_py.policy.redis_state import redis_client, redis_state_factory

        options["budget_state"] = redis_state_factory(args.state, args.state_timeout)
        options["counters"] = RedisCounters(redis_client(args.state, args.state_timeout))
    return {
        "routers": routers,
        "strong_model": _endpoint(args, config, "strong"),
        "weak_model": _endpoint(args, config, "weak"),
        "config": routers_config,
        "api_base": args.api_base,
        "data_dir": args.data_dir,
        "feedback_db": args.feedback_db,
        "store_prompts": args.store_prompts,
        **options,
    }


def app_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """`create_app` keyword arguments from the flags."""
    return {
        "api_key": args.api_key or os.environ.get(API_KEY_ENV) or None,
        "max_body_bytes": args.max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        "log_prompts": args.log_prompts,
        "models": args.models,
        "max_concurrency": args.max_concurrency,
        "body_timeout": args.body_timeout,
    }


def app_factory() -> Any:
    """The app from the serve flags in $ROUTELLM_PY_SERVE_ARGS (for `uvicorn --factory`)."""
    from routellm_py.controller import Controller
    from routellm_py.server import create_app, served_hosts

    parser = argparse.ArgumentParser(prog="routellm-py")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", *shlex.split(os.environ.get(SERVE_ARGS_ENV, ""))])
    hosts = served_hosts(args.host, args.allowed_hosts)
    return create_app(
        Controller(**controller_kwargs(args)), allowed_hosts=hosts, **app_kwargs(args)
    )


def run(args: argparse.Namespace, sockets: list[Any] | None = None) -> int:
    """Serve in this process (on `sockets` if given: a worker of `run_workers`)."""
    from routellm_py.controller import Controller
    from routellm_py.server import configure_logging, serve

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    configure_logging(args.log_level)
    if args.workers > 1 and sockets is None:
        return run_workers(args)
    serve(
        Controller(**controller_kwargs(args)),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        allowed_hosts=args.allowed_hosts,
        max_connections=args.max_connections,
        header_timeout=args.header_timeout,
        sockets=sockets,
        **app_kwargs(args),
    )
    return 0


def run_workers(args: argparse.Namespace) -> int:
    """`args.workers` processes (spawned) accepting on one socket bound here; stops them
    all on Ctrl-C / SIGTERM, or when one exits."""
    import multiprocessing
    import signal

    import uvicorn

    if args.state is None:
        print("serve: --workers without --state: each worker keeps its own budgets and /stats")
    sock = uvicorn.Config("unused", host=args.host, port=args.port).bind_socket()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run, args=(args, [sock])) for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # KeyboardInterrupt
    try:
        while all(proc.is_alive() for proc in procs):
            procs[0].join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)
        sock.close()
    return max(proc.exitcode or 0 for proc in procs)
