"""Routing cost of the whole decision on unseen prompts, per router and encoder backend,
and what the fast backends cost in quality.

Cost (`routellm_py.benchmarks.overhead`): for every shipped router and, for the MiniLM
routers, every backend (torch = the reference, onnx = float32 onnxruntime, onnx-int8 =
dynamic int8), a "cold" row (unseen MMLU prompts, no cache: single-prompt median/p99,
batched prompts/s, RSS) and a "warm" row (the same prompts cached). The model2vec static
encoder distilled from MiniLM is timed as an encoder alone: no shipped checkpoint uses it.

Quality, on prompts of training sources only (never the evaluation benchmarks):
* embedding agreement: cosine of each backend's vector with torch's;
* win-rate agreement of the shipped checkpoints: |w_backend - w_torch| (mean, max) and the
  share of prompts routed alike at a threshold sending half of them strong;
* APGR on two gold training sources (MMLU-Pro: gpt-4o vs Mixtral; Faithful-CoT math:
  gpt-4 vs gpt-3.5-turbo), per backend, and its change against torch.

The same for checkpoints retrained on the static encoder (`--fast DIR/mf-fast,...`): their
cost, and their APGR against the MiniLM checkpoint of the same name and data.

Usage (repository root): .venv/bin/python benchmarks/routing_cost/run.py [--n-quality 600]
Writes benchmarks/routing_cost/results/routing_cost.json and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py import load_router
from routellm_py import metrics as M
from routellm_py.benchmarks.overhead import encoder_for, measure_overhead, rss_mb
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.embeddings import get_encoder

HERE = Path(__file__).resolve().parent
ROUTERS = ("random", "mf", "sw_ranking", "mf-judge-gold", "sw_ranking-judge-gold")
BACKENDS = ("torch", "onnx", "onnx-int8")
# Gold training sources: (file, strong column, weak column).
GOLD = {
    "mmlu_pro": ("gold/mmlu_pro/mmlu_pro.csv.gz", "gpt-4o", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    "faithful_cot": ("gold/faithful_cot/faithful_cot.csv", "gpt-4", "gpt-3.5-turbo"),
}


def data_dir() -> Path:
    return Path(os.environ.get("ROUTELLM_PY_DATA", "../shared/data"))


def unseen_prompts(n: int) -> list[str]:
    """MMLU prompts (the issue's "MMLU-length" yardstick), seeded order, distinct."""
    pool = list(dict.fromkeys(load_benchmark("mmlu").prompts))
    rng = np.random.default_rng(0)
    return [pool[i] for i in rng.permutation(len(pool))[:n]]


def cost_rows(n_single: int, n_batch: int, routers: list[str]) -> list[dict]:
    prompts = unseen_prompts(1 + n_single + n_batch)
    rows = []
    for name in routers:
        router = load_router(name)
        name = Path(name).name
        backends = BACKENDS if isinstance(getattr(router, "encoder", None), str) else (None,)
        for backend in backends:
            for cache in ("cold", "warm"):
                o = measure_overhead(router, prompts, name, n_single, n_batch, 64, cache, backend)
                rows.append(o.as_dict())
                print(_fmt(rows[-1]), file=sys.stderr, flush=True)
                if o.cache == "none":
                    break
    return rows


def _fmt(r: dict) -> str:
    return (
        f"{r['router']:<22} {r['cache']:<5} {r['backend']:<10} p50 {r['median_ms']:8.2f} ms  "
        f"p99 {r['p99_ms']:8.2f} ms  {r['throughput_qps']:8.1f}/s  RSS {r['rss_mb']:7.0f} MB"
    )


def static_encoder_row(n_single: int) -> dict:
    """model2vec (distilled from MiniLM, 256 dims): encoder only, cold, single prompts."""
    enc = get_encoder("model2vec-minilm", cache="off")
    prompts = unseen_prompts(n_single + 1)
    enc.encode(prompts[:1])
    lat = []
    for p in prompts[1:]:
        t0 = time.perf_counter()
        enc.encode([p])
        lat.append((time.perf_counter() - t0) * 1e3)
    return {
        "encoder": enc.id,
        "median_ms": float(np.median(lat)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def gold_sets(n: int) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per gold source: n seeded prompts with the strong and weak models' correctness."""
    out = {}
    for name, (path, strong, weak) in GOLD.items():
        f = pd.read_csv(data_dir() / path).dropna(subset=["prompt", strong, weak])
        f = f.drop_duplicates("prompt").sample(n=min(n, len(f)), random_state=0)
        out[name] = (
            f["prompt"].tolist(),
            f[strong].astype(float).to_numpy(),
            f[weak].astype(float).to_numpy(),
        )
    return out


def fast_checkpoints(sets: dict, extra: list[str]) -> dict:
    """APGR of checkpoints retrained on another encoder (`DIR/NAME-fast`) against the shipped
    `NAME` on torch MiniLM, per gold source."""
    out = {}
    for path in extra:
        fast, base = load_router(path), load_router(Path(path).name.removesuffix("-fast"))
        row = {}
        with encoder_for(base, "memory", "torch"):
            for s, (ps, strong, weak) in sets.items():
                a = M.apgr(M.routed_curve(fast.win_rate(ps), strong, weak))
                b = M.apgr(M.routed_curve(base.win_rate(ps), strong, weak))
                row[s] = {"apgr": a, "apgr_minilm": b, "apgr_change": a - b}
        out[Path(path).name] = row
        print(Path(path).name, row, file=sys.stderr, flush=True)
    return out


def quality(n: int, routers: list[str], extra: list[str]) -> dict:
    """Embedding and win-rate agreement with torch, and APGR per backend (see docstring)."""
    sets = gold_sets(n)
    prompts = [p for ps, _, _ in sets.values() for p in ps]
    # The shared in-memory encoders: the routers below find these vectors in their LRU.
    emb = {b: get_encoder("minilm", cache="memory", backend=b).encode(prompts) for b in BACKENDS}
    out: dict = {"n_prompts": len(prompts), "embedding_cosine": {}, "routers": {}}
    for b in BACKENDS[1:]:
        cos = np.sum(emb[b] * emb["torch"], axis=1)
        out["embedding_cosine"][b] = {"mean": float(cos.mean()), "min": float(cos.min())}
    for name in [r for r in routers if r != "random"]:
        router, per = load_router(name), {}
        wins = {}
        for b in BACKENDS:
            with encoder_for(router, "memory", b):
                wins[b] = {s: router.win_rate(ps) for s, (ps, _, _) in sets.items()}
        for b in BACKENDS:
            row = {}
            for s, (_, strong, weak) in sets.items():
                w, ref = wins[b][s], wins["torch"][s]
                half = np.median(ref)
                row[s] = {
                    "apgr": M.apgr(M.routed_curve(w, strong, weak)),
                    "apgr_change": M.apgr(M.routed_curve(w, strong, weak))
                    - M.apgr(M.routed_curve(ref, strong, weak)),
                    "mean_abs_win_rate_diff": float(np.abs(w - ref).mean()),
                    "max_abs_win_rate_diff": float(np.abs(w - ref).max()),
                    "same_decision_at_half": float(np.mean((w >= half) == (ref >= half))),
                }
            per[b] = row
        out["routers"][name] = per
        print(name, json.dumps(per, indent=1), file=sys.stderr, flush=True)
    out["fast_checkpoints"] = fast_checkpoints(sets, extra)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-single", type=int, default=100)
    ap.add_argument("--n-batch", type=int, default=256)
    ap.add_argument("--n-quality", type=int, default=600, help="prompts per gold source")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument("--routers", default=",".join(ROUTERS), help="shipped routers to measure")
    ap.add_argument(
        "--fast", default="", help="checkpoint dirs NAME-fast retrained on model2vec-minilm"
    )
    args = ap.parse_args()
    extra = [p for p in args.fast.split(",") if p]
    routers = args.routers.split(",")
    result = {
        "load_average_before": os.getloadavg(),  # the 2 cores are shared with other jobs
        "cpu_count": os.cpu_count(),
        "threads_env": {
            k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "ROUTELLM_PY_ENCODER_THREADS")
        },
        "rss_start_mb": rss_mb(),
    }
    if not args.skip_cost:
        result["cost"] = cost_rows(args.n_single, args.n_batch, routers + extra)
    try:
        if not args.skip_cost:
            result["static_encoder"] = static_encoder_row(args.n_single)
    except ImportError as e:  # model2vec's distill extra is optional
        result["static_encoder"] = {"skipped": str(e)}
    if not args.skip_quality:
        result["quality"] = quality(args.n_quality, routers, extra)
    result["load_average_after"] = os.getloadavg()
    parts = "-".join(k for k in ("cost", "quality") if k in result)
    out = HERE / "results" / f"routing_cost_{parts}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
