"""The length router: the documented logistic of log characters, loadable by name."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_py import metrics as M
from routellm_py.routers.base import available_routers, load_router
from routellm_py.routers.length import LengthRouter


def test_win_rate_is_the_stated_logistic():
    r = load_router("length")  # no checkpoint, like random
    assert isinstance(r, LengthRouter) and "length" in available_routers()
    prompts = ["x" * 500, "x" * 1359, "x" * 50, "y" * 500]
    w = r.win_rate(prompts)
    # z = ln(chars / 500): 0 -> 1/2; ln(1359/500) = 0.99990 -> 1/(1 + 500/1359) = 0.73104;
    # ln(50/500) -> 1/(1 + 10) = 0.090909
    np.testing.assert_allclose(w, [0.5, 1359 / 1859, 1 / 11, 0.5], rtol=1e-12)
    assert w[3] == w[0]  # equal lengths tie
    r2 = LengthRouter(midpoint_chars=100, scale=2.0)
    # ln(500/100) / 2 = 0.8047: sigmoid = 1 / (1 + 5^-0.5)
    assert r2.win_rate(["x" * 500])[0] == pytest.approx(1 / (1 + 5**-0.5))


def test_longer_is_never_lower_and_apgr_ignores_parameters():
    rng = np.random.default_rng(0)
    prompts = ["a" * int(n) for n in rng.integers(1, 20000, 200)]
    lengths = np.array([len(p) for p in prompts])
    w = LengthRouter().win_rate(prompts)
    assert np.all(np.diff(w[np.argsort(lengths)]) >= 0)
    assert w.min() > 0 and w.max() < 1  # 1 char and 20k chars stay inside (0, 1)
    s, k = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    other = LengthRouter(midpoint_chars=3000, scale=0.1).win_rate(prompts)
    assert M.apgr(M.routed_curve(w, s, k)) == pytest.approx(M.apgr(M.routed_curve(other, s, k)))


@pytest.mark.parametrize("kw", [{"midpoint_chars": 0}, {"scale": -1}, {"scale": float("nan")}])
def test_bad_parameters(kw):
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        LengthRouter(**kw)


def test_save_and_load_keeps_parameters(tmp_path):
    LengthRouter(midpoint_chars=800, scale=0.5).save(tmp_path / "len")
    r = load_router(tmp_path / "len")
    assert (r.name, r.midpoint_chars, r.scale) == ("length", 800.0, 0.5)
