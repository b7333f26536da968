"""Calibration ahead of time: a checkpoint's win-rate quantiles (`calibration.WinRateQuantiles`)
agree with `threshold_for_strong_fraction` on the same prompts, are written by `routellm-py
calibrate --write-quantiles`, and let a server answer `router-mf-s0.3` with no data at all."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routellm_py import calibration as C
from routellm_py.cli import main
from routellm_py.routers.base import QUANTILES_FILE, load_router
from routellm_py.routers.calibration import CALIBRATION_FILE, calibrator_digest
from routellm_py.routers.length import LengthRouter

ROOT = Path(__file__).resolve().parents[1]
RECORD = {"sources": "test", "n": 0, "sha256": ""}


def win_rates(n: int, seed: int, decimals: int | None = None) -> np.ndarray:
    w = np.random.default_rng(seed).beta(2, 3, n)
    return w if decimals is None else np.round(w, decimals)  # rounding makes many ties


@pytest.mark.parametrize(("n", "decimals"), [(5000, None), (3321, 2), (37, None)])
def test_grid_lookup_equals_threshold_for_strong_fraction(n, decimals):
    w = win_rates(n, n, decimals)
    q = C.WinRateQuantiles.fit(w, RECORD, "none")
    assert len(q.thresholds) == C.GRID == 1001
    for k in range(0, 1001, 7):  # on the grid: exactly today's threshold on these prompts
        f = k / 1000
        assert q.threshold(f) == C.threshold_for_strong_fraction(w, f)
        assert q.strong_fraction(f) == np.mean(w >= q.threshold(f))
    rng = np.random.default_rng(0)
    for f in rng.random(200):  # off the grid: the threshold of the nearest grid fraction
        g = round(f * 1000) / 1000
        assert q.threshold(f) == C.threshold_for_strong_fraction(w, g)
        if decimals is None:  # distinct win rates: realised within 1/2000 + 1/(2n) of f
            assert abs(np.mean(w >= q.threshold(f)) - f) <= 0.0005 + 0.5 / n + 1e-12


def test_half_way_fractions_take_the_larger_strong_fraction():
    w = win_rates(4000, 1)
    q = C.WinRateQuantiles.fit(w, RECORD, "none")
    # 0.3005 lies half-way between grid fractions .300 and .301: .301 wins, as in
    # threshold_for_strong_fraction's own tie rule
    assert q.threshold(0.3005) == C.threshold_for_strong_fraction(w, 0.301)
    assert q.threshold(0.3) == C.threshold_for_strong_fraction(w, 0.3)
    assert np.sum(w >= q.threshold(0.3)) == 1200
    # tied prompts move together: two groups of 5 realise only 0, 1/2, 1
    tied = C.WinRateQuantiles.fit([0.8] * 5 + [0.3] * 5, RECORD, "none")
    assert (tied.strong_fraction(0.2), tied.strong_fraction(0.25), tied.strong_fraction(0.3)) == (
        0.0,
        0.5,
        0.5,
    )
    with pytest.raises(ValueError, match=r"strong fraction must be in \[0, 1\]"):
        q.threshold(1.5)


def test_quantile_file_round_trip_and_validation(tmp_path):
    w = win_rates(500, 3)
    q = C.WinRateQuantiles.fit(w, {"sources": "s", "n": 500, "sha256": "ab"}, "digest")
    C.write_quantiles(tmp_path, q)
    back = C.read_quantiles(tmp_path)
    assert back is not None and back.prompts == q.prompts and back.calibrator == "digest"
    assert np.array_equal(back.thresholds, q.thresholds)
    assert not list(tmp_path.glob("*.tmp"))  # written through tmp + rename
    record = json.loads((tmp_path / QUANTILES_FILE).read_text())
    record["thresholds"][10] = 2.0
    (tmp_path / QUANTILES_FILE).write_text(json.dumps(record))
    with pytest.raises(C.CalibrationError, match="not valid win-rate quantiles.*--write-quantiles"):
        C.read_quantiles(tmp_path)
    assert C.read_quantiles(tmp_path / "none") is None


def test_cli_writes_quantiles_on_a_prompt_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    prompts = [f"prompt {'x' * (i % 97)} number {i}" for i in range(400)]
    (tmp_path / "p.txt").write_text("\n".join(prompts) + "\n")
    ckpt = tmp_path / "length"
    LengthRouter().save(ckpt)
    router = load_router(ckpt)
    with pytest.raises(
        C.CalibrationError, match=r"no .*win_rate_quantiles.json.*calibrate --router"
    ):
        C.calibrate(router, 0.3)
    untrained = r"not loaded from a checkpoint\): pass calibration_prompts, or save it"
    with pytest.raises(C.CalibrationError, match=untrained):
        C.calibrate(load_router("random"), 0.3)
    args = ["calibrate", "--router", str(ckpt), "--write-quantiles", "--strong-pct", "0.3"]
    assert main([*args, "--prompts", str(tmp_path / "p.txt")]) == 0
    out = capsys.readouterr().out
    expected = C.threshold_for_strong_fraction(router.win_rate(prompts), 0.3)
    assert f"threshold: {expected!r}" in out
    router = load_router(ckpt)
    assert C.calibrate(router, 0.3) == expected  # the lookup, no prompt scored
    q = C.read_quantiles(ckpt)
    assert q.prompts == {
        "sources": f"file {tmp_path / 'p.txt'}",
        "n": 400,
        "sha256": C.prompts_digest(prompts),
    }
    # a calibrator written later makes the quantiles stale: a clear error, not a wrong threshold
    (ckpt / CALIBRATION_FILE).write_text(
        json.dumps({"method": "platt", "params": {"a": 2, "b": 0}})
    )
    with pytest.raises(C.CalibrationError, match="another win-rate calibrator"):
        C.calibrate(load_router(ckpt), 0.3)


RUNTIME = ("routellm_py/calibration.py", "routellm_py/routers/calibration.py")


@pytest.mark.parametrize("path", RUNTIME)
def test_runtime_calibration_imports_no_lab_module(path):
    tree = ast.parse((ROOT / path).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    lab = ("routellm_py.benchmarks", "routellm_py.data", "routellm_py.training")
    assert not [m for m in imported if m and m.startswith(lab)]


@pytest.mark.parametrize("name", ["mf", "sw_ranking"])
def test_shipped_quantiles_record_their_prompts(name, data_dir):
    from routellm_py.lab.calibrate import DEFAULT_PROMPTS, default_calibration_prompts

    router = load_router(ROOT / "routers" / name)
    q = C.read_quantiles(ROOT / "routers" / name)
    prompts = default_calibration_prompts(data_dir)
    assert q.prompts == {
        "sources": DEFAULT_PROMPTS,
        "n": len(prompts),
        "sha256": C.prompts_digest(prompts),
    }
    assert q.calibrator == calibrator_digest(router.calibrator)
    assert C.calibrate(router, 0.3) == q.threshold(0.3)  # current: the lookup accepts it


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mf", "sw_ranking"])
def test_shipped_quantiles_agree_with_scoring_the_prompts(name, data_dir):
    from routellm_py.lab.calibrate import default_calibration_prompts

    router = load_router(ROOT / "routers" / name)
    w = router.win_rate(default_calibration_prompts(data_dir))
    for f in (0.1, 0.3, 0.5, 0.8):  # float32 embeddings: installs differ (seen: 4e-6)
        want = C.threshold_for_strong_fraction(w, f)
        assert C.calibrate(router, f) == pytest.approx(want, rel=0, abs=2e-5)


SERVE = """
import json, sys, time
import httpx
from routellm_py.calibration import read_quantiles
from routellm_py.controller import Controller
from routellm_py.server import BackgroundServer, create_app
from tests.upstream import Upstream

with Upstream() as up:
    ends = {"api_base": up.base_url, "api_key": "sk-test"}
    c = Controller(["mf"], {"model": "openai/strong-m", **ends}, {"model": "openai/weak-m", **ends})
    with BackgroundServer(create_app(c)) as srv:
        prompts = ["hi there", "prove that 2 + 2 = 4"]
        warm = {"model": "router-mf-0.5", "prompts": prompts}  # loads the encoder
        assert httpx.post(srv.base_url + "/route", json=warm, timeout=30).status_code == 200
        before = set(sys.modules)
        route = {"model": "router-mf-s0.3", "prompts": prompts}
        start = time.perf_counter()  # the first s0.3 request: a lookup, no scoring
        decided = httpx.post(srv.base_url + "/route", json=route, timeout=30).json()
        elapsed = time.perf_counter() - start
        new = sorted(set(sys.modules) - before)
        body = {"model": "router-mf-s0.3", "messages": [{"role": "user", "content": "hi there"}]}
        r = httpx.post(srv.base_url + "/chat/completions", json=body, timeout=30)
        q = read_quantiles(c.routers["mf"].checkpoint_dir)
print(json.dumps({"status": r.status_code, "body": r.json(), "elapsed": elapsed, "new": new,
                  "decided": decided, "expected": q.threshold(0.3)}))
"""


def test_server_answers_strong_fraction_without_any_data(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTELLM_PY_")}
    env |= {"PYTHONPATH": str(ROOT), "ROUTELLM_PY_CACHE": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-c", SERVE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["status"] == 200, got["body"]
    assert got["body"]["choices"][0]["message"]["content"] == "echo: hi there"
    assert got["body"]["routing"]["threshold"] == got["expected"]
    assert got["decided"]["threshold"] == got["expected"] and len(got["decided"]["data"]) == 2
    assert got["elapsed"] < 1.0  # measured 0.11 s: calibration is a lookup, no scoring
    lab = ("routellm_py.benchmarks", "routellm_py.data", "routellm_py.training")
    assert not [m for m in got["new"] if m.startswith(lab)]


def test_fitting_a_calibrator_refreshes_default_quantiles(tmp_path, data_dir, capsys, monkeypatch):
    from routellm_py.lab.calibrate import default_calibration_prompts

    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    LengthRouter().save(tmp_path / "len")
    ckpt, dd = str(tmp_path / "len"), ["--data-dir", str(data_dir)]
    assert main(["calibrate", "--router", ckpt, "--write-quantiles", *dd]) == 0
    before = C.read_quantiles(ckpt)
    fit = ["calibrate", "--fit-calibrator", "--router", ckpt, "--data", "mmlu-gold", *dd]
    assert main(fit) == 0
    out = capsys.readouterr().out
    router = load_router(ckpt)
    prompts = default_calibration_prompts(data_dir)
    assert f"refreshed the win-rate quantiles on {len(prompts)} default prompts" in out
    after = C.read_quantiles(ckpt)
    assert after.calibrator == calibrator_digest(router.calibrator) != before.calibrator
    w = router.win_rate(prompts)  # calibrated, as served
    assert C.calibrate(router, 0.3) == C.threshold_for_strong_fraction(w, 0.3)


def test_fitting_a_calibrator_marks_other_quantiles_stale(tmp_path, data_dir, capsys):
    (tmp_path / "p.txt").write_text("\n".join(f"prompt {'y' * i}" for i in range(60)) + "\n")
    LengthRouter().save(tmp_path / "len")
    ckpt, dd = str(tmp_path / "len"), ["--data-dir", str(data_dir)]
    write = ["calibrate", "--router", ckpt, "--write-quantiles", "--prompts"]
    assert main([*write, str(tmp_path / "p.txt"), "--cache-dir", str(tmp_path / "c")]) == 0
    fit = ["calibrate", "--fit-calibrator", "--router", ckpt, "--data", "mmlu-gold", *dd]
    assert main(fit) == 0
    assert (
        f"win-rate quantiles on file {tmp_path / 'p.txt'} are now stale" in capsys.readouterr().out
    )
    with pytest.raises(C.CalibrationError, match="another win-rate calibrator"):
        C.calibrate(load_router(ckpt), 0.3)
