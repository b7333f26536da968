"""A real OpenAI-compatible chat-completions server for tests and load benchmarks.

It listens on 127.0.0.1 with an OS-assigned port, echoes the last user message back
(`"echo: <text>"`, so a client can check it got its own answer) and streams it as SSE
chunks word by word. It fails on demand, per model or for any model:

    "500"        HTTP 500 with an OpenAI-style error body
    "429"        HTTP 429 (rate limited) with `Retry-After: <retry_after>`
    "400"        HTTP 400 (the provider rejects the request; its message echoes the prompt,
                 as real providers' messages may)
    "hang"       stalls `hang_seconds` before answering (bounded; released on stop)
    "malformed"  HTTP 200 whose body is not JSON (streamed or not)
    "nonopenai"  HTTP 200 with JSON that is not an OpenAI completion (streamed: as SSE events)
    "midstream"  (streaming) sends two chunks, then drops the connection
    "trickle"    (streaming) sends one chunk every `delay` seconds (a slow generation)

`fail(mode, times, model, delay=s)` also stalls `s` seconds before the failure (a slow 500).

Every request body it receives is kept in `requests`, to check what was forwarded.
No mocks: litellm and the openai client reach it over TCP like any provider.

As a separate process (for load benchmarks): `python tests/upstream.py [--port 0]` prints
`{"port": N}` and serves until killed; `POST /_control/fail {"mode", "times", "model"}`
schedules failures from outside (optional "delay"), `POST /_control/clear` forgets them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURE_MODES = ("500", "429", "400", "hang", "malformed", "nonopenai", "midstream", "trickle")


class Upstream:
    """Start with `with Upstream() as up:`; point clients at `up.base_url`."""

    def __init__(
        self,
        hang_seconds: float = 5.0,
        record: bool = True,
        port: int = 0,
        retry_after: str = "1",
    ) -> None:
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.record = record
        self.requests: list[dict[str, Any]] = []
        self._failures: dict[str | None, deque[tuple[str, float]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Upstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, mode: str, times: int = 1, model: str | None = None, delay: float = 0.0) -> None:
        """Make the next `times` requests (for `model`, or any model if None) fail with
        `mode`, each after stalling `delay` seconds."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {mode!r}; choose from {FAILURE_MODES}")
        with self._lock:
            self._failures.setdefault(model, deque()).extend([(mode, delay)] * times)

    def clear(self) -> None:
        """Forget scheduled failures and recorded requests."""
        with self._lock:
            self._failures.clear()
            self.requests.clear()

    def models_called(self) -> list[str]:
        with self._lock:
            return [r.get("model", "") for r in self.requests]

    # ---- used by the handler --------------------------------------------------------------
    def _take(self, body: dict[str, Any]) -> tuple[str | None, float, int]:
        with self._lock:
            if self.record:
                self.requests.append(body)
            self._counter += 1
            for key in (body.get("model"), None):
                queue = self._failures.get(key)
                if queue:
                    return (*queue.popleft(), self._counter)
            return None, 0.0, self._counter


def _last_user_text(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


def _completion(body: dict[str, Any], n: int, text: str) -> dict[str, Any]:
    words = len(text.split())
    return {
        "id": f"chatcmpl-up-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "unknown"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": words, "completion_tokens": words, "total_tokens": 2 * words},
    }


def _chunks(body: dict[str, Any], n: int, text: str) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-up-{n}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "unknown"),
    }
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        yield {**base, "choices": [{"index": 0, "delta": {"content": piece}}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _handler_for(up: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent: tests must not print request lines."""

        def handle(self) -> None:
            # A client that gave up (its timeout fired) has nobody left to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def _send(
            self,
            status: int,
            payload: bytes,
            ctype: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            err = {"error": {"message": message, "type": "upstream_test_error", "code": status}}
            self._send(status, json.dumps(err).encode(), headers=headers)

        def do_POST(self) -> None:  # noqa: N802
            if self.path.startswith("/_control/"):
                self._control()
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {self.path}")
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length))
            except json.JSONDecodeError:
                self._error(400, "body is not JSON")
                return
            mode, delay, n = up._take(body)
            pause, delay = (delay, 0.0) if mode == "trickle" else (0.0, delay)
            up._stop.wait(up.hang_seconds if mode == "hang" else delay)
            text = "echo: " + _last_user_text(body)
            if mode == "429":
                self._error(429, "injected failure 429", {"Retry-After": up.retry_after})
            elif mode in ("500", "400"):
                self._error(int(mode), f"injected failure {mode} for prompt {text!r}")
            elif mode == "malformed":
                self._send(200, b"<html>this is not json{")
            elif mode == "nonopenai":
                self._not_openai(bool(body.get("stream")))
            elif body.get("stream"):
                self._stream(body, n, text, cut=mode == "midstream", pause=pause)
            else:
                self._send(200, json.dumps(_completion(body, n, text)).encode())

        def _not_openai(self, stream: bool) -> None:
            """A well-formed answer of some other API (a proxy's status page, say)."""
            payload = json.dumps({"status": "ok", "result": {"text": "not a completion"}})
            if stream:
                self._send(
                    200, f"data: {payload}\n\ndata: [DONE]\n\n".encode(), "text/event-stream"
                )
            else:
                self._send(200, payload.encode())

        def _control(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                order = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/_control/clear":
                    up.clear()
                else:
                    up.fail(
                        order["mode"],
                        int(order.get("times", 1)),
                        order.get("model"),
                        float(order.get("delay", 0.0)),
                    )
            except (ValueError, KeyError, TypeError) as e:
                self._error(400, f"bad control request: {e}")
                return
            self._send(200, b'{"ok": true}')

        def _stream(
            self, body: dict[str, Any], n: int, text: str, cut: bool, pause: float = 0.0
        ) -> None:
            """SSE over chunked transfer encoding; `cut` drops the connection mid-body, which
            a client sees as an incomplete chunked read (a real truncated stream); `pause`
            seconds pass between chunks."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            events = [f"data: {json.dumps(c)}\n\n" for c in _chunks(body, n, text)]
            for i, event in enumerate([*events, "data: [DONE]\n\n"]):
                if cut and i == 2:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if i and pause and up._stop.wait(pause):
                    return
                data = event.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="local OpenAI-compatible echo upstream")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--hang-seconds", type=float, default=5.0)
    args = parser.parse_args()
    up = Upstream(hang_seconds=args.hang_seconds, record=False, port=args.port).start()
    print(json.dumps({"port": up.port}), flush=True)
    up._thread.join()


if __name__ == "__main__":
    main()
