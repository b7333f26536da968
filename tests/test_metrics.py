"""Metrics against hand-computed cases (arithmetic in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_py import metrics as M

# Case A: 4 prompts, distinct win rates. gains = strong - weak = [1, 0, 0, 1].
# weak mean = 1/4, strong mean = 3/4.
WIN_A = [0.9, 0.7, 0.5, 0.2]
STRONG_A = [1, 0, 1, 1]
WEAK_A = [0, 0, 1, 0]


def test_routed_curve_exact_points():
    c = M.routed_curve(WIN_A, STRONG_A, WEAK_A)
    # x = k/4; y = 1/4 + cumulative gain / 4 = .25, .5, .5, .5, .75
    np.testing.assert_allclose(c.x, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(c.y, [0.25, 0.5, 0.5, 0.5, 0.75])
    # thresholds: +inf, midpoints (.9+.7)/2=.8, (.7+.5)/2=.6, (.5+.2)/2=.35, -inf
    np.testing.assert_allclose(c.thresholds, [np.inf, 0.8, 0.6, 0.35, -np.inf])
    assert (c.weak, c.strong) == (0.25, 0.75)
    # each threshold realises its point exactly
    for t, x in zip(c.thresholds, c.x, strict=True):
        assert np.mean(np.array(WIN_A) >= t) == x


def test_pgr_apgr_cpt_case_a():
    c = M.routed_curve(WIN_A, STRONG_A, WEAK_A)
    # PGR = (y - .25) / .5
    np.testing.assert_allclose(M.pgr(c), [0, 0.5, 0.5, 0.5, 1])
    # APGR = .25 * [(0+.5)/2 + (.5+.5)/2 + (.5+.5)/2 + (.5+1)/2] = .25 * 2 = .5
    assert M.apgr(c) == pytest.approx(0.5)
    # CPT(.5): PGR first reaches .5 at the point x = .25
    assert M.cpt(c, 0.5) == pytest.approx(0.25)
    # CPT(.25): on segment (0,0)-(.25,.5): x = .25 * .25/.5 = .125
    assert M.cpt(c, 0.25) == pytest.approx(0.125)
    # CPT(.8): plateau at .5 until x=.75, then segment to (1, 1): .75 + .25 * .3/.5 = .9
    assert M.cpt(c, 0.8) == pytest.approx(0.9)
    assert M.cpt(c, 0.0) == 0.0


def test_cpt_non_monotone_curve():
    # gains [1, -1, 0, 1]; weak mean .25, strong mean .5
    # y = .25, .5, .25, .25, .5 -> PGR = 0, 1, 0, 0, 1
    c = M.routed_curve([0.9, 0.8, 0.7, 0.6], [1, 0, 0, 1], [0, 1, 0, 0])
    np.testing.assert_allclose(M.pgr(c), [0, 1, 0, 0, 1])
    # first crossing of .6 is on the first segment: .25 * .6 = .15 (np.interp on the
    # non-monotone PGR array, as in the reference RouteLLM, gives a different answer)
    assert M.cpt(c, 0.6) == pytest.approx(0.15)
    assert M.cpt(c, 1.0) == pytest.approx(0.25)
    # APGR = .25 * [(0+1)/2 + (1+0)/2 + 0 + (0+1)/2] = .375
    assert M.apgr(c) == pytest.approx(0.375)


def test_cpt_never_reached_is_nan():
    c = M.routed_curve(WIN_A, STRONG_A, WEAK_A)
    # a routed curve ends at PGR 1, so 1.5 is never reached
    assert np.isnan(M.cpt(c, 1.5))
    with pytest.raises(ValueError, match="finite"):
        M.cpt(c, float("nan"))


def test_ties_move_together_and_order_does_not_matter():
    # win rates .5,.5,.5 tie: groups {0,1,2} (gain 1+0+0) then {3} (gain 1)
    # x = 0, .75, 1; y = .25, .25 + 1/4 = .5, .75
    win = [0.5, 0.5, 0.5, 0.1]
    c = M.routed_curve(win, STRONG_A, WEAK_A)
    np.testing.assert_allclose(c.x, [0, 0.75, 1])
    np.testing.assert_allclose(c.y, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(c.thresholds, [np.inf, 0.3, -np.inf])
    perm = [2, 0, 3, 1]
    c2 = M.routed_curve(*(np.array(a)[perm] for a in (win, STRONG_A, WEAK_A)))
    np.testing.assert_array_equal(c.x, c2.x)
    np.testing.assert_array_equal(c.y, c2.y)


def test_oracle_curve():
    # case A gains [1, 0, 0, 1]: both gain-1 prompts first, then the two zero-gain ones
    # x = 0, .5, 1; y = .25, .75, .75; PGR = 0, 1, 1; APGR = .5*.5 + .5*1 = .75
    o = M.oracle_curve(STRONG_A, WEAK_A)
    np.testing.assert_allclose(o.x, [0, 0.5, 1])
    np.testing.assert_allclose(o.y, [0.25, 0.75, 0.75])
    assert M.apgr(o) == pytest.approx(0.75)
    assert M.cpt(o, 0.5) == pytest.approx(0.25)
    # negative gains go last: gains [1, -1, 0, 1] -> x 0,.5,.75,1; y .25,.75,.75,.5
    # PGR = 0, 2, 2, 1; CPT(1.5) = .5 * 1.5/2 = .375 (an oracle can exceed PGR 1)
    o2 = M.oracle_curve([1, 0, 0, 1], [0, 1, 0, 0])
    np.testing.assert_allclose(o2.y, [0.25, 0.75, 0.75, 0.5])
    assert M.cpt(o2, 1.5) == pytest.approx(0.375)


def test_perfect_router_equals_oracle():
    rng = np.random.default_rng(0)
    s, w = rng.integers(0, 2, 200).astype(float), rng.integers(0, 2, 200).astype(float)
    perfect = (s - w + 1) / 2  # 1 if strong wins, .5 tie, 0 if weak wins
    r, o = M.routed_curve(perfect, s, w), M.oracle_curve(s, w)
    np.testing.assert_allclose(r.x, o.x)
    np.testing.assert_allclose(r.y, o.y)
    assert M.apgr(r) == pytest.approx(M.apgr(o))


def test_random_curve_is_exact_line():
    c = M.random_curve(STRONG_A, WEAK_A)
    np.testing.assert_allclose(c.y, [0.25, 0.75])
    assert M.apgr(c) == pytest.approx(0.5)
    for p in (0.2, 0.5, 0.8):
        assert M.cpt(c, p) == pytest.approx(p)
    assert c.at(0.5) == pytest.approx(0.5)


def test_pgr_undefined_when_strong_equals_weak():
    c = M.routed_curve([0.1, 0.9], [1, 0], [0, 1])  # both means .5
    with pytest.raises(ValueError, match="PGR is undefined"):
        M.apgr(c)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        M.routed_curve([0.1, 0.2], [1, 0, 1], [0, 0])
    with pytest.raises(ValueError, match="NaN"):
        M.routed_curve([0.1, np.nan], [1, 0], [0, 0])
    with pytest.raises(ValueError, match="no prompts"):
        M.routed_curve([], [], [])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.random_curve(STRONG_A, WEAK_A).at(1.5)


def test_strong_weights_split_boundary_tie_group():
    # f = .5 of 4 prompts = 2 calls: prompt 0 (w .9) fully, then 1 call shared by the
    # tie group {1, 2} (w .5) -> .5 each; prompt 3 never
    win = [0.9, 0.5, 0.5, 0.1]
    p = M.strong_weights(win, 0.5)
    np.testing.assert_allclose(p, [1, 0.5, 0.5, 0])
    # the expected score equals the piecewise-linear curve at that fraction
    c = M.routed_curve(win, STRONG_A, WEAK_A)
    expected = np.mean(p * np.array(STRONG_A) + (1 - p) * np.array(WEAK_A))
    assert c.at(0.5) == pytest.approx(expected)


def test_quality_drop_at_cost_advantage():
    # all-strong quality .75.  a=.25: prompt 3 (lowest w) weak -> point x=.75, y=.5,
    # drop (.75-.5)/.75 = 1/3.  a=.5 -> x=.5, y=.5 -> 1/3.
    # a=.125 -> x=.875, y = .5 + (.75-.5)/2 = .625 -> drop .125/.75 = 1/6
    d = M.quality_drop_at_cost_advantage(WIN_A, STRONG_A, WEAK_A, advantages=(0.125, 0.25, 0.5))
    assert d == pytest.approx({0.125: 1 / 6, 0.25: 1 / 3, 0.5: 1 / 3})
    # negative quality scores (e.g. BART scores) use |all-strong| as the denominator:
    # strong -1, weak -2 everywhere; a=.5 -> q = -1.5, drop (-1 - -1.5)/1 = .5
    d2 = M.quality_drop_at_cost_advantage([0.2, 0.8], [-1, -1], [-2, -2], advantages=(0.5,))
    assert d2[0.5] == pytest.approx(0.5)


def test_avg_quality_gap_difference():
    # a=.5: small = prompts 2, 3 (lowest w): mean H = (.5+1)/2 = .75;
    # large = 0, 1: mean H = (-1+0)/2 = -.5; difference 1.25
    assert M.avg_quality_gap_difference(WIN_A, [-1, 0, 0.5, 1], 0.5) == pytest.approx(1.25)
    # tie group {1,2} split .5/.5 at the boundary: small weights [0,.5,.5,1] ->
    # (0*.5 + 1*.5 + 1*1)/2 = .75; large weights [1,.5,.5,0] -> (-1 + 0 + .5)/2 = -.25
    win = [0.9, 0.5, 0.5, 0.2]
    assert M.avg_quality_gap_difference(win, [-1, 0, 1, 1], 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="advantage"):
        M.avg_quality_gap_difference(WIN_A, [0, 0, 0, 0], 1.0)


def test_cost_per_1k():
    # litellm offline map: gpt-4-1106-preview $10/M in, $30/M out;
    # Mixtral (together_ai) $0.6/M in and out. 100 in + 200 out tokens per query:
    # strong 100*1e-5 + 200*3e-5 = .007; weak 300*6e-7 = .00018
    # f=.5 -> 1000 * (.0035 + .00009) = 3.59
    cost = M.cost_per_1k(
        0.5, "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1", 100, 200
    )
    assert cost == pytest.approx(3.59)
    # aliases resolve first: gpt4_1106_preview is the same model
    assert M.cost_per_1k(1.0, "gpt4_1106_preview", "gpt4_1106_preview", 100, 200) == pytest.approx(
        7.0
    )
    with pytest.raises(KeyError, match="no price for model 'my-local-llm'"):
        M.cost_per_1k(0.5, "my-local-llm", "gpt-4-1106-preview", 100, 200)
    with pytest.raises(ValueError, match="strong fraction"):
        M.cost_per_1k(1.2, "gpt-4-1106-preview", "gpt-4-1106-preview", 1, 1)


def test_estimate_input_tokens():
    # chars 40 and 8 -> mean 24 chars -> 6 tokens
    assert M.estimate_input_tokens(["abcd" * 10, "ab" * 4]) == pytest.approx(6.0)


# ---- significance: random band and bootstrap ---------------------------------------------
# Case C: gains g = [1, 0, 1] (strong [1, 1, 1], weak [0, 1, 0]), D = 2, n = 3.
# APGR(pi) = 1/(2n) + sum_i (n - i) g_pi(i) / (n D) = 1/6 + (2 g_1 + g_2) / 6, so by the
# position of the zero-gain prompt: first 1/6 + 1/6 = 1/3, second 1/6 + 2/6 = 1/2,
# third 1/6 + 3/6 = 2/3; each with probability 2/6 = 1/3.
STRONG_C, WEAK_C = [1, 1, 1], [0, 1, 0]


def test_random_apgrs_case_c_takes_the_three_hand_values():
    values = M.random_apgrs(STRONG_C, WEAK_C, n_routers=3000, seed=7)
    np.testing.assert_allclose(np.unique(values), [1 / 3, 1 / 2, 2 / 3])
    for v in (1 / 3, 1 / 2, 2 / 3):  # 3000 draws: sd of a frequency ~0.009
        assert np.mean(np.isclose(values, v)) == pytest.approx(1 / 3, abs=0.04)
    assert M.percentile_interval(M.random_apgrs(STRONG_C, WEAK_C)) == pytest.approx((1 / 3, 2 / 3))
    assert values.mean() == pytest.approx(0.5, abs=0.01)  # E[APGR] = 1/2 exactly


def test_random_apgrs_equal_routed_curves_of_random_orders():
    rng = np.random.default_rng(4)
    s, k = rng.integers(0, 2, 40).astype(float), rng.integers(0, 2, 40).astype(float)
    assert (s.sum(), k.sum()) == (26, 18)  # APGR defined
    got = M.random_apgrs(s, k, n_routers=6, seed=3)
    orders = np.random.default_rng(3).permuted(np.tile(np.arange(40), (6, 1)), axis=1)
    for value, order in zip(got, orders, strict=True):
        w = np.empty(40)
        w[order] = np.linspace(1, 0, 40)  # order[0] has the highest win rate
        assert value == pytest.approx(M.apgr(M.routed_curve(w, s, k)))
    # seeded: the same band twice, another seed another band
    np.testing.assert_array_equal(M.random_apgrs(s, k, seed=5), M.random_apgrs(s, k, seed=5))
    assert not np.array_equal(M.random_apgrs(s, k, seed=5), M.random_apgrs(s, k, seed=6))


# Case D: two prompts, win rates [0.9, 0.1], strong [1, 1], weak [0, 1]: gains [1, 0].
# Resample multiplicities (c_1, c_2): (2, 0) w.p. 1/4: one tie group, PGR 0 -> 1 linearly,
# APGR 1/2; (1, 1) w.p. 1/2: the original, x = 0, 1/2, 1, PGR = 0, 1, 1,
# APGR = 1/2 * 1/2 + 1/2 * 1 = 3/4; (0, 2) w.p. 1/4: D = 0, undefined (left out).
def test_bootstrap_case_d_by_hand():
    values = M.bootstrap_apgrs([0.9, 0.1], [1, 1], [0, 1], n_boot=4000, seed=0)
    assert np.mean(np.isnan(values)) == pytest.approx(0.25, abs=0.03)
    kept = values[~np.isnan(values)]
    np.testing.assert_allclose(np.unique(kept), [0.5, 0.75])
    assert np.mean(kept == 0.75) == pytest.approx(2 / 3, abs=0.03)
    assert M.percentile_interval(M.bootstrap_apgrs([0.9, 0.1], [1, 1], [0, 1])) == (0.5, 0.75)
    assert M.apgr(M.routed_curve([0.9, 0.1], [1, 1], [0, 1])) == 0.75


def test_bootstrap_equals_routed_curves_of_resamples_with_ties():
    rng = np.random.default_rng(2)
    n = 30
    s, k = rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
    w = rng.integers(0, 4, n) / 3  # 4 distinct win rates: many ties
    got = M.bootstrap_apgrs(w, s, k, n_boot=25, seed=11)
    draws = np.random.default_rng(11).integers(0, n, size=(25, n))
    for value, idx in zip(got, draws, strict=True):
        if s[idx].sum() == k[idx].sum():
            assert np.isnan(value)
        else:
            assert value == pytest.approx(M.apgr(M.routed_curve(w[idx], s[idx], k[idx])))
    lo, hi = M.percentile_interval(M.bootstrap_apgrs(w, s, k, n_boot=25, seed=11))
    assert (lo, hi) == pytest.approx(tuple(np.nanpercentile(got, [2.5, 97.5])))


def test_significance_input_errors():
    with pytest.raises(ValueError, match="score the same on average"):
        M.random_apgrs([1, 0], [0, 1])
    with pytest.raises(ValueError, match="no defined values"):
        M.percentile_interval(M.bootstrap_apgrs([0.5, 0.5], [1, 0], [1, 0]))
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        M.percentile_interval([0.1, 0.2], level=95)
    with pytest.raises(ValueError, match="shape"):
        M.percentile_interval(M.bootstrap_apgrs([0.5], STRONG_C, WEAK_C))


def test_random_curve_band_case_c():
    # weak mean 1/3, strong mean 1; y(x) = 1/3 + (gains of the first 3x prompts) / 3.
    # x = 1/3: the first prompt's gain is 0 (prob 1/3) or 1: y in {1/3, 2/3};
    # x = 1/6: half of it: y in {1/3, 1/2}; x = 2/3: two gains sum to 1 or 2: {2/3, 1}.
    lo, hi = M.random_curve_band(STRONG_C, WEAK_C, np.array([0, 1 / 6, 1 / 3, 2 / 3, 1]), seed=7)
    np.testing.assert_allclose(lo, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(hi, [1 / 3, 1 / 2, 2 / 3, 1, 1])
