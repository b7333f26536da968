"""An OpenAI-compatible embeddings endpoint on 127.0.0.1 for tests (no network, no key).

POST /v1/embeddings returns, for each input text, `vector(text, dim)`: a unit vector drawn
from a generator seeded by the text's sha256 (OpenAI's vectors have unit norm too). The
model name ends in the dimension, e.g. "test-embedding-8". Both of the openai client's
encodings are served (float lists, and base64 of little-endian float32). Requests are kept
in `requests`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


def vector(text: str, dim: int) -> np.ndarray:
    """The embedding this server returns for `text`: float32, unit norm."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeEmbeddings:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeEmbeddings:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeEmbeddings) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            fake.requests.append(body)
            dim = int(body["model"].rsplit("-", 1)[1])
            texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
            data = []
            for i, t in enumerate(texts):
                v = vector(t, dim)
                emb: Any = (
                    base64.b64encode(v.astype("<f4").tobytes()).decode()
                    if body.get("encoding_format") == "base64"
                    else v.tolist()
                )
                data.append({"object": "embedding", "index": i, "embedding": emb})
            out = json.dumps(
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    return Handler
