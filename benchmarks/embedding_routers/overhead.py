"""Routing overhead of the shipped embedding routers, with and without the encoder.

* "cached": prompt embeddings come from the on-disk cache (sha256 + lookup), so the time is
  the router itself: SW similarity + weighted BT fits, or the MF dot products.
* "with encoder": the cache is off, so every call runs the encoder's forward pass.
* SW scaling: the shipped checkpoint's battles copied onto N distinct perturbed prompt
  embeddings (N = 100k), to time a single query against about 100k training prompts.
Single-query latency is the median and p99 of `win_rate([p])`; throughput is prompts/s in
batches. Timings are this machine's (2 shared CPU cores), never asserted.

Usage: .venv/bin/python benchmarks/embedding_routers/overhead.py [--routers sw_ranking,mf]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, write_json

from routellm_py import load_router
from routellm_py.benchmarks.overhead import measure_overhead
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.embeddings import get_encoder


def checkpoint_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.iterdir()) / 2**20


def sw_scaling(router, n_prompts: int, queries: np.ndarray) -> dict:
    """Median/p99 ms of one query's ratings with `n_prompts` stored training prompts."""
    rng = np.random.default_rng(0)
    reps = int(np.ceil(n_prompts / len(router._prompt_emb)))
    emb = np.concatenate(
        [
            router._prompt_emb + 0.05 * rng.standard_normal(router._prompt_emb.shape)
            for _ in range(reps)
        ]
    )[:n_prompts]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cells = router._cells
    n0 = len(router._prompt_emb)
    prompt = np.concatenate([cells["cell_prompt"] + k * n0 for k in range(reps)])
    keep = prompt < n_prompts
    tile = lambda a: np.concatenate([a] * reps)[keep]  # noqa: E731
    router._prompt_emb = emb.astype(np.float32)
    router._set_cells(
        prompt[keep],
        tile(cells["cell_pair"]),
        tile(cells["cell_wins"]),
        tile(cells["cell_games"]),
        n_prompts,
        len(router._pairs),
    )
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        router.ratings(q[None, :])
        lat.append((time.perf_counter() - t0) * 1e3)
    t0 = time.perf_counter()
    router.ratings(queries)
    batch_s = time.perf_counter() - t0
    return {
        "n_prompts": n_prompts,
        "n_battle_cells": int(keep.sum()),
        "median_ms": float(np.median(lat)),
        "p99_ms": float(np.percentile(lat, 99)),
        "batch_qps": len(queries) / batch_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routers", default="sw_ranking,mf")
    args = ap.parse_args()
    prompts = load_benchmark("mmlu").split_gold()[0].prompts[:2000]
    out = {}
    for name in args.routers.split(","):
        r = load_router(name)
        r.embed(prompts, progress=True)  # make sure the cached case is all hits
        cached = measure_overhead(r, prompts, f"{name} (cached)", 300, 2000, 256).as_dict()
        r._encoder = get_encoder(r.encoder, cache=False)
        full = measure_overhead(r, prompts, f"{name} (with encoder)", 30, 128, 64).as_dict()
        row = {
            "cached": cached,
            "with_encoder": full,
            "checkpoint_mb": checkpoint_mb(r.checkpoint_dir),
        }
        row["training_battles"] = r.training_report.get("n_battles")
        row["training_prompts"] = r.training_report.get("n_prompts")
        if name.startswith("sw_ranking"):
            queries = load_router(name).embed(prompts[:300])
            row["scaling_100k"] = sw_scaling(load_router(name), 100_000, queries)
        out[name] = row
        print(name, row, file=sys.stderr)
    out["load_average_1min"] = os.getloadavg()[0]  # other jobs share the 2 cores
    write_json(RESULTS / "overhead.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
