"""`pip install` works without the source tree: the built wheel carries the shipped
checkpoints (`routellm_py_checkpoints`), so from another directory a fresh virtualenv loads
`mf`, routes a prompt and serves `router-mf-0.5` against a local upstream.

The virtualenv gets the wheel with --no-deps (no downloads); its dependencies come from the
test interpreter's site-packages, added as a plain path (so that interpreter's editable
install of this checkout is not visible to it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from routellm_py import load_router
from tests.upstream import Upstream

REPO = Path(__file__).resolve().parents[2]
PROMPT = "Explain the difference between a list and a tuple in Python."

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel built from this checkout's files installed."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.tmp")
    for name in ("routellm_py", "routers"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    wheel = next((root / "dist").glob("routellm_py-*.whl"))
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    subprocess.run([*pip, "--python", str(py), "install", "--no-deps", str(wheel)], check=True)
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROUTELLM_PY_ROUTERS")}
    return {**env, "HF_HUB_OFFLINE": "1", **extra}


def run_last_json(cmd: list[str], cwd: Path) -> dict:
    """Run `cmd` in `cwd` without this checkout on the path; its last stdout line as JSON."""
    out = subprocess.run(cmd, cwd=cwd, env=clean_env(), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_wheel_loads_shipped_checkpoint_from_elsewhere(venv: Path, tmp_path: Path) -> None:
    script = (
        "import json, routellm_py\n"
        "from routellm_py import load_router\n"
        "r = load_router('mf')\n"
        f"print(json.dumps({{'module': routellm_py.__file__, 'ckpt': str(r.checkpoint_dir),"
        f" 'win': float(r.win_rate([{PROMPT!r}])[0])}}))\n"
    )
    got = run_last_json([str(venv / "bin" / "python"), "-c", script], tmp_path)
    assert got["module"].startswith(str(venv)), "imported the installed wheel, not the checkout"
    assert "/routellm_py_checkpoints/mf" in got["ckpt"] and got["ckpt"].startswith(str(venv))
    want = load_router(REPO / "routers" / "mf").win_rate([PROMPT])[0]
    np.testing.assert_allclose(got["win"], want, atol=1e-6)

    route = ["route", PROMPT, "--router", "mf", "--threshold", "0.5"]
    row = run_last_json([str(venv / "bin" / "routellm-py"), *route], tmp_path)
    assert row["decision"] == ("strong" if want >= 0.5 else "weak")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wheel_serves_router_mf(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    with Upstream() as up:
        cmd = [
            str(venv / "bin" / "routellm-py"),
            "serve",
            "--routers",
            "mf",
            "--strong-model",
            "openai/strong-m",
            "--weak-model",
            "openai/weak-m",
            "--api-base",
            up.base_url,
            "--port",
            str(port),
        ]
        env = clean_env(OPENAI_API_KEY="sk-local-test", LITELLM_LOCAL_MODEL_COST_MAP="True")
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}/v1"
            deadline = time.monotonic() + 90
            while True:
                try:
                    models = httpx.get(f"{base}/models", timeout=2).json()
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(proc.stdout.read().decode()) from None
                    time.sleep(0.5)
            assert any(m["id"].startswith("router-mf") for m in models["data"])
            body = {"model": "router-mf-0.5", "messages": [{"role": "user", "content": PROMPT}]}
            r = httpx.post(f"{base}/chat/completions", json=body, timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == f"echo: {PROMPT}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    want = load_router(REPO / "routers" / "mf").win_rate([PROMPT])[0]
    assert [q["model"] for q in up.requests] == ["strong-m" if want >= 0.5 else "weak-m"]
