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


def _eval_csv(data_dir, path, n=40):
    """n real MT-Bench prompts with their mean GPT-4 grades (graded scores) as a user's CSV."""
    from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
    from routellm_py.data.benchmarks import load_benchmark

    mt = load_benchmark("mt-bench", data_dir).frame.iloc[:n]
    path.write_text(
        mt[["prompt", DEFAULT_STRONG, DEFAULT_WEAK]]
        .set_axis(["prompt", "strong_score", "weak_score"], axis=1)
        .to_csv(index=False)
    )
    return path


def test_bench_cli_eval_set(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    path = _eval_csv(data_dir, tmp_path / "chat.csv")
    out = tmp_path / "results"
    argv = ["bench", "--routers", "random", "--eval-set", f"csv:{path}", "--no-progress"]
    assert main([*argv, "--data-dir", str(data_dir), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # only the eval set (no --benchmarks): no built-in benchmark is run
    assert "== eval-chat: 40 prompts evaluated of 40 (dropped: gold 0, train_cosine 0)" in text
    assert "== mt-bench" not in text and "random band (APGR of 1,000" in text
    meta = json.loads((out / "eval-chat.json").read_text())
    assert [r["router"] for r in meta["rows"]] == [
        "random",
        "length",
        "oracle",
        "random (expected)",
    ]
    # with --benchmarks as well, both are evaluated
    argv += ["--benchmarks", "mt-bench", "--limit", "20"]
    assert main([*argv, "--data-dir", str(data_dir), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== mt-bench: 20 prompts" in text and "== eval-chat: 20 prompts" in text


def test_bench_cli_bad_eval_set(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("prompt,strong_score,weak_score\na,1,0\nb,yes please,1\n")
    assert main(["bench", "--routers", "random", "--eval-set", f"csv:{path}"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: row 2: column 'strong_score' is 'yes please'" in err


def test_calibrate_cli_eval_set(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    path = _eval_csv(data_dir, tmp_path / "chat.csv", n=50)
    argv = ["calibrate", "--router", "random", "--strong-pct", "0.3", "--eval-set", f"csv:{path}"]
    assert main(argv) == 0
    assert "on 50 calibration prompts: 0.3000 (requested 0.3000)" in capsys.readouterr().out
