"""Side-by-side: the routellm-py server vs the reference RouteLLM 0.2.0 server.

Same machine, same echo upstream (`tests/upstream.py`, its own process), same load
(`load_test.py`: N requests at 16 and 32 in flight, openai client), rounds interleaved so
both see the same background load. Then the same bad-input probes.

Routers (`--routers random,mf`): `random` on both servers (short unique messages); `mf` on
ours only (the reference's mf needs a hub checkpoint and the OpenAI embeddings API, so it
cannot run offline), on cold prompts: every message is a unique marker plus an MMLU
question, so each request runs the encoder. The server's resident memory (RSS) is read
before the first load and after each one.

The reference is never installed into the project: give the Python of a separate venv
that has `routellm[serve]==0.2.0` (README.md here, Reproduce). It is started on 127.0.0.1
through uvicorn (its own `__main__` binds 0.0.0.0, which we report, not use).

    .venv/bin/python benchmarks/server_load/compare.py --ref-python /tmp/ref-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from load_test import run_load  # noqa: E402

STRONG, WEAK = "openai/strong-m", "openai/weak-m"
REF_LAUNCH = (
    "import sys, uvicorn; sys.argv = ['openai_server', '--routers', 'random', "
    "'--strong-model', {strong!r}, '--weak-model', {weak!r}, '--base-url', {base!r}, "
    "'--api-key', 'sk-local']; import routellm.openai_server as s; {freeze}"
    "uvicorn.run(s.app, host='127.0.0.1', port={port})"
)
# `--ref-gc-freeze`: give the reference our server's one-line garbage-collector fix, to
# show how much of the tail difference it explains.
GC_FREEZE = "import gc; gc.collect(); gc.freeze(); "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children: a cost per request that,
    unlike wall time, barely depends on what else the machine is running."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in procs)


def rss_mb(pid: int) -> float:
    """Resident memory of a server process and its children, MB."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return round(sum(p.memory_info().rss for p in procs) / 2**20, 1)


def mmlu_prompts(n: int) -> list[str]:
    """n MMLU questions in a seeded order (the cold-prompt load for embedding routers)."""
    import numpy as np

    from routellm_py.data.benchmarks import load_benchmark

    pool = list(dict.fromkeys(load_benchmark("mmlu").prompts))
    return [pool[i] for i in np.random.default_rng(0).permutation(len(pool))[:n]]


def wait_http(url: str, proc: subprocess.Popen, limit_s: float = 180) -> None:
    """Poll until `url` answers (any status); bounded."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see its log")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {limit_s}s")


def probe(base: str, upstream: str) -> dict[str, Any]:
    """Bad-input and failure probes: status and whether the body is an OpenAI error."""
    url = f"{base}/chat/completions"
    ok_msgs = [{"role": "user", "content": "hi"}]
    cases: dict[str, Any] = {
        "empty messages": {"model": "router-random-0.5", "messages": []},
        "non-string content": {
            "model": "router-random-0.5",
            "messages": [{"role": "user", "content": 5}],
        },
        "unknown router": {"model": "router-nope-0.5", "messages": ok_msgs},
        "threshold out of range": {"model": "router-random-1.5", "messages": ok_msgs},
        "malformed JSON": b'{"model": "router-random-0.5", "messages": [',
        "oversize body (8 MiB)": {
            "model": "router-random-0.5",
            "messages": [{"role": "user", "content": "x" * (8 << 20)}],
        },
        "upstream 500": {"model": "router-random-0.5", "messages": ok_msgs},
    }
    out = {}
    for name, body in cases.items():
        httpx.post(f"{upstream}/_control/clear", timeout=5)
        if name == "upstream 500":
            httpx.post(f"{upstream}/_control/fail", json={"mode": "500", "times": 50}, timeout=5)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = httpx.post(
            url, content=content, headers={"content-type": "application/json"}, timeout=120
        )
        try:
            parsed = r.json()
            openai_style = isinstance(parsed.get("error"), dict) and "message" in parsed["error"]
        except ValueError:
            openai_style = False
        out[name] = {
            "status": r.status_code,
            "openai_style_error": openai_style,
            "traceback_in_body": "Traceback" in r.text,
            "body": r.text[:160],
        }
    httpx.post(f"{upstream}/_control/clear", timeout=5)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ref-python", default=None, help="python of a venv with routellm 0.2.0")
    p.add_argument("-n", type=int, default=1000, help="requests per load (steady state: >= 1000)")
    p.add_argument("--concurrency", default="16,32")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ref-gc-freeze", action="store_true", help="see GC_FREEZE")
    p.add_argument("--routers", default="random", help="random and/or mf (ours only)")
    p.add_argument("--out", default=str(HERE / "results"))
    args = p.parse_args()
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "HF_HUB_OFFLINE": "1",
        "OPENAI_API_KEY": "sk-local",
        "TOKENIZERS_PARALLELISM": "false",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="server-load-logs-"))
    print(f"server logs: {logs}", flush=True)
    procs: list[subprocess.Popen] = []
    try:
        up_proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "upstream.py")], stdout=subprocess.PIPE, env=env
        )
        procs.append(up_proc)
        upstream = f"http://127.0.0.1:{json.loads(up_proc.stdout.readline())['port']}"
        servers: dict[str, str] = {}
        port = free_port()
        cmd = [
            str(Path(sys.executable).with_name("routellm-py")), "serve", "--routers", args.routers,
            "--strong-model", STRONG, "--weak-model", WEAK, "--api-base", f"{upstream}/v1",
            "--port", str(port),
        ]  # fmt: skip
        log = open(logs / "ours.log", "w")  # noqa: SIM115
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=log))
        servers["routellm-py"] = f"http://127.0.0.1:{port}/v1"
        if args.ref_python:
            ref_port = free_port()
            code = REF_LAUNCH.format(
                strong=STRONG,
                weak=WEAK,
                base=f"{upstream}/v1",
                port=ref_port,
                freeze=GC_FREEZE if args.ref_gc_freeze else "",
            )
            log = open(logs / "reference.log", "w")  # noqa: SIM115
            procs.append(
                subprocess.Popen([args.ref_python, "-c", code], env=env, stdout=log, stderr=log)
            )
            ref_name = "reference-0.2.0" + ("+gc.freeze" if args.ref_gc_freeze else "")
            servers[ref_name] = f"http://127.0.0.1:{ref_port}/v1"
        routers = args.routers.split(",")
        prompts = mmlu_prompts(args.n) if "mf" in routers else None
        for proc, base in zip(procs[1:], servers.values(), strict=True):
            wait_http(base.removesuffix("/v1") + "/health", proc)
            for r in routers:  # warm-up: lazy imports, the encoder's model
                if r == "random" or base == servers["routellm-py"]:
                    run_load(base, f"router-{r}-0.5", n=8, concurrency=4, prompts=prompts)
        rss = {
            name: {"after_warm_up": rss_mb(proc.pid)}
            for name, proc in zip(servers, procs[1:], strict=True)
        }
        loads: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for _ in range(args.rounds):  # interleaved, so both share the background load
            for c in [int(x) for x in args.concurrency.split(",")]:
                for router in routers:
                    for (name, base), proc in zip(servers.items(), procs[1:], strict=True):
                        if router != "random" and name != "routellm-py":
                            continue  # the reference's embedding routers need the internet
                        cpu = cpu_seconds(proc.pid)
                        res = run_load(
                            base,
                            f"router-{router}-0.5",
                            n=args.n,
                            concurrency=c,
                            prompts=prompts if router != "random" else None,
                        )
                        r = asdict(res)
                        r["server_cpu_ms_per_request"] = round(
                            1000 * (cpu_seconds(proc.pid) - cpu) / args.n, 2
                        )
                        r["server_rss_mb_after"] = rss_mb(proc.pid)
                        r["load_average_1m"] = os.getloadavg()[0]
                        cost = f"{r['server_cpu_ms_per_request']} server CPU ms/request"
                        label = f"{name} {router}"
                        cost += f"; RSS {r['server_rss_mb_after']} MB"
                        print(f"{label:24s} {res.summary()}; {cost}", flush=True)
                        loads.setdefault(label, {}).setdefault(str(c), []).append(r)
        for name, proc in zip(servers, procs[1:], strict=True):
            rss[name]["after_all_loads"] = rss_mb(proc.pid)
        probes = {name: probe(base, upstream) for name, base in servers.items()}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = {
        "loads": loads,
        "server_rss_mb": rss,
        "probes": probes,
        "n": args.n,
        "rounds": args.rounds,
        "ref_gc_freeze": args.ref_gc_freeze,
    }
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "compare.md").write_text(report(result))
    print(report(result))


def report(result: dict[str, Any]) -> str:
    """Markdown tables: medians over rounds per server and concurrency; probe outcomes."""
    lines = [
        "| server router | concurrency | intact/n | lost | dup | server CPU ms/req | req/s "
        "| p50 ms | p99 ms | RSS after MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_c in result["loads"].items():
        for c, runs in by_c.items():
            keys = ("server_cpu_ms_per_request", "requests_per_s", "p50_ms", "p99_ms")
            rss_after = max(r.get("server_rss_mb_after", 0) for r in runs)
            med = {k: statistics.median(r[k] for r in runs) for k in keys}
            intact = min(r["intact"] for r in runs)
            lost = max(r["lost"] for r in runs)
            dup = max(r["duplicated"] for r in runs)
            lines.append(
                f"| {name} | {c} | {intact}/{result['n']} | {lost} | {dup} | "
                f"{med['server_cpu_ms_per_request']:.1f} | {med['requests_per_s']:.1f} | "
                f"{med['p50_ms']:.0f} | {med['p99_ms']:.0f} | {rss_after:.0f} |"
            )
    lines += ["", "| server | RSS after warm-up MB | RSS after all loads MB |", "|---|---|---|"]
    for name, r in result.get("server_rss_mb", {}).items():
        lines.append(f"| {name} | {r['after_warm_up']} | {r['after_all_loads']} |")
    names = list(result["probes"])
    lines += ["", "| probe | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for case in next(iter(result["probes"].values())):
        cells = []
        for n in names:
            pr = result["probes"][n][case]
            style = "OpenAI JSON" if pr["openai_style_error"] else "other body"
            cells.append(
                f"{pr['status']} {style}" + (" +traceback" if pr["traceback_in_body"] else "")
            )
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
