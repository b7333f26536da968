"""Routing overhead: what a router adds to each request (latency, throughput, memory).

Routers that embed prompts are measured twice, and the rows say which:
* "cold": every prompt unseen, no embedding cache, the encoder on its serving backend (see
  `routellm_py.embeddings.encoders`): the cost of a real request with a new prompt.
* "warm": the same prompts again through an in-memory cache that holds them all: the
  router alone (a repeated prompt). Routers without an encoder get one row, "none".
For each row, after one warm-up call (model loading is timed apart, as `first_call_s`):
* single-prompt latency: `win_rate([p])` for each of `n_single` prompts; median and p99.
* batch throughput: prompts/s scoring `n_batch` prompts in batches of `batch_size`.
* memory: `rss_mb`, the process's resident set after the row; `maxrss_delta_mb`, growth of
  its peak RSS over the row (0 when it peaked earlier); `tracemalloc_peak_mb`, peak
  Python-heap allocation during one batch (numpy included, torch/onnxruntime native not).
Timings depend on the machine; they are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from routellm_py.routers.base import Router, validate_prompts


@dataclass(frozen=True)
class Overhead:
    router: str
    cache: str  # "cold", "warm" or "none" (the router embeds nothing)
    backend: str  # the encoder's backend, "" for routers without an encoder
    first_call_s: float
    n_single: int
    median_ms: float
    p99_ms: float
    n_batch: int
    batch_size: int
    throughput_qps: float
    rss_mb: float
    maxrss_delta_mb: float
    tracemalloc_peak_mb: float

    def as_dict(self) -> dict:
        return asdict(self)


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB else


def rss_mb() -> float:
    """The process's resident set now (Linux: /proc; elsewhere its peak)."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _maxrss_mb()


@contextmanager
def encoder_for(router: Router, cache: str, backend: str | None) -> Iterator[str]:
    """Run `router` with its encoder spec on `cache` mode and `backend` ("auto": the serving
    path); yields the backend, "" if the router has no encoder. Restores the encoder after."""
    spec = getattr(router, "encoder", None)
    if not isinstance(spec, str) or not hasattr(router, "_encoder"):
        yield ""
        return
    from routellm_py.embeddings import get_encoder

    saved = router._encoder
    router._encoder = get_encoder(spec, cache=cache, backend=backend)
    try:
        yield router._encoder.backend
    finally:
        router._encoder = saved


def _prompt_sets(
    prompts: list[str], n_single: int, n_batch: int, distinct: bool
) -> tuple[list[str], list[str], list[str]]:
    """(warm-up, single, batch) prompts: all distinct for a cold run, else cycled."""
    if not distinct:
        cycle = [prompts[i % len(prompts)] for i in range(max(n_single, n_batch))]
        return cycle[:1], cycle[:n_single], cycle[:n_batch]
    unique = list(dict.fromkeys(prompts))
    if len(unique) < n_single + n_batch + 1:
        raise ValueError(
            f"a cold measurement needs {n_single + n_batch + 1} distinct prompts, got "
            f"{len(unique)}; pass more prompts or lower n_single/n_batch"
        )
    return unique[:1], unique[1 : 1 + n_single], unique[1 + n_single : 1 + n_single + n_batch]


def measure_overhead(
    router: Router,
    prompts: Sequence[str],
    label: str | None = None,
    n_single: int = 100,
    n_batch: int = 1000,
    batch_size: int = 64,
    cache: str = "warm",
    backend: str | None = "auto",
) -> Overhead:
    """Latency, throughput and memory of `router` on `prompts` (see the module docstring).

    "cold" needs `n_single + n_batch + 1` distinct prompts: none is ever scored twice."""
    prompts = validate_prompts(prompts)
    if min(n_single, n_batch, batch_size) < 1:
        raise ValueError("n_single, n_batch and batch_size must be >= 1")
    if cache not in ("cold", "warm"):
        raise ValueError(f"cache must be 'cold' or 'warm', got {cache!r}")
    with encoder_for(router, "off" if cache == "cold" else "memory", backend) as used:
        warm_up, single, batch = _prompt_sets(
            prompts, n_single, n_batch, bool(cache == "cold" and used)
        )
        rss0 = _maxrss_mb()
        t0 = time.perf_counter()
        router.win_rate(warm_up)  # lazy loading (model, export), first-call allocations
        first_call = time.perf_counter() - t0
        if cache == "warm" and used:
            router.win_rate(list(dict.fromkeys(single + batch)))  # every prompt now cached
        lat = []
        for p in single:
            t0 = time.perf_counter()
            router.win_rate([p])
            lat.append(time.perf_counter() - t0)
        batches = [batch[i : i + batch_size] for i in range(0, len(batch), batch_size)]
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
            cache=cache if used else "none",
            backend=used,
            first_call_s=first_call,
            n_single=n_single,
            median_ms=float(np.median(ms)),
            p99_ms=float(np.percentile(ms, 99)),
            n_batch=len(batch),
            batch_size=batch_size,
            throughput_qps=len(batch) / elapsed if elapsed > 0 else float("inf"),
            rss_mb=rss_mb(),
            maxrss_delta_mb=max(0.0, _maxrss_mb() - rss0),
            tracemalloc_peak_mb=peak / 2**20,
        )


def overhead_rows(
    router: Router, prompts: Sequence[str], label: str, n_single: int, n_batch: int
) -> list[Overhead]:
    """Cold then warm rows for a router with an encoder; one row ("none") otherwise."""
    cold = measure_overhead(router, prompts, label, n_single, n_batch, cache="cold")
    if cold.cache == "none":
        return [cold]
    return [cold, measure_overhead(router, prompts, label, n_single, n_batch, cache="warm")]


def overhead_table(
    routers: dict[str, Router],
    prompts: Sequence[str],
    out: Path | None,
    n_single: int = 100,
    n_batch: int = 256,
):
    """Overhead of each router as a DataFrame; written to `<out>/overhead.{csv,json}`."""
    import pandas as pd

    from routellm_py._util import atomic_write

    n = len(set(prompts))  # a cold run never repeats a prompt: fit the counts to what exists
    n_single = max(1, min(n_single, (n - 1) // 3))
    n_batch = max(1, min(n_batch, n - 1 - n_single))
    rows = [
        o.as_dict()
        for label, r in routers.items()
        for o in overhead_rows(r, prompts, label, n_single, n_batch)
    ]
    table = pd.DataFrame(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "overhead.csv", table.to_csv(index=False))
        atomic_write(out / "overhead.json", json.dumps(rows, indent=1) + "\n")
    return table
