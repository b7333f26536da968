"""An OpenAI-compatible HTTP server around a `Controller` (FastAPI + uvicorn, extra `[serve]`).

Endpoints: `POST /v1/chat/completions` (JSON or SSE streaming, OpenAI format),
`GET /v1/models` (the router models), `GET /health`, `GET /stats` (routing counters).
Every error is an OpenAI-style JSON body `{"error": {message, type, param, code}}` with a
fitting HTTP status, never a traceback. Routing runs in worker threads, batched across
concurrent requests. Defaults are safe: bind 127.0.0.1, a request size limit, optional
bearer-token auth, and no prompt text or API keys in the logs.

No `from __future__ import annotations` here: FastAPI reads the handlers' annotations,
which name classes imported inside `create_app` (fastapi loads only when serving).
"""

import gc
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from routellm_py.controller import Controller, RoutingError, UpstreamError

log = logging.getLogger("routellm_py.server")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# Idle keep-alive connections are closed after this long. Longer than clients' own idle
# expiry (httpx, hence the openai client: 5 s), so the client always closes first: with
# equal timeouts (uvicorn's default is 5 s) a request sent just as the server closes the
# connection is lost (a ReadError in the client; seen under load in benchmarks/server_load).
KEEP_ALIVE_S = 30
API_KEY_ENV = "ROUTELLM_PY_API_KEY"

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
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """An error answered as OpenAI-style JSON with HTTP `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str | None = None,
        routing: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "message": message,
            "type": kind or _ERROR_TYPES.get(status, "api_error"),
            "param": param,
            "code": code,
        }
        if routing is not None:
            self.body["routing"] = routing

    @classmethod
    def from_exception(cls, e: Exception) -> "ApiError":
        if isinstance(e, RoutingError):
            return cls(e.status, str(e), param=e.param, code=e.code)
        if isinstance(e, UpstreamError):
            return cls(e.status, str(e), kind="upstream_error", routing=e.routing)
        log.error("internal error: %s", type(e).__name__, exc_info=e)
        return cls(500, f"internal server error ({type(e).__name__}); see the server log")


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
    return body


async def read_json(request: Any, limit: int) -> Any:
    """The request body parsed as JSON, refusing bodies over `limit` bytes (HTTP 413)."""
    declared = request.headers.get("content-length")
    too_big = f"request body exceeds {limit} bytes; send a smaller request"
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, too_big, code="request_too_large")
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, too_big, code="request_too_large")
        parts.append(chunk)
    try:
        return json.loads(b"".join(parts))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(400, f"request body is not valid JSON: {e}", code="invalid_json") from e


def create_app(
    controller: Controller,
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_prompts: bool = False,
) -> Any:
    """The FastAPI app. `api_key`: if set, clients must send `Authorization: Bearer <key>`."""
    from importlib.util import find_spec

    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        raise ImportError("the server needs the [serve] extra: pip install 'routellm-py[serve]'")
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response, StreamingResponse
    from starlette.exceptions import HTTPException

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        controller.warmup()
        yield
        controller.close()

    app = FastAPI(title="routellm-py", lifespan=lifespan, docs_url=None, redoc_url=None)

    def error_response(e: ApiError) -> Any:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return JSONResponse({"error": e.body}, status_code=e.status, headers=headers)

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
        return error_response(ApiError.from_exception(e))

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
        return controller.stats()

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request)
        data = [
            {
                "id": f"router-{name}",
                "object": "model",
                "created": 0,
                "owned_by": "routellm-py",
                "routing": {
                    "router": name,
                    "usage": f"router-{name}-<threshold in [0,1]> or "
                    f"router-{name}-s<strong-call fraction in [0,1]>",
                    "strong_model": controller.strong.model,
                    "weak_model": controller.weak.model,
                },
            }
            for name in controller.routers
        ]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        authorize(request)
        body = check_params(await read_json(request, max_body_bytes))
        start = time.perf_counter()
        try:
            result = await controller.acompletion(**body)
        except RoutingError as e:
            raise ApiError.from_exception(e) from e
        except UpstreamError as e:
            _log_request(e.routing, start, body, log_prompts, failure=e)
            raise ApiError.from_exception(e) from e
        routing = getattr(result, "routing", None) or {}
        _log_request(routing, start, body, log_prompts)
        if body.get("stream"):
            return StreamingResponse(
                _sse(result), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
            )
        return Response(result.model_dump_json(), media_type="application/json")

    return app


async def _sse(stream: AsyncIterator[Any]) -> AsyncIterator[str]:
    """OpenAI SSE framing; a stream that breaks ends with an error event and no [DONE]."""
    try:
        async for chunk in stream:
            yield f"data: {chunk.model_dump_json()}\n\n"
    except UpstreamError as e:
        yield f"data: {json.dumps({'error': ApiError.from_exception(e).body})}\n\n"
        return
    yield "data: [DONE]\n\n"


def _log_request(
    routing: dict[str, Any],
    start: float,
    body: dict[str, Any],
    log_prompts: bool,
    failure: UpstreamError | None = None,
) -> None:
    """One line per request: the decision and outcome (INFO; a failure at WARNING, with
    its status and last error); the prompt only if asked."""
    level = logging.INFO if failure is None else logging.WARNING
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "router=%s threshold=%.4f win_rate=%.4f routed=%s served=%s attempts=%d ms=%.1f%s%s",
        routing.get("router"),
        routing.get("threshold", float("nan")),
        routing.get("win_rate", float("nan")),
        routing.get("routed_model"),
        routing.get("served_model"),
        len(routing.get("attempts", [])),
        1000 * (time.perf_counter() - start),
        "" if failure is None else f" FAILED status={failure.status}: {failure}",
        f" messages={json.dumps(body.get('messages'))[:2000]}" if log_prompts else "",
    )


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def configure_logging(level: str) -> None:
    """Our loggers at `level`; third-party ones (litellm logs every call at INFO) at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("routellm_py").setLevel(level.upper())


def serve(
    controller: Controller,
    host: str = "127.0.0.1",
    port: int = 6060,
    log_level: str = "info",
    **app_kwargs: Any,
) -> None:
    """Run the server in the foreground (blocks until interrupted)."""
    import uvicorn

    if not is_loopback(host) and app_kwargs.get("api_key") is None:
        log.warning("serving on %s without --api-key: anyone who can reach it can spend", host)
    app = create_app(controller, **app_kwargs)
    controller.warmup()
    # litellm leaves ~3e5 long-lived objects that every full garbage collection re-scans
    # (0.4 s measured on a busy 2-core machine, stalling all requests); this process only
    # serves, so move them out of the collector's sight.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, timeout_keep_alive=KEEP_ALIVE_S, host=host, port=port, log_level=log_level)


class BackgroundServer:
    """Run the app with uvicorn in a daemon thread (port 0: the OS picks a free one).

    `with BackgroundServer(create_app(controller)) as srv: OpenAI(base_url=srv.base_url)`.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, startup_s: float = 120):
        import uvicorn

        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_S
        )
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
