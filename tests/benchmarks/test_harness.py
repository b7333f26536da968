"""The benchmark harness end to end on small slices of the real benchmarks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import metrics as M
from routellm_py.benchmarks import harness as H
from routellm_py.data.benchmarks import load_benchmark, load_contaminated
from routellm_py.routers.base import Router, load_router
from routellm_py.routers.random import RandomRouter

COLUMNS = ["router", "kind", "APGR", "APGR 2.5%", "APGR 97.5%", "above band"]
COLUMNS += ["CPT(50%)", "CPT(80%)", "$/1k @CPT(50%)", "ECE", "Brier", "decontamination"]


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _run(data_dir, out, **kw):
    kw = {"benchmarks": ("mt-bench", "gsm8k"), "limit": 40, "progress": False, **kw}
    return H.run_benchmark(["random"], data_dir=data_dir, out=out, **kw)


def test_random_router_end_to_end(data_dir, tmp_path, cache_env):
    res = _run(data_dir, tmp_path / "out")
    mt = res["mt-bench"]
    assert list(mt.table.columns) == COLUMNS
    assert mt.table["router"].tolist() == ["random", "length", "oracle", "random (expected)"]
    # MT-Bench: 80 questions, 8 on RouteLLM's contamination list, no gold split, limit 40
    assert (mt.n_total, mt.n_evaluated) == (80, 40)
    assert mt.dropped == {"gold": 0, "routellm_list": 8, "train_cosine": 0, "limit": 32}
    assert mt.decontamination == {}  # an untrained router has no training prompts
    assert mt.table["decontamination"].tolist() == ["untrained", "-", "-", "-"]
    assert not set(mt.prompts) & load_contaminated("mt-bench", data_dir)
    # the table is exactly the metrics of the router's win rates on those prompts
    bench = load_benchmark("mt-bench", data_dir)
    frame = bench.frame.set_index("prompt").loc[mt.prompts]
    s, w = frame[mt.strong_model].to_numpy(), frame[mt.weak_model].to_numpy()
    curve = M.routed_curve(load_router("random").win_rate(mt.prompts), s, w)
    row = mt.table.set_index("router")
    assert row.loc["random", "APGR"] == pytest.approx(M.apgr(curve))
    assert row.loc["random", "CPT(80%)"] == pytest.approx(M.cpt(curve, 0.8))
    assert row.loc["random (expected)", "APGR"] == pytest.approx(0.5)
    assert row.loc["random (expected)", "CPT(50%)"] == pytest.approx(0.5)
    assert row.loc["oracle", "APGR"] == pytest.approx(M.apgr(M.oracle_curve(s, w)))
    assert (mt.strong_mean, mt.weak_mean) == pytest.approx((s.mean(), w.mean()))
    # calibration: ECE / Brier of the win rates against strong > weak (ties 1/2)
    y = M.pairwise_outcome(s, w)
    rates = load_router("random").win_rate(mt.prompts)
    assert row.loc["random", "ECE"] == pytest.approx(M.expected_calibration_error(rates, y))
    assert row.loc["random", "Brier"] == pytest.approx(M.brier_score(rates, y))
    assert row[["ECE", "Brier"]].loc[["oracle", "random (expected)"]].isna().all().all()
    assert set(mt.reliability) == {"random", "length"}
    np.testing.assert_allclose(mt.reliability["random"][2].sum(), 40)
    # significance: the band, each row's bootstrap interval, the length baseline
    assert mt.random_band == M.percentile_interval(M.random_apgrs(s, w, 1000, seed=0))
    lo, hi = mt.random_band
    assert lo < 0.5 < hi
    assert tuple(row.loc["random (expected)", ["APGR 2.5%", "APGR 97.5%"]]) == (lo, hi)
    lengths = load_router("length").win_rate(mt.prompts)
    assert row.loc["length", "APGR"] == pytest.approx(M.apgr(M.routed_curve(lengths, s, w)))
    assert row.loc["length", "kind"] == "baseline"
    rates = load_router("random").win_rate(mt.prompts)
    ci = tuple(row.loc["random", ["APGR 2.5%", "APGR 97.5%"]])
    assert ci == M.percentile_interval(M.bootstrap_apgrs(rates, s, w, 1000, seed=0))
    assert ci[0] < row.loc["random", "APGR"] < ci[1]
    assert row.loc["oracle", "above band"] and not row.loc["random (expected)", "above band"]
    assert row["above band"].tolist() == (row["APGR"] > hi).tolist()[:3] + [False]
    # files: CSV equals the table, JSON carries counts and curves, PNG is a PNG
    out = tmp_path / "out"
    pd.testing.assert_frame_equal(pd.read_csv(out / "mt-bench.csv"), mt.table)
    meta = json.loads((out / "gsm8k.json").read_text())
    assert meta["n_evaluated"] == 40 and meta["dropped"]["routellm_list"] == 12
    assert len(meta["curves"]["oracle"]) == 101
    assert (out / "gsm8k.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "gsm8k_reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert sum(meta["reliability"]["length"]["n"]) == 40
    assert meta["random_band"] == list(res["gsm8k"].random_band)
    band = meta["random_band_curve"]
    assert band["low"][0] == band["high"][0] == pytest.approx(meta["weak_mean"])
    assert all(a <= b for a, b in zip(band["low"], band["high"], strict=True))
    text = H.format_result(mt)
    assert "40 prompts evaluated of 80" in text and "CPT(80%)" in text
    assert (
        f"random band (APGR of 1,000 seeded random routers, 2.5-97.5%): {lo:.4f} - {hi:.4f}" in text
    )
    oracle_line = next(ln for ln in text.splitlines() if ln.split()[:1] == ["oracle"])
    assert " *" in oracle_line and f"[{row.loc['oracle', 'APGR 2.5%']:.3f}," in oracle_line


def test_cached_rerun_is_identical_and_scores_nothing(data_dir, tmp_path, cache_env, monkeypatch):
    first = _run(data_dir, None)
    assert list((cache_env / "scores").glob("random-*.npz"))

    def fail(self, prompts):
        raise AssertionError("a cached prompt was scored again")

    monkeypatch.setattr(RandomRouter, "_win_rate", fail)
    second = _run(data_dir, None)
    for name in first:
        pd.testing.assert_frame_equal(first[name].table, second[name].table)


def test_mmlu_gold_split_is_excluded(data_dir, tmp_path, cache_env):
    res = _run(data_dir, None, benchmarks=("mmlu",), limit=30)["mmlu"]
    gold = set(load_benchmark("mmlu", data_dir).split_gold()[1].prompts)
    assert res.dropped["gold"] == 1500 and res.n_total == 14042
    assert res.n_evaluated == 30 and not gold & set(res.prompts)


class _TrainedOn(Router):
    """A router whose `fit` learns nothing; the base class records the prompts it was given
    (digests only: it has no encoder, so no near-duplicate embeddings)."""

    name = "test-trained"

    def fit(self, battles, **kwargs):
        return self

    def _win_rate(self, prompts):
        return np.full(len(prompts), 0.5)


def test_decontamination_drops_union_of_recorded_training_prompts(data_dir, tmp_path, cache_env):
    from routellm_py.data.battles import Battles

    mt = load_benchmark("mt-bench", data_dir)
    listed = load_contaminated("mt-bench", data_dir)
    clean = [p for p in mt.prompts if p not in listed]
    frame = pd.DataFrame(
        {
            "prompt": [clean[0], clean[5] + "  ", "What is the capital of France?"],
            "model_a": "gpt-4-1106-preview",
            "model_b": "mistralai/Mixtral-8x7B-Instruct-v0.1",
            "outcome": ["a_wins", "b_wins", "tie"],
        }
    )
    trained = _TrainedOn().fit(Battles(frame.assign(p_a_wins=np.nan, source="t", weight=1.0)))
    routers = {"random": load_router("random"), "trained": trained}
    res = H.run_benchmark(
        routers, benchmarks=("mt-bench",), data_dir=data_dir, out=None, progress=False
    )["mt-bench"]
    # the two training prompts are dropped for every row; nothing for the random router
    assert res.dropped == {"gold": 0, "routellm_list": 8, "train_cosine": 2}
    assert res.cosine_by_router == {"trained": 2}
    assert res.decontamination["trained"] == {
        "origin": "fit (not saved)", "exact": 2, "near": None, "removed": 2,
        "note": "prompt digests only, no training-prompt embeddings",
    }  # fmt: skip
    assert res.n_evaluated == 70 and clean[0] not in res.prompts
    assert res.table["router"].tolist()[:2] == ["random", "trained"]
    assert res.table["decontamination"].tolist()[:2] == ["untrained", "2 removed (exact only)"]


def test_bad_inputs(data_dir):
    with pytest.raises(KeyError, match="unknown benchmarks"):
        H.run_benchmark(["random"], benchmarks=("hellaswag",), data_dir=data_dir, out=None)
    with pytest.raises(ValueError, match="listed twice"):
        H.resolve_routers(["random", "random"])
    with pytest.raises(KeyError, match="unknown router"):
        H.resolve_routers(["no-such-router"])


def test_interrupted_scoring_keeps_finished_batches(tmp_path, monkeypatch):
    from routellm_py.benchmarks.scores import score_prompts

    prompts = [f"prompt {i}" for i in range(10)]
    real = RandomRouter._win_rate
    calls = []

    def flaky(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(RandomRouter, "_win_rate", flaky)
    router = load_router("random")
    with pytest.raises(KeyboardInterrupt):
        score_prompts(router, prompts, tmp_path, batch_size=4, progress=False)
    # the first batch (4 prompts) was saved; the re-run scores only the other 6
    got = score_prompts(router, prompts, tmp_path, batch_size=4, progress=False)
    assert calls == [4, 4, 4, 2]
    np.testing.assert_array_equal(got, real(router, prompts))
