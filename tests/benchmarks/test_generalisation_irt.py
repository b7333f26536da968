"""The Rasch fit behind the "irt-gap" label scheme of benchmarks/generalisation (a script
folder, not a package: loaded by path)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "generalisation" / "irt.py"
spec = importlib.util.spec_from_file_location("generalisation_irt", PATH)
irt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(irt)


def _grad(s, d, theta, lam):
    obs = np.isfinite(s)
    r = np.where(obs, 1 / (1 + np.exp(-(theta[None, :] - d[:, None]))) - np.nan_to_num(s), 0)
    return -r.sum(axis=1) + lam * d, r.sum(axis=0) + lam * theta


def test_fit_is_the_penalised_optimum_and_orders_prompts_and_models():
    s = np.array(
        [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0], [1, np.nan, 0.5]], dtype=float
    )  # columns: a strong, a middle and a weak model
    d, theta = irt.fit_rasch(s, lam=1.0, iters=500, tol=1e-12)
    g_d, g_t = _grad(s, d, theta, 1.0)
    assert np.abs(g_d).max() < 1e-8 and np.abs(g_t).max() < 1e-8
    assert d[0] < d[1] < d[2] < d[3]  # more models fail -> harder
    assert theta[0] > theta[1] > theta[2]  # more prompts solved -> abler


def test_gap_is_largest_between_the_classes_and_small_where_both_fail():
    # 4 strong-ish and 4 weak-ish models; prompt 0: all solve, 1: only the strong class,
    # 2: nobody. "difficulty" (1 - mean score) ranks 2 > 1 > 0; the strong class gains on 1.
    strong = [1, 1, 1, 1]
    s = np.array([[1] * 8, strong + [0] * 4, [0] * 8, strong + [1, 1, 0, 0]], dtype=float)
    models = [f"s{i}" for i in range(4)] + [f"w{i}" for i in range(4)]
    y = irt.class_gap_labels(s, models, {"s0", "s1", "s2", "s3"}, {"w0", "w1", "w2", "w3"})
    assert y[1] > y[0] and y[1] > y[2]
    assert np.all((y >= 0.5) & (y <= 1.0))  # the strong class is the abler one here


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        irt.fit_rasch(np.array([[0.0, 5.0]]))
    with pytest.raises(ValueError, match="matrix"):
        irt.fit_rasch(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="weak-class"):
        irt.class_gap_labels(np.ones((2, 2)), ["a", "b"], {"a"}, {"z"})
