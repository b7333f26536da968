"""Encoder speed: MiniLM (the default) on each backend (torch, onnx float32, onnx int8)
against the model2vec static model distilled from it.

Embeds the same MMLU evaluation prompts with the cache off: batch throughput (prompts/s,
batches of 64), single-prompt latency (median, p99) and the process CPU time per single
prompt (user + system of all threads: less sensitive than wall time to other jobs on the
machine, but it counts every thread's work). Quality: benchmarks/routing_cost/run.py.

Usage: .venv/bin/python benchmarks/embedding_routers/encoder_speed.py [--n 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, write_json

from routellm_py._util import ENCODER_THREADS_ENV
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.embeddings import get_encoder


def measure(spec: str, backend: str, prompts: list[str], n_single: int) -> dict:
    enc = get_encoder(spec, cache=False, backend=backend)
    enc.encode(prompts[:2])  # load the model
    t0 = time.perf_counter()
    enc.encode(prompts, batch_size=64)
    batch_s = time.perf_counter() - t0
    lat = []
    cpu0 = time.process_time()
    for p in prompts[:n_single]:
        t0 = time.perf_counter()
        enc.encode([p])
        lat.append((time.perf_counter() - t0) * 1e3)
    cpu_ms = (time.process_time() - cpu0) / n_single * 1e3
    return {
        "encoder": enc.id,
        "backend": enc.backend,
        "single_cpu_ms": cpu_ms,
        "dim": enc.dim,
        "n_prompts": len(prompts),
        "batch_prompts_per_s": len(prompts) / batch_s,
        "batch_ms_per_prompt": batch_s / len(prompts) * 1e3,
        "single_median_ms": float(np.median(lat)),
        "single_p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="prompts to embed")
    ap.add_argument("--single", type=int, default=50, help="single-prompt calls to time")
    ap.add_argument("--out", default=str(RESULTS / "encoder_speed.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    pool = load_benchmark("mmlu").split_gold()[0].prompts
    prompts = [pool[i] for i in rng.choice(len(pool), args.n, replace=False)]
    runs = [("minilm", "torch"), ("minilm", "onnx"), ("minilm", "onnx-int8")]
    runs.append(("model2vec-minilm", "torch"))  # the backend applies to MiniLM only
    rows = {
        f"{spec}/{backend}": measure(spec, backend, prompts, args.single) for spec, backend in runs
    }
    ref = rows["minilm/torch"]
    for row in rows.values():
        row["single_median_speedup"] = ref["single_median_ms"] / row["single_median_ms"]
        row["single_cpu_speedup"] = ref["single_cpu_ms"] / row["single_cpu_ms"]
    rows["load_average_1min"] = os.getloadavg()[0]  # other jobs share the 2 cores
    print(rows, file=sys.stderr)
    rows["threads_env"] = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", ENCODER_THREADS_ENV)}
    write_json(Path(args.out), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
