"""An OpenAI-compatible HTTP server around a `Controller` (FastAPI + uvicorn, extra `[serve]`).

Endpoints: `POST /v1/chat/completions` (JSON or SSE streaming, OpenAI format),
`POST /v1/route` (win rates and decisions for a batch, no LLM call), `POST /v1/feedback`
(the outcome of a routed response, by its routing `id`), `GET /v1/models`
(usable router model ids), `GET /health`, `GET /stats` (counters), `GET /metrics`
(Prometheus text, `server_metrics`).
Every error is an OpenAI-style JSON body `{"error": {message, type, param, code}}` with a
fitting HTTP status, never a traceback. Routing runs in worker threads, batched across
concurrent requests. Defaults are safe: bind 127.0.0.1 and serve only loopback `Host`s,
JSON bodies only (`Content-Type: application/json`, no NaN, bounded size, depth and read
time), bounded connections and requests in flight (`server_guard`), optional bearer-token
auth, no prompt text, upstream error text or API keys in the logs. A client that
disconnects cancels its request: no further upstream attempt is made for it.

No `from __future__ import annotations` here: FastAPI reads the handlers' annotations,
which name classes imported inside `create_app` (fastapi loads only when serving).
"""

import asyncio
import gc
import hmac
import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from routellm_py.controller import Controller, RoutingError, UpstreamError, parse_model_string
from routellm_py.server_guard import (
    DEFAULT_MAX_CONCURRENCY,
    HEADER_TIMEOUT_S,
    LOOPBACK_HOSTS,
    Guard,
    default_max_connections,
    guarded_h11,
    listen_backlog,
    one_line_loop_errors,
)
from routellm_py.server_http import (
    BODY_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    MAX_ROUTE_BATCH,
    ApiError,
    read_json,
)
from routellm_py.server_metrics import Metrics

log = logging.getLogger("routellm_py.server")

ROUTE_KEYS = ("model", "router", "threshold", "strong_fraction", "prompts", "messages")
FEEDBACK_KEYS = ("id", "rating", "preference")
# Idle keep-alive connections are closed after this long. Longer than clients' own idle
# expiry (httpx, hence the openai client: 5 s), so the client always closes first: with
# equal timeouts (uvicorn's default is 5 s) a request sent just as the server closes the
# connection is lost (a ReadError in the client; seen under load in benchmarks/server_load).
KEEP_ALIVE_S = 30

_NUMBER = (int, float)
# OpenAI chat-completion parameters forwarded to the model, with their JSON types.
# Anything else is refused: a client must not steer litellm (api_base, api_key, ...).
PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "frequency_penalty": _NUMBER,
    "presence_penalty": _NUMBER,
    "max_tokens": (int,),
    "max_completion_tokens": (int,),
    "n": (int,),
    "seed": (int,),
    "top_logprobs": (int,),
    "logprobs": (bool,),
    "stream": (bool,),
    "parallel_tool_calls": (bool,),
    "store": (bool,),
    "stop": (str, list),
    "tools": (list,),
    "functions": (list,),
    "tool_choice": (str, dict),
    "function_call": (str, dict),
    "response_format": (dict,),
    "stream_options": (dict,),
    "logit_bias": (dict,),
    "metadata": (dict,),
    "user": (str,),
    "reasoning_effort": (str,),
    "service_tier": (str,),
    "modalities": (list,),
}
# Tool types forwarded to the model. Others are refused: litellm acts on some itself
# (an "mcp" tool makes it connect to the tool's server_url).
TOOL_TYPES = ("function",)


def error_from(e: Exception) -> ApiError:
    """The JSON error answered for an exception: the controller's routing and upstream
    errors keep their status; anything else is logged and answered as a bare 500."""
    if isinstance(e, RoutingError):
        return ApiError(e.status, str(e), param=e.param, code=e.code)
    if isinstance(e, UpstreamError):
        return ApiError(
            e.status,
            str(e),
            kind="upstream_error",
            routing=e.routing,
            retry_after=e.retry_after,
        )
    log.error("internal error: %s", type(e).__name__, exc_info=e)
    return ApiError(500, f"internal server error ({type(e).__name__}); see the server log")


def check_params(body: Any) -> dict[str, Any]:
    """Validate a chat-completion request body's shape; messages are checked by routing."""
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, got {type(body).__name__}")
    if not isinstance(body.get("model"), str):
        raise ApiError(400, "model is required: a string such as router-mf-0.116", param="model")
    if "messages" not in body:
        raise ApiError(400, "messages is required", param="messages")
    unknown = sorted(set(body) - set(PARAM_TYPES) - {"model", "messages"})
    if unknown:
        raise ApiError(
            400,
            f"unsupported parameter(s) {', '.join(unknown)}; this server forwards only "
            f"OpenAI chat-completion parameters: {', '.join(sorted(PARAM_TYPES))}",
            param=unknown[0],
        )
    for name, kinds in PARAM_TYPES.items():
        value = body.get(name)
        bad_bool = isinstance(value, bool) and bool not in kinds
        if value is not None and (bad_bool or not isinstance(value, kinds)):
            expected = " or ".join(k.__name__ for k in kinds)
            raise ApiError(
                400, f"{name} must be {expected}, got {type(value).__name__}", param=name
            )
    check_tools(body)
    return body


def check_tools(body: dict[str, Any]) -> None:
    """`tools` must be function tools with a name (see TOOL_TYPES); `functions` named."""
    for i, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in TOOL_TYPES:
            raise ApiError(
                400,
                f"tools[{i}]: tool type {kind!r} is not supported; use "
                f"{', '.join(TOOL_TYPES)} tools: {{'type': 'function', 'function': {{'name'}}}}",
                param=f"tools[{i}].type",
            )
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(400, f"tools[{i}].function.name must be a string", param=f"tools[{i}]")
    for i, function in enumerate(body.get("functions") or []):
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(400, f"functions[{i}].name must be a string", param=f"functions[{i}]")


def check_fields(body: Any, allowed: Sequence[str], usage: str) -> None:
    """`body` is a JSON object with no field outside `allowed` (`usage` says what to send)."""
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(
            400, f"unsupported field(s) {', '.join(unknown)}; use {usage}", param=unknown[0]
        )


def check_route(body: Any, max_batch: int = MAX_ROUTE_BATCH) -> tuple[dict[str, Any], list[Any]]:
    """A `POST /v1/route` body: the target (`model`, or `router` with `threshold` or
    `strong_fraction`) and the prompts (`prompts`: strings or messages lists; or one
    conversation as `messages`). Values are checked by the Controller."""
    check_fields(body, ROUTE_KEYS, ", ".join(ROUTE_KEYS))
    if ("prompts" in body) == ("messages" in body):
        raise ApiError(400, "give either prompts (a list) or messages (one conversation)")
    prompts = body["prompts"] if "prompts" in body else [body["messages"]]
    if not isinstance(prompts, list) or not prompts:
        raise ApiError(400, "prompts must be a non-empty list", param="prompts")
    if len(prompts) > max_batch:
        raise ApiError(
            400, f"{len(prompts)} prompts; at most {max_batch} per request", param="prompts"
        )
    for i, p in enumerate(prompts):
        if not isinstance(p, str | list):
            raise ApiError(
                400,
                f"prompts[{i}] must be a string or a messages list, got {type(p).__name__}",
                param=f"prompts[{i}]",
            )
    return {k: body[k] for k in ROUTE_KEYS[:4] if k in body}, prompts


def check_feedback(body: Any) -> dict[str, Any]:
    """A `POST /v1/feedback` body: `id` and one of `rating` / `preference` (values are
    checked by the feedback store)."""
    check_fields(body, FEEDBACK_KEYS, "id with rating or preference")
    if not isinstance(body.get("id"), str):
        raise ApiError(400, "id is required: the `routing.id` of a response", param="id")
    return body


def create_app(
    controller: Controller,
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_prompts: bool = False,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    body_timeout: float = BODY_TIMEOUT_S,
    models: Sequence[str] | None = None,
) -> Any:
    """The FastAPI app. `api_key`: if set, clients must send `Authorization: Bearer <key>`.
    `allowed_hosts`: the `Host` names served (None: any); `max_concurrency`: requests in
    flight beyond which the answer is 503; `body_timeout`: seconds to send a body;
    `models`: the model ids `/v1/models` lists (default `router-<name>-0.5` per router)."""
    from importlib.util import find_spec

    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        raise ImportError("the server needs the [serve] extra: pip install 'routellm-py[serve]'")
    if max_concurrency < 1 or not body_timeout > 0 or max_body_bytes < 1:
        raise ValueError("need max_concurrency >= 1, body_timeout > 0 and max_body_bytes >= 1")
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response, StreamingResponse
    from starlette.exceptions import HTTPException

    counters: Counter = Counter()
    metrics = Metrics.create()
    model_ids = list(models or [f"router-{name}-0.5" for name in controller.routers])
    specs = {m: controller.spec(m) for m in model_ids}  # a bad id fails now (RoutingError)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        one_line_loop_errors(asyncio.get_running_loop(), counters)
        controller.warmup()
        yield
        controller.close()

    app = FastAPI(title="routellm-py", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.counters = counters

    def error_response(e: ApiError) -> Any:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else {}
        if e.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(e.retry_after))
        if e.status == 408:
            headers["Connection"] = "close"  # the rest of the body is not worth reading
        return JSONResponse({"error": e.body}, status_code=e.status, headers=headers)

    async def reject(
        scope: Any, receive: Any, send: Any, status: int, message: str, code: str
    ) -> None:
        error = ApiError(status, message, code=code, retry_after=1 if status == 503 else None)
        await error_response(error)(scope, receive, send)

    app.add_middleware(
        Guard,
        allowed_hosts=allowed_hosts,
        max_concurrency=max_concurrency,
        counters=counters,
        reject=reject,
    )

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> Any:
        return error_response(e)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, e: HTTPException) -> Any:
        return error_response(ApiError(e.status_code, str(e.detail)))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, e: RequestValidationError) -> Any:
        return error_response(ApiError(400, f"invalid request: {e.errors()}"))

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, e: Exception) -> Any:
        return error_response(error_from(e))

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), api_key.encode()):
            raise ApiError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "routers": list(controller.routers)}

    @app.get("/stats")
    async def stats(request: Request) -> dict[str, Any]:
        authorize(request)
        stats = await asyncio.to_thread(controller.stats)  # budgets may read shared state
        return {**stats, "server": dict(counters), "pid": os.getpid()}

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict[str, Any]:
        authorize(request)
        data = [
            {
                "id": model,
                "object": "model",
                "created": 0,
                "owned_by": "routellm-py",
                "routing": {
                    "router": spec.router,
                    "threshold": spec.threshold,
                    "strong_fraction": spec.strong_fraction,
                    "budget": spec.budget,
                    **(
                        {"policy": spec.policy, spec.policy: spec.policy_param}
                        if spec.policy
                        else {}
                    ),
                    "strong_model": controller.strong.model,
                    "weak_model": controller.weak.model,
                    "usage": f"router-{spec.router}-<threshold in [0,1]>, "
                    f"router-{spec.router}-s<strong-call fraction in [0,1]> or "
                    f"router-{spec.router}-b<strong-call fraction held online>"
                    + (
                        f"; N-way: router-{spec.router}-nway-lambda<lambda >= 0> or "
                        f"router-{spec.router}-nway-t<t in [0,1]>"
                        if controller.models
                        else ""
                    ),
                },
            }
            for model, spec in specs.items()
        ]
        return {"object": "list", "data": data}

    @app.get("/metrics")
    async def prometheus_metrics(request: Request) -> Any:
        authorize(request)
        if metrics is None:
            raise ApiError(
                501, "GET /metrics needs prometheus_client: pip install 'routellm-py[serve]'"
            )
        metrics.observe_budgets(await asyncio.to_thread(controller.budget_stats))
        text, content_type = metrics.expose()
        return Response(text, media_type=content_type)

    @app.post("/v1/route")
    async def route(request: Request) -> dict[str, Any]:
        """Win rates and decisions for a batch of prompts; no LLM call."""
        authorize(request)
        body = await read_json(request, max_body_bytes, body_timeout)
        target, prompts = check_route(body)
        start = time.perf_counter()
        records = await asyncio.to_thread(controller.decide, prompts, **target)
        if metrics is not None:
            metrics.observe_route(records, time.perf_counter() - start)
        first = records[0]
        nway = "candidates" in first  # N-way: each decision lists its candidates instead
        return {
            "object": "routing.decisions",
            "router": first["router"],
            **(
                {"policy": first["policy"], first["policy"]: first[first["policy"]]}
                if nway
                else {
                    "threshold": first["threshold"],
                    "strong_fraction": first["strong_fraction"],
                    "strong_model": controller.strong.model,
                    "weak_model": controller.weak.model,
                }
            ),
            "data": [
                {
                    "index": i,
                    "id": r["id"],
                    **({"candidates": r["candidates"]} if nway else {"win_rate": r["win_rate"]}),
                    **({"lambda": r["lambda"]} if "lambda" in r else {}),  # a dollar budget's
                    "routed_to": r["routed_to"],
                    "model": r["routed_model"],
                }
                for i, r in enumerate(records)
            ],
        }

    @app.post("/v1/feedback")
    async def feedback(request: Request) -> dict[str, Any]:
        """The outcome of a routed response: a rating or a pairwise preference."""
        authorize(request)
        body = check_feedback(await read_json(request, max_body_bytes, body_timeout))
        try:
            stored = await asyncio.to_thread(controller.feedback, **body)
        except RoutingError as e:
            raise error_from(e) from e
        return {"object": "routing.feedback", **stored}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        authorize(request)
        body = check_params(await read_json(request, max_body_bytes, body_timeout))
        start = time.perf_counter()

        def finished(
            routing: dict[str, Any], failure: UpstreamError | None = None, cancelled: bool = False
        ) -> None:
            """Log the request's outcome and count it in the metrics."""
            _log_request(routing, start, body, log_prompts, failure, cancelled)
            if metrics is not None:
                outcome = "failed" if failure else "cancelled" if cancelled else "served"
                metrics.observe(routing, outcome)

        try:
            result = await unless_disconnected(request, controller.acompletion(**body))
        except RoutingError as e:
            raise error_from(e) from e
        except UpstreamError as e:
            finished(e.routing, e)
            raise error_from(e) from e
        except ClientGone:
            ms = 1000 * (time.perf_counter() - start)
            log.info("model=%s ms=%.1f CANCELLED: client disconnected", body["model"], ms)
            if metrics is not None:
                metrics.observe({"router": _router_of(body["model"])}, "cancelled")
            return Response(status_code=499)  # nobody reads it; uvicorn drops it
        if body.get("stream"):
            return StreamingResponse(
                _sse(
                    result, lambda failure, cancelled: finished(result.routing, failure, cancelled)
                ),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        finished(result.routing)
        return Response(result.model_dump_json(), media_type="application/json")

    from routellm_py.ui.app import mount_ui  # the browser pages at /ui

    mount_ui(app, controller, authorize)
    return app


def _router_of(model: str) -> str | None:
    try:
        return parse_model_string(model).router
    except RoutingError:
        return None


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def unless_disconnected(request: Any, work: Awaitable[Any]) -> Any:
    """Await `work`, cancelling it as soon as the client disconnects (ClientGone): an
    abandoned request makes no further upstream attempt (retries, fallback)."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()
    raise ClientGone()


async def _disconnected(request: Any) -> None:
    """Return when the client has gone (the request body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _sse(
    stream: AsyncIterator[Any], finished: Callable[[UpstreamError | None, bool], None]
) -> AsyncIterator[str]:
    """OpenAI SSE framing; a stream that breaks ends with an error event and no [DONE].
    `finished(failure, cancelled)` is told how it ended (a reader that left: cancelled)."""
    failure, cancelled = None, True
    try:
        async for chunk in stream:
            yield f"data: {chunk.model_dump_json()}\n\n"
        cancelled = False
    except UpstreamError as e:
        failure, cancelled = e, False
        yield f"data: {json.dumps({'error': error_from(e).body})}\n\n"
        return
    finally:
        finished(failure, cancelled)
    yield "data: [DONE]\n\n"


def _log_request(
    routing: dict[str, Any],
    start: float,
    body: dict[str, Any],
    log_prompts: bool,
    failure: UpstreamError | None = None,
    cancelled: bool = False,
) -> None:
    """One line per request: the decision and outcome (INFO; a failure at WARNING, with
    its status and error types). Upstream error text may echo the prompt, so it is logged,
    like the prompt, only with `log_prompts`."""
    level = logging.INFO if failure is None else logging.WARNING
    if not log.isEnabledFor(level):
        return
    attempts = routing.get("attempts", [])
    outcome = ""
    if failure is not None:
        errors = ",".join(str(a.get("error")) for a in attempts if not a["ok"])
        detail = f": {failure}" if log_prompts else ""
        outcome = f" FAILED status={failure.status} errors={errors}{detail}"
    elif cancelled:
        outcome = " CANCELLED: client disconnected"
    log.log(
        level,
        "router=%s threshold=%.4f win_rate=%.4f routed=%s served=%s attempts=%d ms=%.1f%s%s",
        routing.get("router"),
        routing.get("threshold", float("nan")),
        routing.get("win_rate", float("nan")),
        routing.get("routed_model"),
        routing.get("served_model"),
        len(attempts),
        1000 * (time.perf_counter() - start),
        outcome,
        f" messages={json.dumps(body.get('messages'))[:2000]}" if log_prompts else "",
    )


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def served_hosts(bind: str, allowed_hosts: Sequence[str] | None) -> Sequence[str] | None:
    """The `Host` names to serve: as given (`*`: any); by default the loopback names when
    bound to loopback (a browser page must not reach it by DNS rebinding), else any."""
    if allowed_hosts is None:
        return (*LOOPBACK_HOSTS, bind) if is_loopback(bind) else None
    return None if "*" in allowed_hosts else allowed_hosts


def configure_logging(level: str) -> None:
    """Our loggers at `level`; third-party ones (litellm logs every call at INFO) at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("routellm_py").setLevel(level.upper())


def uvicorn_config(
    app: Any,
    host: str,
    port: int,
    log_level: str,
    header_timeout: float = HEADER_TIMEOUT_S,
    max_connections: int | None = None,
) -> Any:
    """uvicorn settings: our keep-alive, and the guarded h11 protocol (`server_guard`)."""
    import uvicorn

    if not header_timeout > 0 or (max_connections is not None and max_connections < 2):
        raise ValueError("need header_timeout > 0 and max_connections >= 2")

    max_connections = max_connections or default_max_connections()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_keep_alive=KEEP_ALIVE_S,
        http=guarded_h11(header_timeout, max_connections, app.state.counters),
        backlog=listen_backlog(max_connections),
    )


def serve(
    controller: Controller,
    host: str = "127.0.0.1",
    port: int = 6060,
    log_level: str = "info",
    *,
    allowed_hosts: Sequence[str] | None = None,
    header_timeout: float = HEADER_TIMEOUT_S,
    max_connections: int | None = None,
    sockets: list[Any] | None = None,
    **app_kwargs: Any,
) -> None:
    """Run the server in the foreground (blocks until interrupted). `allowed_hosts`: see
    `served_hosts`; `max_connections` (default: half the open-file limit) and
    `header_timeout`: see `server_guard`; `sockets`: listen on these (bound elsewhere, as
    by `serve --workers`); the rest goes to `create_app`."""
    import uvicorn

    if not is_loopback(host) and app_kwargs.get("api_key") is None:
        log.warning("serving on %s without --api-key: anyone who can reach it can spend", host)
    app = create_app(controller, allowed_hosts=served_hosts(host, allowed_hosts), **app_kwargs)
    controller.warmup()
    # litellm leaves ~3e5 long-lived objects that every full garbage collection re-scans
    # (0.4 s measured on a busy 2-core machine, stalling all requests); this process only
    # serves, so move them out of the collector's sight.
    gc.collect()
    gc.freeze()
    config = uvicorn_config(app, host, port, log_level, header_timeout, max_connections)
    uvicorn.Server(config).run(sockets=sockets)


class BackgroundServer:
    """Run the app with uvicorn in a daemon thread (port 0: the OS picks a free one).

    `with BackgroundServer(create_app(controller)) as srv: OpenAI(base_url=srv.base_url)`.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_s: float = 120,
        header_timeout: float = HEADER_TIMEOUT_S,
        max_connections: int | None = None,
    ):
        import uvicorn

        config = uvicorn_config(app, host, port, "warning", header_timeout, max_connections)
        self.server = uvicorn.Server(config)
        self.host = host
        self.startup_s = startup_s
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + self.startup_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start; see its log")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
