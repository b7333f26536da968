"""`routellm-py select-threshold`: Hybrid LLM §4.5 threshold choice on a validation split,
reported on validation and test (Table 3 style)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from routellm_py.cli import main
from routellm_py.cli.select_threshold import split_and_select


def easy_hard(n: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A perfect router: easy prompts (weak as good as strong) get win rate 0.1, hard 0.9."""
    easy = np.arange(n) % 2 == 0
    w = np.where(easy, 0.1, 0.9)
    strong = np.ones(n)
    weak = np.where(easy, 1.0, 0.0)
    return w, strong, weak, easy


def test_zero_drop_sends_exactly_the_easy_prompts_weak() -> None:
    w, strong, weak, easy = easy_hard()
    c = split_and_select(w, strong, weak, max_drop=0.0, val_frac=0.5, seed=3)
    perm = np.random.default_rng(3).permutation(20)
    val, test = perm[:10], perm[10:]
    assert (c.n_val, c.n_test) == (10, 10)
    assert 0.1 < c.validation.threshold <= 0.9
    assert c.validation.cost_advantage == pytest.approx(easy[val].mean())
    assert c.test.cost_advantage == pytest.approx(easy[test].mean())
    assert c.validation.quality_drop == 0.0 and c.test.quality_drop == 0.0


def test_a_loose_budget_sends_everything_weak() -> None:
    w, strong, weak, easy = easy_hard()
    c = split_and_select(w, strong, weak, max_drop=1.0, val_frac=0.5, seed=3)
    test = np.random.default_rng(3).permutation(20)[10:]
    assert c.validation.cost_advantage == 1.0 and c.test.cost_advantage == 1.0
    # all weak: quality = share of easy prompts; relative drop vs all-strong (1.0) = 1 - share
    assert c.test.quality_drop == pytest.approx(1.0 - easy[test].mean())


@pytest.mark.parametrize("frac", [0.0, 1.0, 0.01])
def test_empty_split_is_rejected(frac: float) -> None:
    w, strong, weak, _ = easy_hard()
    with pytest.raises(ValueError, match="--val-frac"):
        split_and_select(w, strong, weak, 0.01, val_frac=frac)


def test_cli_prints_validation_and_test(data_dir, tmp_path, capsys) -> None:
    argv = ["select-threshold", "--router", "random", "--max-drop", "0.02"]
    argv += ["--benchmark", "mt-bench", "--no-decontaminate", "--data-dir", str(data_dir)]
    assert main([*argv, "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "80 of 80 prompts" in out
    val = re.search(r"validation\s+40\s+([\d.]+)%\s+([\d.]+)%", out)
    test = re.search(r"test\s+40\s+([\d.]+)%\s+(-?[\d.]+)%", out)
    assert val and test, out
    assert 0 <= float(val.group(1)) <= 100 and float(val.group(2)) <= 2.0


def test_cli_rejects_a_negative_budget(capsys) -> None:
    argv = ["select-threshold", "--router", "random", "--max-drop", "-0.1", "--benchmark", "gsm8k"]
    assert main(argv) == 2
    assert "--max-drop must be >= 0" in capsys.readouterr().err


def test_cli_eval_set(tmp_path, capsys) -> None:
    """A user's JSONL eval set: strong always right, weak right on every other prompt."""
    path = tmp_path / "mine.jsonl"
    rows = [{"prompt": f"question {i}", "strong_score": 1, "weak_score": i % 2} for i in range(40)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["select-threshold", "--router", "random", "--max-drop", "0.0"]
    argv += ["--eval-set", f"jsonl:{path}", "--cache-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "on eval-mine: 40 of 40 prompts" in out
    val = re.search(r"validation\s+20\s+([\d.]+)%\s+(-?[\d.]+)%", out)
    assert val, out
    assert float(val.group(2)) == 0.0  # the budget holds on validation


def test_cli_needs_a_benchmark_or_an_eval_set(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["select-threshold", "--router", "random", "--max-drop", "0.1"])
    assert "one of the arguments --benchmark --eval-set is required" in capsys.readouterr().err
