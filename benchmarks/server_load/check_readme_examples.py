"""Run the serving examples of the main README.md, offline, against local echo upstreams.

The examples are those of "## Serving: route real chat completions" up to its "### Budgets"
subsection (`readme_examples`): the Controller, the local servers (vLLM, Ollama) and the
OpenAI-compatible server, all with the `random` router; the later subsections need
trained checkpoints and are covered by the tests.

Upstreams (`tests/upstream.py`) stand in for vLLM on 127.0.0.1:8000 and Ollama on
127.0.0.1:11434; `OPENAI_BASE_URL` points the plain `openai/...` examples at a third one.
The Python blocks run as written; the shell blocks run as written except `pip install`.
Exits non-zero if any example fails.

    .venv/bin/python benchmarks/server_load/check_readme_examples.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
from tests.upstream import Upstream  # noqa: E402

BLOCK = re.compile(r"```(python|bash|yaml)\n(.*?)```", re.S)
SECTION = ("## Serving: route real chat completions", "### Budgets")


def readme_examples(readme: Path = REPO / "README.md") -> dict[str, list[str]]:
    """The code blocks of the README's serving examples by language, in order."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(SECTION[0])
    section = text[start : text.index(SECTION[1], start)]
    blocks: dict[str, list[str]] = {"python": [], "bash": [], "yaml": []}
    for kind, body in BLOCK.findall(section):
        blocks[kind].append(body)
    return blocks


def run(cmd: list[str] | str, env: dict[str, str], cwd: Path, shell: bool = False) -> str:
    out = subprocess.run(
        cmd, env=env, cwd=cwd, shell=shell, capture_output=True, text=True, timeout=300
    )
    if out.returncode != 0:
        raise RuntimeError(f"example failed ({out.returncode}):\n{cmd}\n{out.stdout}{out.stderr}")
    return out.stdout


def serve(command: str, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start a `routellm-py serve` block in the background; wait for /health (bounded)."""
    proc = subprocess.Popen(command, shell=True, env=env, cwd=cwd, start_new_session=True)
    for _ in range(240):
        try:
            if httpx.get("http://127.0.0.1:6060/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {command}")
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server's process group and wait (bounded) until port 6060 is free again."""
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)
    for _ in range(100):
        try:
            httpx.get("http://127.0.0.1:6060/health", timeout=1)
        except httpx.HTTPError:
            return
        time.sleep(0.2)
    raise RuntimeError("the server on port 6060 did not stop")


def main() -> None:
    blocks = readme_examples()
    pys, bashes, (yaml_block,) = blocks["python"], blocks["bash"], blocks["yaml"]
    bin_dir = str(Path(sys.executable).parent)
    with (
        Upstream(port=8000) as vllm,
        Upstream(port=11434) as ollama,
        Upstream() as openai_up,
        tempfile.TemporaryDirectory() as tmp,
    ):
        cwd = Path(tmp)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "OPENAI_BASE_URL": openai_up.base_url,
            "OPENAI_API_KEY": "sk-local-test",
            "ROUTELLM_PY_ROUTERS": str(REPO / "routers"),
        }
        controller_py, local_py, client_py = pys
        print(run([sys.executable, "-c", controller_py], env, cwd))
        print(run([sys.executable, "-c", local_py], env, cwd))
        assert vllm.requests or ollama.requests, "the local example reached neither server"
        (cwd / "serve.yaml").write_text(yaml_block)
        config_serve, openai_serve, curls = bashes
        for command in (config_serve, openai_serve.replace("pip install", "true")):
            command = command.replace("sk-...", "sk-local-test")
            proc = serve(command, env, cwd)
            try:
                print(run([sys.executable, "-c", client_py], env, cwd))
                print(run(curls, env, cwd, shell=True))
            finally:
                stop(proc)
        served = {r["model"] for r in vllm.requests + ollama.requests + openai_up.requests}
        print("models the upstreams served:", sorted(served))
    print("all README examples ran")


if __name__ == "__main__":
    main()
