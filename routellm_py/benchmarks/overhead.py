"""Routing overhead: what a router adds to each request (latency, throughput, memory).

Measured on the live router (never through the score cache), after one warm-up call:
* single-query latency: `win_rate([p])` for each of `n_single` prompts; median and p99.
* batch throughput: prompts/s scoring `n_batch` prompts in batches of `batch_size`.
* memory: `tracemalloc_peak_mb`, peak Python-heap allocation traced during one batch
  (numpy buffers included, torch/native allocations not); `maxrss_delta_mb`, growth of the
  process's peak RSS (`resource.getrusage(...).ru_maxrss`) over the whole measurement,
  which is 0 when the process peaked earlier (e.g. while loading the model).
Timings depend on the machine; they are reported, never asserted.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from routellm_py.routers.base import Router, validate_prompts


@dataclass(frozen=True)
class Overhead:
    router: str
    n_single: int
    median_ms: float
    p99_ms: float
    n_batch: int
    batch_size: int
    throughput_qps: float
    tracemalloc_peak_mb: float
    maxrss_delta_mb: float

    def as_dict(self) -> dict:
        return asdict(self)


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB else


def measure_overhead(
    router: Router,
    prompts: Sequence[str],
    label: str | None = None,
    n_single: int = 100,
    n_batch: int = 1000,
    batch_size: int = 64,
) -> Overhead:
    """Latency, throughput and memory of `router` on (cycled) `prompts`."""
    prompts = validate_prompts(prompts)
    if min(n_single, n_batch, batch_size) < 1:
        raise ValueError("n_single, n_batch and batch_size must be >= 1")
    rss0 = _maxrss_mb()
    router.win_rate(prompts[:1])  # warm-up: lazy loading, first-call allocations
    cycle = [prompts[i % len(prompts)] for i in range(max(n_single, n_batch))]
    lat = []
    for p in cycle[:n_single]:
        t0 = time.perf_counter()
        router.win_rate([p])
        lat.append(time.perf_counter() - t0)
    batches = [cycle[i : i + batch_size] for i in range(0, n_batch, batch_size)]
    t0 = time.perf_counter()
    for b in batches:
        router.win_rate(b)
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    try:
        router.win_rate(batches[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ms = np.array(lat) * 1e3
    return Overhead(
        router=label or router.name,
        n_single=n_single,
        median_ms=float(np.median(ms)),
        p99_ms=float(np.percentile(ms, 99)),
        n_batch=n_batch,
        batch_size=batch_size,
        throughput_qps=n_batch / elapsed if elapsed > 0 else float("inf"),
        tracemalloc_peak_mb=peak / 2**20,
        maxrss_delta_mb=max(0.0, _maxrss_mb() - rss0),
    )


def overhead_table(routers: dict[str, Router], prompts: Sequence[str], out: Path | None):
    """Overhead of each router as a DataFrame; written to `<out>/overhead.{csv,json}`."""
    import pandas as pd

    from routellm_py.benchmarks.harness import atomic_write_bytes

    rows = [measure_overhead(r, prompts, label).as_dict() for label, r in routers.items()]
    table = pd.DataFrame(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / "overhead.csv", table.to_csv(index=False).encode())
        atomic_write_bytes(out / "overhead.json", (json.dumps(rows, indent=1) + "\n").encode())
    return table
