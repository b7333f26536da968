"""Calibrators (routers.calibration): exact fits on known answers, and a router whose win
rates are squashed toward 1/2 gets ECE above a bound before calibration, below it after."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_py import metrics as M
from routellm_py.lab.calibrate import fit_calibrator, select_calibrator, write_calibration
from routellm_py.routers.base import CheckpointError, Router, load_router, register
from routellm_py.routers.calibration import CALIBRATION_FILE, Calibrator, OrderError


@register("_test_squashed")
class SquashedRouter(Router):
    """The true P(strong wins) q is written in the prompt ("q=0.73 #5"); the router says
    1/2 + (q - 1/2) / 4: right order, far too timid."""

    trainable = False

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        q = np.array([float(p.split()[0][2:]) for p in prompts])
        return 0.5 + (q - 0.5) / 4


def traffic(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Prompts with true win probability q ~ U(0.02, 0.98) and a drawn outcome y ~ Bern(q)."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.02, 0.98, n)
    return [f"q={v:.6f} #{i}" for i, v in enumerate(q)], (rng.random(n) < q).astype(float)


def test_squashed_router_is_calibrated_by_its_checkpoint(tmp_path):
    router = SquashedRouter()
    fit_prompts, fit_y = traffic(4000, seed=1)
    test_prompts, test_y = traffic(20000, seed=2)
    raw = router.win_rate(test_prompts)
    # E|q - squashed(q)| = 3/4 E|q - 1/2| = 3/4 * .24 = .18
    for strategy in M.BIN_STRATEGIES:
        assert M.expected_calibration_error(raw, test_y, 10, strategy) > 0.15
    calibrator, report = select_calibrator(router.win_rate(fit_prompts), fit_y)
    assert calibrator.method in ("platt", "isotonic")
    assert report["cv_log_loss"][calibrator.method] < report["cv_log_loss"]["identity"]
    router.save(tmp_path)
    info = {"data": {"n_prompts": 4000, "description": "synthetic", "outcome": "Bern(q)"}}
    write_calibration(tmp_path, calibrator, {**report, **info})
    loaded = load_router(tmp_path)
    calibrated = loaded.win_rate(test_prompts)
    for strategy in M.BIN_STRATEGIES:
        assert M.expected_calibration_error(calibrated, test_y, 10, strategy) < 0.03
    assert M.brier_score(calibrated, test_y) < M.brier_score(raw, test_y) - 0.02
    np.testing.assert_array_equal(loaded.win_rate(test_prompts, raw=True), raw)
    # the card shows the figures; the file holds the method, numbers and metrics
    card = (tmp_path / "README.md").read_text()
    assert (
        card.count("## Calibration") == 1 and f"| raw | {report['before']['ece_width']:.4f}" in card
    )
    saved = json.loads((tmp_path / CALIBRATION_FILE).read_text())
    assert saved["method"] == calibrator.method and "after_cross_validated" in saved
    write_calibration(tmp_path, calibrator, {**report, **info})  # refit replaces the section
    assert (tmp_path / "README.md").read_text().count("## Calibration") == 1


def test_platt_recovers_a_known_logistic_map():
    # y ~ Bern(sigmoid(2 logit(p) - 0.5)): Platt's (a, b) -> (2, -0.5)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 200_000)
    z = np.log(p / (1 - p))
    y = (rng.random(len(p)) < 1 / (1 + np.exp(-(2 * z - 0.5)))).astype(float)
    c = fit_calibrator("platt", p, y)
    assert c.params["a"] == pytest.approx(2.0, abs=0.03)
    assert c.params["b"] == pytest.approx(-0.5, abs=0.03)
    t = fit_calibrator("temperature", p, y)
    assert set(t.params) == {"a"} and t.params["a"] > 1


def test_isotonic_pav_by_hand():
    # p sorted: .1 .2 .3 .4 with y 0 1 0 1 -> blocks {.1}: 0, {.2,.3}: 1/2, {.4}: 1
    c = fit_calibrator("isotonic", [0.3, 0.1, 0.4, 0.2], [0, 0, 1, 1])
    np.testing.assert_allclose(c.params["x"], [0.1, 0.25, 0.4])
    np.testing.assert_allclose(c.params["y"], [0.0, 0.5, 1.0])
    # linear between breakpoints, clipped to [1e-3, 1 - 1e-3] at the ends
    np.testing.assert_allclose(c([0.0, 0.175, 0.25, 0.9]), [1e-3, 0.25, 0.5, 1 - 1e-3])
    # equal p are pooled before PAV: .5 twice with y 0 and 1 is one point at 1/2
    tied = fit_calibrator("isotonic", [0.5, 0.5, 0.7], [0, 1, 1])
    np.testing.assert_allclose(tied.params["y"], [0.5, 1.0])


def test_calibrated_router_keeps_order_where_isotonic_is_strict():
    c = Calibrator("isotonic", {"x": [0.2, 0.5, 0.8], "y": [0.1, 0.4, 0.9]})
    q = c(np.linspace(0.2, 0.8, 50))
    assert np.all(np.diff(q) > 0)


def test_bad_calibration_file_is_a_checkpoint_error(tmp_path):
    SquashedRouter().save(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text('{"method": "cubic", "params": {}}')
    with pytest.raises(CheckpointError, match="unknown calibration method 'cubic'"):
        load_router(tmp_path)


def test_select_needs_enough_prompts():
    with pytest.raises(ValueError, match="too few"):
        select_calibrator([0.5] * 6, [1] * 6)


def test_a_calibrator_never_reverses_the_routing_order():
    # Outcomes that fall as the raw win rate rises: an unconstrained Platt fit has a < 0,
    # which would send the prompts the router ranks highest to the weak model.
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 2_000)
    y = (rng.random(len(p)) < 1 - p).astype(float)
    for method in ("platt", "temperature"):
        with pytest.raises(OrderError, match="reverse the routing order"):
            fit_calibrator(method, p, y)
    with pytest.raises(OrderError):
        Calibrator("platt", {"a": -0.3, "b": 0.3})
    chosen, report = select_calibrator(p, y)
    assert set(report["rejected"]) == {"platt", "temperature"}
    assert chosen.method in ("identity", "shift", "isotonic")
    order = np.argsort(p)
    assert np.all(np.diff(chosen(p[order])) >= 0)


def test_shift_recovers_a_known_base_rate_offset():
    # y ~ Bern(sigmoid(logit(p) + 0.8)): the shift b -> 0.8, and q keeps p's order strictly
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.95, 200_000)
    z = np.log(p / (1 - p))
    y = (rng.random(len(p)) < 1 / (1 + np.exp(-(z + 0.8)))).astype(float)
    c = fit_calibrator("shift", p, y)
    assert set(c.params) == {"b"} and c.params["b"] == pytest.approx(0.8, abs=0.02)
    q = c(np.sort(p))
    assert np.all(np.diff(q) > 0)


def test_scores_without_order_information_get_their_base_rate_fixed():
    # The shipped routers' case: raw win rates in a narrow band around 1/2, slightly
    # anti-correlated with outcomes whose mean is 0.7. Platt and temperature would reverse
    # the order and are refused; the shift (or isotonic) moves the base rate, ECE falls.
    rng = np.random.default_rng(3)
    p = rng.uniform(0.47, 0.53, 4000)
    y = (rng.random(len(p)) < 0.7 - 2 * (p - 0.5)).astype(float)
    chosen, report = select_calibrator(p, y)
    assert {"platt", "temperature"} <= set(report["rejected"])
    assert chosen.method in ("shift", "isotonic")
    before, after = report["before"], report["after_cross_validated"]
    # an order-keeping map can at best be flat here: its ECE is then E|2 (p - 1/2)| = 0.03,
    # raw ECE is |0.7 - 0.5| = 0.2
    assert before["ece_mass"] > 0.15 and after["ece_mass"] < 0.06
    assert after["log_loss"] < before["log_loss"] - 0.05


def test_leave_one_out_sw_ranking_scores_a_prompt_as_if_unseen(tmp_path):
    # LeaveOneOutSWRanking (lab.calibrate) gives a training prompt the win rate of a
    # router fitted without it; the in-sample score differs by ten times more.
    from routellm_py.data.battles import Battles
    from routellm_py.lab.calibrate import LeaveOneOutSWRanking
    from routellm_py.routers.sw_ranking import SWRankingRouter
    from tests.routers.test_sw_ranking import POEM, topical_battles

    data = topical_battles()
    full = SWRankingRouter(encoder="hashing:256", labels="pair").fit(data, progress=False)
    full.save(tmp_path / "sw")
    prompt = POEM[2]
    rest = Battles(data.frame[data.frame["prompt"] != prompt].reset_index(drop=True))
    without = SWRankingRouter(encoder="hashing:256", labels="pair").fit(rest, progress=False)
    unseen = without.win_rate([prompt])[0]
    loo = LeaveOneOutSWRanking.load(tmp_path / "sw").win_rate([prompt])[0]
    # not exact: the refit's total game count (a normaliser) also loses the prompt's games
    assert abs(loo - unseen) < 1e-3
    assert abs(full.win_rate([prompt])[0] - unseen) > 5e-3
