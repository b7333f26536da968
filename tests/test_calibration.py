"""Threshold calibration: realised strong fractions, ties, Hybrid-LLM max-drop selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_py import calibration as C
from routellm_py.lab import calibrate as L
from routellm_py.routers.base import load_router


@pytest.mark.parametrize("n", [7, 100, 101])
def test_realised_fraction_within_one_prompt(n):
    w = np.random.default_rng(n).random(n)
    for f in np.linspace(0, 1, 41):
        t = C.threshold_for_strong_fraction(w, f)
        assert 0.0 <= t <= 1.0
        # nearest achievable count: |count - f*n| <= 1/2 (hence within one prompt)
        assert abs(np.sum(w >= t) - f * n) <= 0.5 + 1e-9


def test_matches_routellm_quantile_on_distinct_values():
    # RouteLLM: t = quantile(w, 1 - pct); on 10 distinct values pct=.3 sends 3 strong
    w = np.linspace(0.05, 0.95, 10)
    t = C.threshold_for_strong_fraction(w, 0.3)
    assert np.sum(w >= t) == np.sum(w >= np.quantile(w, 0.7)) == 3
    # placed midway between the 7th and 8th smallest: (.65 + .75) / 2
    assert t == pytest.approx(0.75 - 0.05)


def test_ties_take_nearest_achievable_fraction():
    # two tie groups of 5: achievable fractions 0, .5, 1
    w = [0.8] * 5 + [0.3] * 5
    frac = {f: np.mean(np.array(w) >= C.threshold_for_strong_fraction(w, f)) for f in (0.2, 0.3)}
    assert frac == {0.2: 0.0, 0.3: 0.5}
    # .25 is equally far from 0 and .5: the larger fraction wins
    assert np.mean(np.array(w) >= C.threshold_for_strong_fraction(w, 0.25)) == 0.5
    # win rates of exactly 1 cannot be routed weak by any threshold in [0, 1]
    w1 = [1.0, 1.0, 0.4, 0.2]
    assert np.mean(np.array(w1) >= C.threshold_for_strong_fraction(w1, 0.0)) == 0.5


def test_threshold_input_validation():
    with pytest.raises(ValueError, match=r"strong fraction must be in \[0, 1\]"):
        C.threshold_for_strong_fraction([0.1, 0.2], 1.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        C.threshold_for_strong_fraction([0.1, 1.2], 0.5)
    with pytest.raises(ValueError, match="no win rates"):
        C.threshold_for_strong_fraction([], 0.5)


# Points of win [.9,.7,.5,.2], strong [1,0,1,1], weak [0,0,1,0] (all-strong quality .75):
# x (strong frac) 0, .25, .5, .75, 1; quality .25, .5, .5, .5, .75;
# drop (.75 - q)/.75 = 2/3, 1/3, 1/3, 1/3, 0
CASE = ([0.9, 0.7, 0.5, 0.2], [1, 0, 1, 1], [0, 0, 1, 0])


@pytest.mark.parametrize(
    ("max_drop", "expected"),
    [
        (0.4, C.ThresholdChoice(0.8, 0.75, 1 / 3)),  # cheapest within 40%: x = .25
        (0.1, C.ThresholdChoice(0.0, 0.0, 0.0)),  # only all-strong qualifies
        (0.7, C.ThresholdChoice(1.0, 1.0, 2 / 3)),  # all-weak qualifies
    ],
)
def test_select_threshold_max_drop(max_drop, expected):
    got = C.select_threshold_max_drop(*CASE, max_drop=max_drop)
    assert got.threshold == pytest.approx(expected.threshold)
    assert got.cost_advantage == pytest.approx(expected.cost_advantage)
    assert got.quality_drop == pytest.approx(expected.quality_drop)
    with pytest.raises(ValueError, match="max_drop"):
        C.select_threshold_max_drop(*CASE, max_drop=-0.1)


def test_evaluate_threshold_on_test_set():
    choice = C.select_threshold_max_drop(*CASE, max_drop=0.4)
    # test set: w >= .8 -> prompts 0, 1 strong; quality = (1 + 1 + 0 + 0)/4 = .5,
    # all-strong = (1+1+1+0)/4 = .75 -> drop 1/3; cost advantage 2/4 = .5
    test = C.evaluate_threshold(
        choice.threshold, [0.95, 0.85, 0.3, 0.1], [1, 1, 1, 0], [0, 1, 0, 0]
    )
    assert (test.cost_advantage, test.quality_drop) == pytest.approx((0.5, 1 / 3))


def test_calibrate_random_router_on_given_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    router = load_router("random")
    prompts = [f"prompt number {i}" for i in range(200)]
    rep = L.calibration_report(router, 0.3, prompts=prompts, progress=False)
    assert rep.n_prompts == 200 and rep.strong_fraction == pytest.approx(0.3)
    assert C.calibrate(router, 0.3, prompts=prompts) == rep.threshold
    assert list((tmp_path / "cache" / "scores").glob("random-*.npz"))  # scores were cached


def test_default_prompts_exclude_benchmarks(data_dir):
    from routellm_py.data.benchmarks import load_benchmark

    prompts = L.default_calibration_prompts(data_dir)
    assert len(prompts) > 1000
    mt = set(load_benchmark("mt-bench", data_dir).prompts)
    assert not mt & set(prompts)


def test_read_prompts_file(tmp_path):
    txt = tmp_path / "p.txt"
    txt.write_text("first\n\nsecond\n")
    assert L.read_prompts_file(txt) == ["first", "second"]
    js = tmp_path / "p.jsonl"
    js.write_text(json.dumps({"prompt": "a"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    with pytest.raises(ValueError, match=r"p.jsonl: line 2: missing keys \['prompt'\]"):
        L.read_prompts_file(js)
    (tmp_path / "p.csv").write_text("x")
    with pytest.raises(ValueError, match=r"\.txt .* or \.jsonl"):
        L.read_prompts_file(tmp_path / "p.csv")


def test_selected_threshold_realises_its_reported_point():
    for max_drop in (0.0, 0.2, 0.4, 1.0):
        choice = C.select_threshold_max_drop(*CASE, max_drop=max_drop)
        again = C.evaluate_threshold(choice.threshold, *CASE)
        assert again.cost_advantage == pytest.approx(choice.cost_advantage)
        assert again.quality_drop == pytest.approx(choice.quality_drop)
