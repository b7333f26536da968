"""Calibration metrics (ECE, Brier, log loss) against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routellm_py import metrics as M

P = [0.1, 0.3, 0.35, 0.8, 0.9]
Y = [0.0, 0.5, 1.0, 1.0, 0.0]


def test_pairwise_outcome_ties_count_half():
    # 0/1 and graded: strong > weak -> 1, equal -> 1/2, less -> 0
    np.testing.assert_array_equal(M.pairwise_outcome([1, 0, 1, 7], [0, 0, 1, 9]), [1, 0.5, 0.5, 0])


def test_ece_equal_width():
    # B=2: [0,.5) holds .1,.3,.35 (pbar .25, ybar .5); [.5,1] holds .8,.9 (pbar .85, ybar .5)
    # ECE = (3 * .25 + 2 * .35) / 5 = .29
    assert M.expected_calibration_error(P, Y, 2, "width") == pytest.approx(0.29)
    # B=5: bin0 {.1}: |0-.1| = .1; bin1 {.3,.35}: |.75-.325| = .425; bin4 {.8,.9}: .35
    # ECE = (.1 + 2 * .425 + 2 * .35) / 5 = .33
    assert M.expected_calibration_error(P, Y, 5, "width") == pytest.approx(0.33)
    pbar, ybar, count = M.calibration_bins(P, Y, 5, "width")
    np.testing.assert_allclose(pbar, [0.1, 0.325, 0.85])
    np.testing.assert_allclose(ybar, [0.0, 0.75, 0.5])
    np.testing.assert_array_equal(count, [1, 2, 2])


def test_ece_equal_mass():
    # B=5, n=5: one prediction per bin; |y - p| = .1, .2, .65, .2, .9 -> 2.05 / 5
    assert M.expected_calibration_error(P, Y, 5, "mass") == pytest.approx(0.41)
    # ties share a bin: r = [0, 0, 0, 3] -> bins floor(2r/4) = [0, 0, 0, 1]
    # bin0: pbar .2, ybar 1/3 (n 3); bin1: pbar .6, ybar 1 (n 1) -> (3 * 2/15 + .4) / 4 = .2
    p, y = [0.2, 0.2, 0.2, 0.6], [1, 0, 0, 1]
    assert M.expected_calibration_error(p, y, 2, "mass") == pytest.approx(0.2)
    # equal-width puts them in [0, .5) and [.5, 1]: the same bins here
    assert M.expected_calibration_error(p, y, 2, "width") == pytest.approx(0.2)


def test_p_equal_one_falls_in_the_last_width_bin():
    pbar, _, count = M.calibration_bins([1.0, 0.95], [1, 1], 10, "width")
    np.testing.assert_allclose(pbar, [0.975])
    np.testing.assert_array_equal(count, [2])


def test_brier_and_log_loss():
    # (.1^2 + .2^2 + .65^2 + .2^2 + .9^2) / 5 = 1.3225 / 5
    assert M.brier_score(P, Y) == pytest.approx(0.2645)
    assert M.log_loss([0.8, 0.25], [1, 0]) == pytest.approx(-(math.log(0.8) + math.log(0.75)) / 2)
    # a tie (y = 1/2) costs at least ln 2, reached at p = 1/2
    assert M.log_loss([0.5], [0.5]) == pytest.approx(math.log(2))
    assert M.log_loss([0.7], [0.5]) > math.log(2)
    # p = 0 with y = 1 is clipped, not infinite
    assert np.isfinite(M.log_loss([0.0], [1.0]))


def test_perfect_calibration_has_zero_ece():
    p = [0.25] * 4 + [0.75] * 4
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    for strategy in M.BIN_STRATEGIES:
        assert M.expected_calibration_error(p, y, 10, strategy) == pytest.approx(0.0)
    s = M.calibration_summary(p, y)
    assert s["n"] == 8 and s["brier"] == pytest.approx(0.1875)


@pytest.mark.parametrize(
    "p, y, match",
    [
        ([0.5, 1.2], [0, 1], "win rates must lie in"),
        ([0.5, 0.5], [0, 2], "outcomes must lie in"),
        ([0.5], [0, 1], "shape"),
        ([float("nan")], [1], "NaN"),
    ],
)
def test_bad_input_is_named(p, y, match):
    with pytest.raises(ValueError, match=match):
        M.brier_score(p, y)


def test_bad_bins():
    with pytest.raises(ValueError, match="strategy"):
        M.calibration_bins(P, Y, 5, "quantile")
    with pytest.raises(ValueError, match="n_bins"):
        M.calibration_bins(P, Y, 0)
