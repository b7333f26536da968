"""Inference latency and throughput of a router checkpoint on this machine.

    python benchmarks/classifier_routers/latency.py CHECKPOINT --n 200 --out FILE.json

Prompts: a seeded sample of `n` prompts drawn evenly from MT-Bench, MMLU and GSM8K.
Single-prompt latency: `win_rate([p])` per prompt (median and p99, one warm-up call first).
Throughput: one batched `win_rate(prompts)` call (the router's own batch size), prompts/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from routellm_py._util import atomic_write
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.routers.base import load_router


def sample_prompts(n: int, seed: int, data_dir: str | None) -> list[str]:
    rng = np.random.default_rng(seed)
    names = ["mt-bench", "mmlu", "gsm8k"]
    out: list[str] = []
    for i, name in enumerate(names):
        prompts = load_benchmark(name, data_dir).prompts
        k = n // len(names) + (1 if i < n % len(names) else 0)
        picks = rng.choice(len(prompts), size=min(k, len(prompts)), replace=False)
        out += [prompts[j] for j in picks]
    return out


def measure(checkpoint: str, n: int, seed: int, data_dir: str | None) -> dict:
    router = load_router(checkpoint)
    prompts = sample_prompts(n, seed, data_dir)
    router.win_rate(prompts[:1])  # warm-up
    single = []
    for p in prompts:
        t = time.perf_counter()
        one = router.win_rate([p])
        single.append(time.perf_counter() - t)
    t = time.perf_counter()
    batched = router.win_rate(prompts)
    batch_s = time.perf_counter() - t
    single_ms = np.array(single) * 1e3
    return {
        "checkpoint": checkpoint,
        "router": router.name,
        "n_prompts": len(prompts),
        "single_median_ms": float(np.median(single_ms)),
        "single_p99_ms": float(np.percentile(single_ms, 99)),
        "single_throughput_per_s": float(len(prompts) / sum(single)),
        "batched_throughput_per_s": float(len(prompts) / batch_s),
        "batched_vs_single_max_abs_diff": float(np.max(np.abs(batched[-1:] - one))),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    result = measure(args.checkpoint, args.n, args.seed, args.data_dir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
