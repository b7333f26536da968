"""Bradley-Terry ratings against hand-computable cases, 1-D k-means tiers, tier battles."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.battles import Battles, swap_sides
from routellm_py.data.tiers import assign_tiers, fit_bradley_terry


def _battles(rows):
    """rows: (model_a, model_b, outcome, count[, weight[, p_a_wins]])."""
    records = []
    for a, b, outcome, n, *rest in rows:
        weight = rest[0] if rest else 1.0
        p = rest[1] if len(rest) > 1 else np.nan
        records += [
            dict(
                prompt=f"q{i}",
                model_a=a,
                model_b=b,
                outcome=outcome,
                p_a_wins=p,
                source="t",
                weight=weight,
            )
            for i in range(n)
        ]
    return Battles(pd.DataFrame(records))


def test_two_models_strength_ratio_is_win_ratio():
    b = _battles([("A", "B", "a_wins", 30), ("A", "B", "b_wins", 10)])
    r = fit_bradley_terry(b, prior=0, scale="log")
    assert r["A"] - r["B"] == pytest.approx(np.log(3), abs=1e-8)  # p_A / p_B = 30 / 10
    assert r.sum() == pytest.approx(0, abs=1e-12)
    elo = fit_bradley_terry(b, prior=0)
    assert elo["A"] - elo["B"] == pytest.approx(400 * np.log10(3), abs=1e-6)
    assert elo.mean() == pytest.approx(1000)
    assert elo.index.tolist() == ["A", "B"]  # best first


@pytest.mark.parametrize(
    "rows",
    [
        [("A", "B", "a_wins", 10), ("A", "B", "tie", 10)],  # ties count half: 15 vs 5
        [("A", "B", "a_wins", 10, 3.0), ("A", "B", "b_wins", 10, 1.0)],  # weights: 30 vs 10
        [("A", "B", "a_wins", 4, 1.0, 0.75)],  # soft labels: 3 vs 1
        [("B", "A", "b_wins", 30), ("B", "A", "a_wins", 10)],  # orientation does not matter
    ],
)
def test_ties_weights_soft_labels_count_as_fractional_wins(rows):
    r = fit_bradley_terry(_battles(rows), prior=0, scale="log")
    assert r["A"] - r["B"] == pytest.approx(np.log(3), abs=1e-8)


def test_three_models_recover_exact_strengths():
    # frequencies equal to BT probabilities with p = (4, 2, 1) -> the MLE is exactly p
    b = _battles(
        [
            ("A", "B", "a_wins", 40),
            ("A", "B", "b_wins", 20),  # 4/(4+2) = 2/3
            ("B", "C", "a_wins", 40),
            ("B", "C", "b_wins", 20),  # 2/(2+1) = 2/3
            ("A", "C", "a_wins", 48),
            ("A", "C", "b_wins", 12),  # 4/(4+1) = 4/5
        ]
    )
    r = fit_bradley_terry(b, prior=0, scale="log")
    np.testing.assert_allclose(r[["A", "B", "C"]], np.log([4, 2, 1]) - np.log(8) / 3, atol=1e-7)
    flipped = Battles(swap_sides(b.frame))
    pd.testing.assert_series_equal(fit_bradley_terry(flipped, prior=0, scale="log"), r)


def test_prior_keeps_unbeaten_models_finite_and_mle_errors_explain():
    b = _battles([("A", "B", "a_wins", 5), ("B", "C", "a_wins", 3), ("C", "B", "a_wins", 1)])
    with pytest.raises(ValueError, match=r"\['A'\] never lost; use prior > 0"):
        fit_bradley_terry(b, prior=0)
    r = fit_bradley_terry(b, prior=1.0)
    assert np.isfinite(r).all() and r.index.tolist() == ["A", "B", "C"]
    split = _battles(
        [
            ("A", "B", "a_wins", 2),
            ("A", "B", "b_wins", 1),
            ("C", "D", "a_wins", 2),
            ("C", "D", "b_wins", 1),
        ]
    )
    with pytest.raises(ValueError, match="2 disconnected groups"):
        fit_bradley_terry(split, prior=0)
    with pytest.raises(ValueError, match="scale"):
        fit_bradley_terry(b, scale="glicko")


def test_real_arena_bench_ratings_put_gpt4_turbo_first(data_dir):
    from routellm_py.data.adapters import load_arena_bench

    r = fit_bradley_terry(load_arena_bench(data_dir))
    assert r.index[0] == DEFAULT_STRONG
    assert r[DEFAULT_STRONG] > r[DEFAULT_WEAK] > r["mistralai/Mistral-7B-Instruct-v0.1"]


def test_assign_tiers_hand_case_and_bounds():
    ratings = pd.Series({"e": 0.0, "a": 100.0, "c": 50.0, "b": 99.0, "d": 49.0})
    assert assign_tiers(ratings, 3) == {"a": 0, "b": 0, "c": 1, "d": 1, "e": 2}
    assert set(assign_tiers(ratings, 5).values()) == {0, 1, 2, 3, 4}
    assert set(assign_tiers(ratings, 1).values()) == {0}
    with pytest.raises(ValueError, match=r"n_tiers must be in \[1, 5\]"):
        assign_tiers(ratings, 6)


def test_assign_tiers_is_optimal_1d_kmeans():
    x = np.random.default_rng(0).normal(size=8) * 100
    ratings = pd.Series(x, index=[f"m{i}" for i in range(8)])
    tiers = assign_tiers(ratings, 3)

    def sse(groups):
        return sum(((g - g.mean()) ** 2).sum() for g in groups)

    xs = np.sort(x)[::-1]
    best = min(sse([xs[:i], xs[i:j], xs[j:]]) for i, j in itertools.combinations(range(1, 8), 2))
    got = sse([ratings[[m for m, t in tiers.items() if t == k]].to_numpy() for k in range(3)])
    assert got == pytest.approx(best)
    means = [ratings[[m for m, t in tiers.items() if t == k]].mean() for k in range(3)]
    assert means == sorted(means, reverse=True)  # tier 0 is the best
