"""A minimal Hugging Face Hub HTTP endpoint on 127.0.0.1 for push tests.

It answers the calls `HfApi.create_repo` and `HfApi.upload_folder` make when every file is
uploaded inline ("regular" mode): POST /api/repos/create, /api/validate-yaml,
.../preupload/REV and .../commit/REV (NDJSON with base64 file contents). Every request is
recorded, and the committed files are kept in `files` (path -> bytes), so a test checks
what really went over the wire. Any other call answers 404 and is recorded too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.ecosystem.local_http import LocalServer


class FakeHub(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.commits: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        self.requests.append((method, path))
        path = path.split("?")[0]
        if method != "POST":
            return 404, {"error": "not found"}
        if path == "/api/validate-yaml":  # README metadata check
            return 200, {"errors": [], "warnings": []}
        if path == "/api/repos/create":
            name = json.loads(body)
            return 200, {"url": f"{self.url}/{name.get('organization')}/{name['name']}"}
        if "/preupload/" in path:
            files = json.loads(body)["files"]
            modes = [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
            ]
            return 200, {"files": modes}
        if "/commit/" in path:
            lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
            self.commits.append({"path": path, "lines": lines})
            for line in lines:
                if line["key"] == "file":
                    v = line["value"]
                    self.files[v["path"]] = base64.b64decode(v["content"])
            repo = path.split("/api/models/")[1].split("/commit/")[0]
            oid = f"{len(self.commits):040x}"
            return 200, {"commitUrl": f"{self.url}/{repo}/commit/{oid}", "commitOid": oid}
        return 404, {"error": f"unexpected {path}"}
