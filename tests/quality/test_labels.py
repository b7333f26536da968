"""r_det / r_prob / r_trans labels and the t* search (Hybrid LLM eqs. 1-3), on hand-computed
cases, against brute force, and on a simulation whose true Pr[H >= 0] is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routellm_py.quality.labels import (
    make_labels,
    mean_abs_pairwise_difference,
    pairwise_gaps,
    relaxed_labels,
    select_t,
    t_grid,
)


def test_k1_det_prob_trans_by_hand() -> None:
    # gaps H = s - l = [1, 0, -2, -6]; t grid {0, 2, 6} gives p = 1/2, 3/4, 1.
    small, large = np.array([5.0, 3, 7, 2]), np.array([4.0, 3, 9, 8])
    for mode in ("det", "prob", "trans"):
        lab = make_labels(small, large, mode)
        np.testing.assert_array_equal(lab.y, [1, 1, 0, 0])  # a tie (H = 0) counts for small
        assert lab.t == 0.0 and lab.objective == pytest.approx(0.5)
        assert (lab.k_small, lab.k_large) == (1, 1)
    t, d, grid, obj = select_t(pairwise_gaps(small, large))
    np.testing.assert_array_equal(grid, [0, 2, 6])
    np.testing.assert_allclose(obj, [0.5, 2 * 0.75 * 0.25, 0.0])


def test_trans_relaxes_to_balance_the_labels() -> None:
    # gaps [-4, -4, -1, 0]: t=0 -> p=1/4 (D=.375), t=1 -> p=1/2 (D=.5), t=4 -> p=1 (D=0).
    lab = make_labels([1.0, 1, 1, 5], [5.0, 5, 2, 5], "trans")
    assert lab.t == 1.0 and lab.objective == pytest.approx(0.5)
    np.testing.assert_array_equal(lab.y, [0, 0, 1, 1])
    det = make_labels([1.0, 1, 1, 5], [5.0, 5, 2, 5], "det")
    np.testing.assert_array_equal(det.y, [0, 0, 0, 1])


def test_ties_in_the_objective_go_to_the_smallest_t() -> None:
    # gaps [0, -1, -2]: p = 1/3 at t=0 and 2/3 at t=1, both D = 4/9.
    t, d, _, obj = select_t(np.array([[0.0], [-1.0], [-2.0]]))
    np.testing.assert_allclose(obj, [4 / 9, 4 / 9, 0.0])
    assert t == 0.0 and d == pytest.approx(4 / 9)


def test_k_greater_than_one_by_hand() -> None:
    # s = {1, 3}, l = {2, 2, 0}: gaps -1, -1, 1, 1, 1, 3 -> Pr[H >= 0] = 4/6, Pr[H >= -1] = 1.
    small, large = np.array([[1.0, 3.0]]), np.array([[2.0, 2.0, 0.0]])
    np.testing.assert_allclose(sorted(pairwise_gaps(small, large)[0]), [-1, -1, 1, 1, 1, 3])
    assert make_labels(small, large, "prob").y[0] == pytest.approx(4 / 6)
    assert make_labels(small, large, "det").y[0] == 0.0  # first samples only: 1 < 2
    np.testing.assert_allclose(relaxed_labels(pairwise_gaps(small, large), 1.0), [1.0])


def test_objective_matches_brute_force_and_hand_values() -> None:
    assert mean_abs_pairwise_difference([0.0, 1.0]) == pytest.approx(0.5)
    assert mean_abs_pairwise_difference([0.0, 0.5, 1.0]) == pytest.approx(4 / 9)
    assert mean_abs_pairwise_difference([0.3]) == 0.0
    y = np.random.default_rng(0).random(57)
    brute = np.abs(y[:, None] - y[None, :]).mean()
    assert mean_abs_pairwise_difference(y) == pytest.approx(brute, rel=1e-12)
    b = (np.random.default_rng(1).random(101) < 0.3).astype(float)
    assert mean_abs_pairwise_difference(b) == pytest.approx(2 * b.mean() * (1 - b.mean()))


def test_grid_is_zero_and_the_negated_negative_gaps_capped_by_quantiles() -> None:
    np.testing.assert_array_equal(t_grid(np.array([[3.0], [-1.0], [-1.0], [-2.5]])), [0, 1, 2.5])
    big = -np.arange(1000, dtype=float)[:, None]
    g = t_grid(big, max_grid=11)
    assert g[0] == 0 and g[-1] == 999 and len(g) <= 12


def test_r_prob_converges_to_the_true_probability() -> None:
    """Samples s ~ N(mu_s, 1), l ~ N(mu_l, 1), so H ~ N(mu_s - mu_l, 2) and the true
    Pr[H >= 0] = Phi((mu_s - mu_l) / sqrt 2); r_prob's error shrinks as K grows."""
    rng = np.random.default_rng(0)
    n = 40
    mu_s, mu_l = rng.normal(0, 1, n), rng.normal(0.5, 1, n)
    truth = np.array([0.5 * (1 + math.erf((a - b) / 2.0)) for a, b in zip(mu_s, mu_l, strict=True)])
    errors = {}
    for k in (1, 10, 200):
        s = rng.normal(mu_s[:, None], 1.0, (n, k))
        lg = rng.normal(mu_l[:, None], 1.0, (n, k))
        errors[k] = np.abs(make_labels(s, lg, "prob").y - truth).mean()
    assert errors[200] < errors[10] < errors[1]
    assert errors[200] < 0.03
    # r_trans with K > 1 estimates Pr[H >= -t*] = Phi((mu_s - mu_l + t*) / sqrt 2).
    s = rng.normal(mu_s[:, None], 1.0, (n, 200))
    lg = rng.normal(mu_l[:, None], 1.0, (n, 200))
    lab = make_labels(s, lg, "trans")
    truth_t = [0.5 * (1 + math.erf((a - b + lab.t) / 2.0)) for a, b in zip(mu_s, mu_l, strict=True)]
    assert lab.t > 0 and np.abs(lab.y - truth_t).mean() < 0.03


@pytest.mark.parametrize(
    ("small", "large", "match"),
    [
        ([1.0, np.nan], [1.0, 2.0], "small samples of query 1"),
        ([1.0, 2.0], [1.0], "same N"),
        (np.zeros((2, 0)), [1.0, 2.0], "at least one quality sample"),
    ],
)
def test_bad_samples_are_rejected(small, large, match) -> None:
    with pytest.raises(ValueError, match=match):
        make_labels(np.asarray(small), np.asarray(large), "det")


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="det"):
        make_labels([1.0], [2.0], "soft")
