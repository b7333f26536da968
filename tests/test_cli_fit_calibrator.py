"""`routellm-py calibrate --fit-calibrator`: fits on gold prompts the router did not fit,
writes calibration.json + the card section, and `load_router` applies it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import metrics as M
from routellm_py.cli import main
from routellm_py.data.scores import score_table
from routellm_py.routers.base import load_router
from routellm_py.routers.length import LengthRouter


def test_fit_calibrator_on_mmlu_gold(tmp_path, data_dir, capsys):
    LengthRouter().save(tmp_path)  # an untrained router saw no mmlu-gold prompt
    args = ["calibrate", "--fit-calibrator", "--router", str(tmp_path), "--data", "mmlu-gold"]
    assert main([*args, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    rec = json.loads((tmp_path / "calibration.json").read_text())
    table = score_table("mmlu-gold", data_dir)
    assert rec["data"]["n_prompts"] == table.frame["prompt"].nunique()
    assert f"{rec['before']['ece_width']:>9.4f}" in out and rec["method"] in out
    # the stored figures are the metrics of the raw router against strong-vs-weak outcomes
    router = load_router(tmp_path)
    # a prompt repeated in the table counts once, with the mean of its rows' outcomes
    row_y = M.pairwise_outcome(table.scores(router.strong_model), table.scores(router.weak_model))
    y = pd.Series(row_y).groupby(table.frame["prompt"].to_numpy(), sort=False).mean()
    raw = router.win_rate(y.index.tolist(), raw=True)
    assert rec["before"]["brier"] == pytest.approx(M.brier_score(raw, y.to_numpy()))
    assert router.calibrator is not None and router.calibrator.method == rec["method"]
    card = (tmp_path / "README.md").read_text()
    assert "## Calibration" in card
    # per source: the correlation whose sign says whether the router ranks outcomes right
    src = rec["data"]["per_source"]["mmlu-gold"]
    assert src["n"] == len(y) and src["mean_outcome"] == pytest.approx(y.mean())
    assert src["corr"] == pytest.approx(np.corrcoef(raw, y.to_numpy())[0, 1])
    assert f"| mmlu-gold | {len(y)} | {y.mean():.3f} |" in card
    assert f"`routellm-py calibrate --fit-calibrator --router {tmp_path} --data mmlu-gold`" in card


def fails(args: list[str], capsys) -> str:
    assert main(args) != 0
    return capsys.readouterr().err


def test_prompts_the_router_trained_on_are_refused(tmp_path, data_dir, capsys):
    router = LengthRouter()
    router.provenance = {"data": "mmlu-gold"}  # trained on all of it, no validation split
    router.save(tmp_path)
    args = ["calibrate", "--fit-calibrator", "--router", str(tmp_path)]
    err = fails([*args, "--data-dir", str(data_dir)], capsys)
    assert "only 0 prompts of mmlu-gold were not used" in err


@pytest.mark.parametrize(
    "source, message",
    [("faithful-cot", "faithful-cot does not score both"), ("alpaca-eval", "not a gold score")],
)
def test_unusable_sources_are_named(tmp_path, data_dir, capsys, source, message):
    LengthRouter().save(tmp_path)
    args = ["calibrate", "--fit-calibrator", "--router", str(tmp_path), "--data", source]
    assert message in fails([*args, "--data-dir", str(data_dir)], capsys)
