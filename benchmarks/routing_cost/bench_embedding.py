"""The embedding part of a first `bench` run (a fresh cache): texts embedded and seconds.

Runs `routellm-py bench` in this process on an empty embedding cache, counting every text
that reaches an encoder's model and the time spent there. Each router used to build its
own encoder whose disk table was read once at first use, so routers sharing an encoder
re-embedded the same benchmark; now they share one encoder and one cache. Run it on the
old and the new code (PYTHONPATH) to compare.

`--count-only` skips the model (each text gets a pseudo-random unit vector seeded by its
hash), so the count of texts each code version embeds is measured in seconds on a busy
machine; multiply by the encoder's measured cost per text for the time.

Usage: .venv/bin/python benchmarks/routing_cost/bench_embedding.py [--limit 2000] [--count-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np

from routellm_py.cli import main as cli
from routellm_py.embeddings.encoders import SentenceTransformerEncoder

ROUTERS = "random,sw_ranking,sw_ranking-judge-gold,mf,mf-judge-gold"  # the Makefile's


def pseudo(self, texts: list[str], batch_size: int) -> np.ndarray:
    """A stand-in for the model: one seeded random vector per text (384 dims, as MiniLM)."""
    seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little") for t in texts]
    return np.stack([np.random.default_rng(s).standard_normal(384) for s in seeds])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=300, help="prompts evaluated per benchmark")
    ap.add_argument("--benchmarks", default="mt-bench,mmlu,gsm8k", help="the Makefile's")
    ap.add_argument("--routers", default=ROUTERS)
    ap.add_argument("--count-only", action="store_true", help="no model: count texts only")
    args = ap.parse_args()
    counted = {"texts": 0, "seconds": 0.0, "calls": 0}
    real = pseudo if args.count_only else SentenceTransformerEncoder._embed

    def counting(self, texts, batch_size):
        t0 = time.perf_counter()
        try:
            return real(self, texts, batch_size)
        finally:
            counted["texts"] += len(texts)
            counted["calls"] += 1
            counted["seconds"] += time.perf_counter() - t0

    SentenceTransformerEncoder._embed = counting
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ROUTELLM_PY_CACHE"] = f"{tmp}/cache"
        argv = ["bench", "--routers", args.routers, "--benchmarks", args.benchmarks]
        argv += ["--limit", str(args.limit), "--out", f"{tmp}/out", "--no-progress"]
        t0 = time.perf_counter()
        rc = cli(argv)
        total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                **counted,
                "count_only": args.count_only,
                "bench_seconds": round(total, 1),
                "rc": rc,
                "load": os.getloadavg()[0],
            }
        )
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())
