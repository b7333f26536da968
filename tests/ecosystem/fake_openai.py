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
from typing import Any

import numpy as np

from tests.ecosystem.local_http import LocalServer


def vector(text: str, dim: int) -> np.ndarray:
    """The embedding this server returns for `text`: float32, unit norm."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeEmbeddings(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if (method, path) != ("POST", "/v1/embeddings"):
            return 404, {"error": {"message": f"unexpected {method} {path}"}}
        req = json.loads(body)
        self.requests.append(req)
        dim = int(req["model"].rsplit("-", 1)[1])
        texts = [req["input"]] if isinstance(req["input"], str) else req["input"]
        data = []
        for i, t in enumerate(texts):
            v = vector(t, dim)
            b64 = req.get("encoding_format") == "base64"
            emb: Any = base64.b64encode(v.astype("<f4").tobytes()).decode() if b64 else v.tolist()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return 200, {"object": "list", "data": data, "model": req["model"], "usage": usage}
