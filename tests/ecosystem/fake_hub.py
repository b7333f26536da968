"""A minimal Hugging Face Hub HTTP endpoint on 127.0.0.1 for push tests.

It answers the calls `HfApi.create_repo` and `HfApi.upload_folder` make when every file is
uploaded inline ("regular" mode): POST /api/repos/create, /api/validate-yaml, .../preupload/REV and
POST .../commit/REV (NDJSON with base64 file contents). Every request is recorded, and the
committed files are kept in `files` (path -> bytes), so a test checks what really went over
the wire. Any other call answers 404 and is recorded too.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeHub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.commits: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            hub.requests.append(("GET", self.path))
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hub.requests.append(("POST", self.path))
            path = self.path.split("?")[0]
            if path == "/api/validate-yaml":  # README metadata check
                self._send(200, {"errors": [], "warnings": []})
            elif path == "/api/repos/create":
                name = json.loads(body)
                self._send(200, {"url": f"{hub.url}/{name.get('organization')}/{name['name']}"})
            elif "/preupload/" in path:
                files = json.loads(body)["files"]
                self._send(
                    200,
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                            for f in files
                        ]
                    },
                )
            elif "/commit/" in path:
                lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                hub.commits.append({"path": path, "lines": lines})
                for line in lines:
                    if line["key"] == "file":
                        v = line["value"]
                        hub.files[v["path"]] = base64.b64decode(v["content"])
                repo = path.split("/api/models/")[1].split("/commit/")[0]
                oid = f"{len(hub.commits):040x}"
                self._send(200, {"commitUrl": f"{hub.url}/{repo}/commit/{oid}", "commitOid": oid})
            else:
                self._send(404, {"error": f"unexpected {path}"})

    return Handler
