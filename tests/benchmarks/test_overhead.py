"""Routing overhead: cold rows (unseen prompts, no cache) beside warm ones, for every router."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from routellm_py import load_router
from routellm_py.benchmarks.overhead import measure_overhead, overhead_table, rss_mb
from routellm_py.data.battles import Battles
from routellm_py.embeddings.encoders import HashingEncoder
from routellm_py.routers.base import Router
from routellm_py.routers.mf import MFRouter

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
PROMPTS = [f"question {i} about topic {i % 7}" for i in range(60)]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def mf():
    rows = [(p, STRONG, WEAK, "a_wins" if i % 2 else "b_wins") for i, p in enumerate(PROMPTS)]
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    battles = Battles(frame.assign(p_a_wins=np.nan, source="synthetic", weight=1.0))
    return MFRouter(encoder="hashing:64", dim=4, max_epochs=2, val_fraction=0.0).fit(
        battles, progress=False
    )


def test_cold_rows_pay_the_encoder_and_warm_rows_do_not(mf, monkeypatch):
    """A 4 ms encoder: every cold call pays it (no prompt seen twice, no cache), warm calls
    are cache hits."""
    real = HashingEncoder._embed
    embedded: list[str] = []

    def slow(self, texts, batch_size):
        embedded.extend(texts)
        time.sleep(0.004)
        return real(self, texts, batch_size)

    monkeypatch.setattr(HashingEncoder, "_embed", slow)
    cold = measure_overhead(mf, PROMPTS, "mf", n_single=10, n_batch=20, cache="cold")
    assert (cold.cache, cold.backend, cold.n_single, cold.n_batch) == ("cold", "reference", 10, 20)
    # warm-up + 10 single + 20 batched, all distinct; the memory probe re-runs the batch
    assert len(set(embedded)) == 31 and len(embedded) == 31 + 20
    assert cold.median_ms >= 4.0 and cold.rss_mb > 0
    embedded.clear()
    warm = measure_overhead(mf, PROMPTS, "mf", n_single=10, n_batch=20, cache="warm")
    assert warm.cache == "warm" and warm.median_ms < 4.0
    assert mf._encoder is None or mf._encoder.cache_mode != "off"  # the router is restored
    with pytest.raises(ValueError, match="distinct prompts"):
        measure_overhead(mf, PROMPTS[:10], n_single=10, n_batch=20, cache="cold")


def test_table_has_cold_and_warm_rows_per_embedding_router(mf, tmp_path):
    table = overhead_table({"random": load_router("random"), "mf": mf}, PROMPTS, tmp_path)
    assert list(zip(table["router"], table["cache"], strict=True)) == [
        ("random", "none"),
        ("mf", "cold"),
        ("mf", "warm"),
    ]
    assert (table["n_single"] + table["n_batch"]).max() < len(PROMPTS)  # fitted to 60 prompts
    assert (tmp_path / "overhead.csv").is_file()


class _Metered(Router):
    """Each call sleeps 5 ms and builds an 8 MiB scratch array: a router whose cost is known."""

    name = "metered"
    SLEEP_S, SCRATCH_MB = 0.005, 8

    def _win_rate(self, prompts):
        time.sleep(self.SLEEP_S)
        scratch = np.ones(self.SCRATCH_MB * 2**20 // 8)
        return np.full(len(prompts), 0.5) + scratch[: len(prompts)] * 0.0


def _vm_rss_mb() -> float:
    """Resident set from /proc/self/status (kB), read independently of overhead.rss_mb."""
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_overhead_figures_match_a_router_of_known_cost():
    o = measure_overhead(_Metered(), ["a", "b", "c"], n_single=5, n_batch=10, batch_size=4)
    assert (o.router, o.cache, o.backend) == ("metered", "none", "")
    assert (o.n_single, o.n_batch, o.batch_size) == (5, 10, 4)
    # every single call sleeps 5 ms; the p99 of five values is at least their median
    assert 5.0 <= o.median_ms <= o.p99_ms and o.first_call_s >= 0.005
    # 10 prompts in 3 batches of <= 4, each call >= 5 ms: at most 10 / 0.015 prompts/s
    assert 0 < o.throughput_qps <= 10 / (3 * _Metered.SLEEP_S)
    # the traced batch allocates the 8 MiB scratch array (numpy reports to tracemalloc)
    assert _Metered.SCRATCH_MB <= o.tracemalloc_peak_mb < 2 * _Metered.SCRATCH_MB + 1
    # resident set in MiB, as the kernel reports it (a KiB/bytes slip would be 1000x off)
    assert abs(o.rss_mb - _vm_rss_mb()) < 32 and abs(rss_mb() - _vm_rss_mb()) < 1
