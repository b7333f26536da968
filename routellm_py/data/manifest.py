"""The data manifest (`routellm_py/data/manifest.json`, shipped with the package) and checks of a
data directory against it: every expected file present with the recorded sha256."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routellm_py._util import DATA_ENV, sha256_file

MANIFEST_PATH = Path(__file__).with_name("manifest.json")


@dataclass(frozen=True)
class FileCheck:
    dataset: str
    path: str
    status: str  # "OK" | "MISSING" | "MISMATCH"
    expected_sha256: str
    actual_sha256: str | None = None


def load_manifest(path: str | Path = MANIFEST_PATH) -> dict[str, Any]:
    """The parsed manifest: {"datasets": {name: {source, license, files: [...]}}}."""
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(manifest.get("datasets"), dict):
        raise ValueError(f"{path}: manifest lacks a 'datasets' mapping")
    return manifest


def check_files(
    data_dir: str | os.PathLike[str] | None = None, manifest: dict[str, Any] | None = None
) -> list[FileCheck]:
    """One FileCheck per manifest file. `data_dir` defaults to $ROUTELLM_PY_DATA, then ./data
    (unlike `resolve_data_dir`, an incomplete folder is reported here, not refused)."""
    root = Path(data_dir if data_dir is not None else os.environ.get(DATA_ENV) or "data")
    manifest = manifest if manifest is not None else load_manifest()
    out = []
    for name, ds in manifest["datasets"].items():
        for f in ds["files"]:
            path = root / f["path"]
            if not path.is_file():
                out.append(FileCheck(name, f["path"], "MISSING", f["sha256"]))
                continue
            actual = sha256_file(path)
            status = "OK" if actual == f["sha256"] else "MISMATCH"
            out.append(FileCheck(name, f["path"], status, f["sha256"], actual))
    return out


def verify(
    data_dir: str | os.PathLike[str] | None = None, manifest: dict[str, Any] | None = None
) -> list[str]:
    """Problems found in `data_dir` (missing files, wrong sha256); empty when all is well."""
    return [
        f"{c.status}: {c.path} ({c.dataset})"
        + (f": sha256 {c.actual_sha256}, expected {c.expected_sha256}" if c.actual_sha256 else "")
        for c in check_files(data_dir, manifest)
        if c.status != "OK"
    ]
