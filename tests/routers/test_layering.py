"""Layering: serving code (every router module, the Controller) loads nothing from the lab
(training loops, benchmarks, quality labels, data adapters), and `embeddings` holds encoders
only: every Router subclass lives under `routellm_py.routers`.

Each check runs in a fresh interpreter, so modules that other tests imported do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import routellm_py

LAB = (
    "routellm_py.training",
    "routellm_py.benchmarks",
    "routellm_py.quality",
    "routellm_py.data.adapters",
)
PACKAGE = Path(routellm_py.__file__).parent


def _modules(package: str) -> list[str]:
    """Dotted names of the package's own modules (files, not subpackages)."""
    folder = PACKAGE / package.split(".", 1)[1]
    return [f"{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__"]


def _run(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_router_modules_and_controller_import_nothing_from_the_lab() -> None:
    serving = [*_modules("routellm_py.routers"), "routellm_py.controller"]
    assert "routellm_py.routers.mf" in serving and "routellm_py.routers.bert" in serving
    code = (
        "import importlib, json, sys\n"
        f"for m in {serving!r}: importlib.import_module(m)\n"
        f"lab = {LAB!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(lab))))\n"
    )
    assert _run(code) == []


def test_embeddings_defines_no_router() -> None:
    code = (
        "import importlib, inspect, json\n"
        "from routellm_py.routers.base import Router\n"
        "found = []\n"
        f"for name in {_modules('routellm_py.embeddings')!r}:\n"
        "    mod = importlib.import_module(name)\n"
        "    found += [f'{name}.{k}' for k, v in vars(mod).items()\n"
        "              if inspect.isclass(v) and issubclass(v, Router)]\n"
        "print(json.dumps(found))\n"
    )
    assert _run(code) == []
