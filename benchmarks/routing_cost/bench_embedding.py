"""The embedding part of a first `bench` run (a fresh cache): texts embedded and seconds.

Runs `routellm-py bench` in this process on an empty embedding cache, counting every text
that reaches an encoder's model and the time spent there. Each router used to build its
own encoder whose disk table was read once at first use, so routers sharing an encoder
re-embedded the same benchmark; now they share one encoder and one cache. Run it on the
old and the new code (PYTHONPATH) to compare.

Usage: .venv/bin/python benchmarks/routing_cost/bench_embedding.py [--limit 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from routellm_py.cli import main as cli
from routellm_py.embeddings.encoders import SentenceTransformerEncoder

ROUTERS = "random,sw_ranking,sw_ranking-judge-gold,mf,mf-judge-gold"  # the Makefile's


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=300, help="MMLU prompts evaluated")
    ap.add_argument("--routers", default=ROUTERS)
    args = ap.parse_args()
    counted = {"texts": 0, "seconds": 0.0, "calls": 0}
    real = SentenceTransformerEncoder._embed

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
        argv = ["bench", "--routers", args.routers, "--benchmarks", "mmlu"]
        argv += ["--limit", str(args.limit), "--out", f"{tmp}/out", "--no-progress"]
        t0 = time.perf_counter()
        rc = cli(argv)
        total = time.perf_counter() - t0
    print(
        json.dumps(
            {**counted, "bench_seconds": round(total, 1), "rc": rc, "load": os.getloadavg()[0]}
        )
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())
