"""The browser pages at `/ui`, mounted on the server app by `server.create_app`.

Pages (`pages/<name>.html` inside the shared `pages/page.html` head, assets shipped in
`static/`, no CDN): `/ui/` the playground, `/ui/bench` the benchmark curves, `/ui/dashboard`
the live dashboard. They hold no data, so they are
served without the API key; everything they show comes from endpoints that check it
(the page sends `Authorization: Bearer <key>` from a key field kept in sessionStorage):
`/v1/route`, `/v1/chat/completions`, `/stats`, `/metrics`, and these JSON endpoints:

- `GET /ui/api/config`: the routers, the strong and weak models, whether chat works.
- `GET /ui/api/benchmarks`: the last `bench` run (`results.load_results`).
- `POST /ui/api/threshold` `{win_rates, strong_fraction}`: the threshold that gives that
  share of strong calls on those win rates (`calibration.threshold_for_strong_fraction`).

The server's `Host` allow list applies to all of them. Every page response forbids
loading anything from another origin (Content-Security-Policy `default-src 'self'`).

No `from __future__ import annotations`: FastAPI reads the handlers' annotations.
"""

import asyncio
import html
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from routellm_py.server_http import DEFAULT_MAX_BODY_BYTES, MAX_ROUTE_BATCH, ApiError, read_json

if TYPE_CHECKING:
    from routellm_py.controller import Controller

STATIC = Path(__file__).with_name("static")
PAGE_DIR = Path(__file__).with_name("pages")
# route -> (page name, title, its own scripts in static/: the last one runs deferred)
PAGES = {
    "/ui/": ("playground", "playground", ("prompts.js", "playground.js")),
    "/ui/bench": ("bench", "benchmarks", ("bench.js",)),
    "/ui/dashboard": ("dashboard", "dashboard", ("prometheus.js", "dashboard.js")),
}
MAX_WIN_RATES = 200_000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass
class UiSettings:
    """`chat`: the server has upstream models (the page offers answers);
    `results_dir`: where `bench` wrote its JSON (default: the harness's)."""

    chat: bool = True
    results_dir: Path = field(default_factory=lambda: Path("benchmarks/results"))


def check_threshold_request(body: Any) -> tuple[list[float], float]:
    """`{win_rates: [numbers in 0..1], strong_fraction: number in 0..1}` or a 400."""
    if not isinstance(body, dict) or set(body) != {"win_rates", "strong_fraction"}:
        raise ApiError(400, "send a JSON object with exactly win_rates and strong_fraction")
    rates, f = body["win_rates"], body["strong_fraction"]
    if not isinstance(rates, list) or not 0 < len(rates) <= MAX_WIN_RATES:
        raise ApiError(
            400, f"win_rates must be a list of 1 to {MAX_WIN_RATES} numbers", param="win_rates"
        )
    for i, w in enumerate(rates):
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w <= 1:
            raise ApiError(
                400, f"win_rates[{i}] must be a number in [0, 1], got {w!r}", param="win_rates"
            )
    if isinstance(f, bool) or not isinstance(f, int | float) or not 0 <= f <= 1:
        raise ApiError(
            400, f"strong_fraction must be a number in [0, 1], got {f!r}", param="strong_fraction"
        )
    return [float(w) for w in rates], float(f)


def render_page(name: str, title: str, scripts: tuple[str, ...]) -> str:
    """`pages/<name>.html` (the body of <main>) inside the shared head of `pages/page.html`."""
    tags = [
        f'<script src="/ui/static/{s}"{" defer" if i == len(scripts) - 1 else ""}></script>'
        for i, s in enumerate(scripts)
    ]
    shell = Template((PAGE_DIR / "page.html").read_text(encoding="utf-8"))
    body = (PAGE_DIR / f"{name}.html").read_text(encoding="utf-8")
    return shell.substitute(title=html.escape(title), scripts="\n".join(tags), body=body)


def mount_ui(app: Any, controller: "Controller", authorize: Any) -> None:
    """Add the pages, their assets (`/ui/static/...`) and JSON endpoints to `app`;
    `authorize(request)` raises the server's 401 unless the request carries the key."""
    from fastapi import Request
    from fastapi.responses import HTMLResponse, RedirectResponse
    from starlette.staticfiles import StaticFiles

    from routellm_py.calibration import threshold_for_strong_fraction
    from routellm_py.ui.results import load_results

    app.state.ui = UiSettings()

    class Static(StaticFiles):
        def file_response(self, *args: Any, **kwargs: Any) -> Any:
            response = super().file_response(*args, **kwargs)
            response.headers.update(SECURITY_HEADERS)
            return response

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> Any:
        return RedirectResponse("/ui/")

    def page_handler(page: str) -> Any:
        """A handler without parameters: nothing in the request names the page."""

        async def handler() -> Any:
            return HTMLResponse(page, headers=SECURITY_HEADERS)

        return handler

    for route, spec in PAGES.items():
        app.add_api_route(route, page_handler(render_page(*spec)), include_in_schema=False)

    @app.get("/ui/api/config")
    async def ui_config(request: Request) -> dict[str, Any]:
        authorize(request)
        return {
            "routers": list(controller.routers),
            "strong_model": controller.strong.model,
            "weak_model": controller.weak.model,
            "chat": app.state.ui.chat,
            "max_route_batch": MAX_ROUTE_BATCH,
            "prices": {e.model: prices(e.model) for e in (controller.strong, controller.weak)},
        }

    @app.get("/ui/api/benchmarks")
    async def ui_benchmarks(request: Request) -> dict[str, Any]:
        authorize(request)
        results_dir = Path(app.state.ui.results_dir)
        try:
            results = await asyncio.to_thread(load_results, results_dir)
        except ValueError as e:
            raise ApiError(400, str(e), code="bad_results") from e
        return {"results_dir": str(results_dir), "benchmarks": results}

    @app.post("/ui/api/threshold")
    async def ui_threshold(request: Request) -> dict[str, Any]:
        authorize(request)
        rates, f = check_threshold_request(await read_json(request, DEFAULT_MAX_BODY_BYTES))
        t = threshold_for_strong_fraction(rates, f)
        strong = sum(w >= t for w in rates)
        return {"threshold": t, "strong_fraction": strong / len(rates), "n": len(rates)}

    app.mount("/ui/static", Static(directory=STATIC), name="ui-static")


def prices(model: str) -> list[float] | None:
    """[input, output] USD per token from litellm's offline map, by the name or, for a
    litellm provider route (`openai/NAME` at an api_base), by NAME; None when unknown."""
    from routellm_py.metrics import price_per_token

    for name in (model, model.split("/", 1)[-1]):
        try:
            return list(price_per_token(name))
        except KeyError:
            continue
    return None


class RoutingOnly:
    """ASGI middleware for a server without upstream models (`routellm-py ui`): chat
    completions are refused with a 404 JSON error that says how to get answers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/v1/chat/completions":
            from fastapi.responses import JSONResponse

            error = ApiError(
                404,
                "this server routes only (routellm-py ui without --strong-model and "
                "--weak-model); start it with both models, or use routellm-py serve, for answers",
                code="no_upstream_models",
            )
            await JSONResponse({"error": error.body}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
