"""What one client may hold of the server: connections, time, requests in flight, hosts.

A slow or hostile client must not exhaust the server (issue 11 §3.2-3):

- `guarded_h11`: uvicorn's h11 protocol with a deadline for each request's headers and a
  cap on open connections. At the cap a new connection closes the oldest one that holds
  no request (idle keep-alive or still sending headers), else it is refused. Each closed
  or refused connection is one log line, never a traceback; the listen backlog is sized
  so that the open-file limit is not reached first, and event-loop errors (out of file
  descriptors all the same) are one line, deduplicated.
- `Guard` (ASGI middleware): the `Host` header must be on an allow list (DNS rebinding:
  a browser page on attacker.example resolving to 127.0.0.1 sends `Host:
  attacker.example`), and at most `max_concurrency` requests are in flight; beyond it
  the answer is 503 JSON with `Retry-After`. `/health` is exempt from the limit.

The body of a request has its own deadline, applied where it is read (`server_http.read_json`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger("routellm_py.server")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
HEADER_TIMEOUT_S = 10.0
DEFAULT_MAX_CONCURRENCY = 128

Send = Callable[[dict[str, Any]], Awaitable[None]]


def default_max_connections() -> int:
    """Half the open-file limit: the other half stays for upstream calls and files."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, soft // 2) if soft != resource.RLIM_INFINITY else 4096


def host_name(header: str) -> str:
    """The host of a `Host` header value, without port, lower case: `[::1]:80` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        header = header.rsplit(":", 1)[0]
    return header.rstrip(".")


def one_line_loop_errors(
    loop: asyncio.AbstractEventLoop, counters: Counter, every_s: float = 10.0
) -> None:
    """Log event-loop errors as one line each, and the same message at most once per
    `every_s` seconds (with the count since). Out of file descriptors, asyncio's accept
    loop reports the error once per pending connection and retry (thousands a second)."""
    last: dict[str, tuple[float, int]] = {}

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        counters["loop_errors"] += 1
        message = str(context.get("message", "error"))
        now = loop.time()
        when, since = last.get(message, (-math.inf, 0))
        if now - when < every_s:
            last[message] = (when, since + 1)
            return
        last[message] = (now, 0)
        exc = context.get("exception")
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        more = f"; {since} more like it since the last line" if since else ""
        log.warning("event loop: %s%s%s", message, detail, more)

    loop.set_exception_handler(handler)


def listen_backlog(max_connections: int) -> int:
    """The listen backlog: asyncio accepts up to this many connections at once before our
    protocol can count them, so it must leave room under the open-file limit."""
    return max(16, min(2048, max_connections // 2))


def guarded_h11(header_timeout: float, max_connections: int, counters: Counter) -> type:
    """A uvicorn h11 protocol class with a header deadline and a connection cap."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _opened = 0.0

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            full = len(self.connections) >= max_connections
            super().connection_made(transport)
            self._opened = self.loop.time()
            if full and not self._evict_idle():
                counters["refused_connections"] += 1
                log.warning(
                    "refused a connection from %s: %d connections open (--max-connections)",
                    _peer(self.client),
                    len(self.connections) - 1,
                )
                transport.close()
                return
            self._arm()

        def _evict_idle(self) -> bool:
            """Close the oldest connection that holds no request; False if there is none."""
            idle = [
                c
                for c in self.connections
                if c is not self
                and isinstance(c, GuardedH11)
                and (c.cycle is None or c.cycle.response_complete)
                and not c.transport.is_closing()
            ]
            if not idle:
                return False
            victim = min(idle, key=lambda c: c._opened)
            counters["evicted_connections"] += 1
            log.warning(
                "closed an idle connection from %s to admit a new one (--max-connections %d)",
                _peer(victim.client),
                max_connections,
            )
            victim.transport.close()
            return True

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()  # a new request starts: its headers have header_timeout s
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                counters["header_timeouts"] += 1
                log.warning(
                    "closed a connection from %s: no complete request headers within %g s",
                    _peer(self.client),
                    header_timeout,
                )
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "?"


class Guard:
    """ASGI middleware: the Host allow list (None: any host), then the concurrency limit.

    `reject(scope, receive, send, status, message, code)` answers a refused request.
    """

    def __init__(
        self,
        app: Any,
        allowed_hosts: Iterable[str] | None,
        max_concurrency: int,
        counters: Counter,
        reject: Callable[..., Awaitable[None]],
    ) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else {host_name(h) for h in allowed_hosts}
        self.max_concurrency = max_concurrency
        self.counters = counters
        self.reject = reject
        self.in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed is not None:
            raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_name(raw) not in self.allowed:
                self.counters["refused_host"] += 1
                message = (
                    f"Host {raw!r} is not served here; allowed: {', '.join(sorted(self.allowed))}"
                    " (set --allowed-hosts to serve other names)"
                )
                await self.reject(scope, receive, send, 421, message, "host_not_allowed")
                return
        if scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_concurrency:
            self.counters["refused_busy"] += 1
            message = (
                f"server busy: {self.in_flight} requests in flight (--max-concurrency "
                f"{self.max_concurrency}); retry shortly"
            )
            log.warning("refused a request to %s: %s", scope["path"], message)
            await self.reject(scope, receive, send, 503, message, "server_busy")
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
