"""`routellm-py bench` and `routellm-py calibrate` through `routellm_py.cli.main`."""

from __future__ import annotations

import json

import pytest

from routellm_py.cli import main


def test_bench_cli_smoke(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    argv = ["bench", "--routers", "random", "--benchmarks", "mt-bench", "--limit", "20"]
    argv += ["--data-dir", str(data_dir), "--out", str(out), "--no-progress", "--overhead"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "== mt-bench: 20 prompts evaluated of 80" in text
    assert "random band (APGR of 1,000 seeded random routers, 2.5-97.5%): 0." in text
    assert any(ln.split()[:1] == ["length"] for ln in text.splitlines())  # the ruler row
    assert "random (expected)   0.5000 [0." in text and "50.0%    80.0%" in text
    assert "== routing overhead" in text
    assert {p.name for p in out.iterdir()} >= {"mt-bench.csv", "mt-bench.json", "overhead.csv"}
    assert json.loads((out / "overhead.json").read_text())[0]["router"] == "random"


def test_bench_cli_errors(data_dir, capsys):
    assert main(["bench", "--routers", "nope", "--data-dir", str(data_dir)]) == 2
    assert "unknown router 'nope'" in capsys.readouterr().err


def test_calibrate_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"question {i}" for i in range(50)) + "\n")
    assert (
        main(["calibrate", "--router", "random", "--strong-pct", "0.3", "--prompts", str(prompts)])
        == 0
    )
    text = capsys.readouterr().out
    assert "threshold: 0." in text
    # 50 distinct win rates: exactly 15 of 50 go strong
    assert "on 50 calibration prompts: 0.3000 (requested 0.3000)" in text
    assert main(["calibrate", "--router", "random", "--strong-pct", "30"]) == 2
    assert "--strong-pct must be in [0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--routers", "--benchmarks"])
def test_bench_cli_rejects_empty_list_items(flag, capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--routers", "random", flag, "random,,x"])
    assert "empty item" in capsys.readouterr().err
