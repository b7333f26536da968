"""`routellm-py route`: win rate and decision per prompt as JSON lines, no LLM call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from routellm_py.calibration import threshold_for_strong_fraction
from routellm_py.cli import main
from routellm_py.routers.random import RandomRouter

PROMPTS = [f"prompt number {i} about topic {i % 7}" for i in range(40)]


def rows(capsys: pytest.CaptureFixture) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_route_arguments_and_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "prompts.jsonl"
    f.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS[2:]))
    argv = ["route", *PROMPTS[:2], "--file", str(f), "--router", "random", "--threshold", "0.4"]
    assert main(argv) == 0
    out = rows(capsys)
    want = RandomRouter().win_rate(PROMPTS)
    assert [r["prompt"] for r in out] == PROMPTS and [r["index"] for r in out] == list(range(40))
    np.testing.assert_array_equal([r["win_rate"] for r in out], want)
    assert [r["decision"] for r in out] == ["strong" if w >= 0.4 else "weak" for w in want]
    router = RandomRouter()
    assert {r["model"] for r in out if r["decision"] == "strong"} == {router.strong_model}
    assert {r["model"] for r in out if r["decision"] == "weak"} == {router.weak_model}


def test_route_strong_pct_calibrates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    calib = tmp_path / "calib.txt"
    calib.write_text("\n".join(PROMPTS))
    argv = ["route", "hello", "--router", "random", "--strong-pct", "0.3"]
    assert main([*argv, "--calibration-prompts", str(calib)]) == 0
    (row,) = rows(capsys)
    w = RandomRouter().win_rate(PROMPTS)
    assert row["threshold"] == threshold_for_strong_fraction(w, 0.3)
    assert np.mean(w >= row["threshold"]) == pytest.approx(0.3, abs=1 / 40)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--router", "random", "--threshold", "0.5"], "no prompts"),
        (["x", "--router", "random", "--threshold", "1.5"], "threshold must be in [0, 1]"),
        (["x", "--router", "random", "--strong-pct", "30"], "--strong-pct must be in [0, 1]"),
        (["x", "--router", "nope", "--threshold", "0.5"], "unknown router 'nope'"),
    ],
)
def test_route_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["route", *argv]) == 2
    assert message in capsys.readouterr().err


def test_route_needs_exactly_one_of_threshold_or_pct() -> None:
    with pytest.raises(SystemExit):
        main(["route", "x", "--router", "random", "--threshold", "0.5", "--strong-pct", "0.3"])
