"""`routellm-py data verify|sources|summary`."""

from __future__ import annotations

from routellm_py.cli import main
from routellm_py.data.manifest import load_manifest


def test_cli_data_verify(tmp_path, data_dir, capsys):
    assert main(["data", "verify", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("OK ") == sum(len(d["files"]) for d in load_manifest()["datasets"].values())
    assert main(["data", "verify", "--data-dir", str(tmp_path)]) == 1
    assert "MISSING  benchmarks/gsm8k/gsm8k_responses.csv" in capsys.readouterr().out


def test_cli_data_sources_and_summary(data_dir, capsys):
    assert main(["data", "sources"]) == 0
    out = capsys.readouterr().out
    assert "arena-bench-v1 " in out and "csv:PATH" in out and "CC BY-NC" in out
    assert main(["data", "summary", "--data", "arena-bench-v1", "--data-dir", str(data_dir)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("arena-bench"))
    assert line.split()[1:5] == ["26828", "300", "14", "6065"]
    assert main(["data", "summary", "--data", "nope", "--data-dir", str(data_dir)]) == 2
    assert "unknown data source 'nope'" in capsys.readouterr().err
