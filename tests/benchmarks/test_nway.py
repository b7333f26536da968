"""N-way bench: the curve math on hand-computed cases, costs, held-out data, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routellm_py.benchmarks import nway
from routellm_py.cli import main
from routellm_py.data.adapters.scores import ScoreTable
from routellm_py.policy.nway import Price, estimates_from_scores

REPO = Path(__file__).resolve().parents[2]
# 4 prompts x 3 models: gold quality and realised USD
Y = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
C = np.array(
    [[0.01, 0.002, 0.001], [0.01, 0.002, 0.001], [0.02, 0.004, 0.001], [0.01, 0.003, 0.002]]
)


def test_oracle_choice() -> None:
    # best quality then cheapest: prompt 0 -> 1 (0.002 < 0.01), 1 -> 2, 2 -> 2 (none right), 3 -> 2
    assert nway.oracle_choice(Y, C).tolist() == [1, 2, 2, 2]
    # graded scores: the best score wins over a cheaper worse one
    assert nway.oracle_choice(
        np.array([[0.4, 0.7, 0.7]]), np.array([[1.0, 3.0, 2.0]])
    ).tolist() == [2]


def test_mix_frontier_and_gain() -> None:
    usd = np.array([1.0, 2.0, 3.0, 4.0, 1.5, 5.0, 1.0])
    q = np.array([0.5, 0.8, 0.6, 0.9, 0.55, 0.7, 0.4])
    xs, qs = nway.mix_frontier(usd, q)
    # (1.5, .55) is under the chord (1, .5)-(2, .8) (.65 there); (3, .6) under (2, .8)-(4, .9);
    # (1, .4) has the cost of a better point; (5, .7) is past the best model
    assert xs.tolist() == [1.0, 2.0, 4.0] and qs.tolist() == [0.5, 0.8, 0.9]
    assert nway.frontier_quality((xs, qs), 3.0) == pytest.approx(0.85)
    assert nway.frontier_quality((xs, qs), 1.5) == pytest.approx(0.65)
    assert nway.frontier_quality((xs, qs), 10.0) == pytest.approx(0.9)
    assert np.isnan(nway.frontier_quality((xs, qs), 0.5))  # cheaper than every model
    # a point exactly on a chord is dropped: (2, .7) on (1, .5)-(3, .9)
    xs, qs = nway.mix_frontier(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.7, 0.9]))
    assert xs.tolist() == [1.0, 3.0]


def test_fold_expected_cost() -> None:
    e = nway.fold_expected_cost(C, np.array(["a", "a", "b", "b"]))
    assert e[0] == pytest.approx([0.015, 0.0035, 0.0015])  # mean of prompts 2, 3
    assert e[3] == pytest.approx([0.01, 0.002, 0.001])  # mean of prompts 0, 1


def _data() -> nway.NwayData:
    frame = pd.DataFrame(
        {"key": list("abcd"), "prompt": list("abcd"), "source": "t", "task": ["x", "x", "y", "y"]}
    )
    table = ScoreTable("t", pd.concat([frame, pd.DataFrame(Y, columns=list("ABC"))], axis=1))
    meta = frame[["key", "prompt", "task"]]
    return nway.NwayData("t", list("ABC"), meta, Y, C, C, "given", table)


def test_evaluate_rows_by_hand() -> None:
    # scores: A best on every prompt; B next; C worst
    s = np.array([[2.0, 1.0, 0.0]] * 4)
    t = nway.evaluate(_data(), s, lambdas=(0.0, 1e3), ts=(0.0,)).set_index("policy")
    assert t.loc["A", "quality"] == pytest.approx(0.5)
    assert t.loc["B", "usd_per_1k"] == pytest.approx(2.75)
    assert t.loc["random (uniform)", "quality"] == pytest.approx(Y.mean())
    assert t.loc["oracle", "quality"] == pytest.approx(0.75)
    assert t.loc["oracle", "usd_per_1k"] == pytest.approx(1000 * (0.002 + 0.001 * 2 + 0.002) / 4)
    assert t.loc["quality - 0 x cost", "quality"] == t.loc["A", "quality"]  # lambda 0: best
    # lambda 1000 / USD, q = (.806, .5, .194): prompt 0 utilities .806 - 10, .5 - 2, .194 - 1,
    # and C wins on every prompt the same way
    q = estimates_from_scores(s)[0][0]
    assert q == pytest.approx([0.8060, 0.5, 0.1940], abs=1e-4)
    lam = t.loc["quality - 1000 x cost"]
    assert (lam["quality"], lam["usd_per_1k"]) == (0.5, pytest.approx(1.25))
    assert t.loc["cheapest with P(match best) >= 0", "usd_per_1k"] == t.loc["C", "usd_per_1k"]
    # frontier of the singles (A 0.5 @ 12.5, B 0.5 @ 2.75, C 0.5 @ 1.25): flat at 0.5
    assert t.loc["oracle", "gain_vs_mix"] == pytest.approx(0.25)
    assert t.loc["A", "gain_vs_mix"] == pytest.approx(0.0)
    low, high = t.loc["oracle", ["gain_low", "gain_high"]]
    assert low <= 0.25 <= high and high <= 0.5  # the oracle is right on 3 of the 4 prompts


def test_gain_interval_collapses_without_variance() -> None:
    # every prompt alike: each resample gives the same points, so the interval is the point
    per_q = np.array([[0.5] * 6, [0.9] * 6, [0.8] * 6])
    per_usd = np.array([[1.0] * 6, [3.0] * 6, [1.5] * 6])
    single = np.array([True, True, False])
    g = nway.gains(per_q.mean(axis=1), per_usd.mean(axis=1), single)
    assert g == pytest.approx([0.0, 0.0, 0.8 - 0.6])  # f(1.5) = 0.5 + 0.4 * 0.5 / 2
    assert nway.gain_intervals(per_q, per_usd, single, n_boot=50) == pytest.approx(
        np.stack([g, g], axis=1)
    )


def test_resolve_prices() -> None:
    got = nway.resolve_prices(
        ["gpt-4-1106-preview", "m1", "qwen2.5-7b-instruct"],
        {"m1": {"price_in": 1e-7, "price_out": 2e-7}, "qwen2.5-7b-instruct": "gpt-4o"},
    )
    assert got == [Price(1e-05, 3e-05), Price(1e-7, 2e-7), Price(2.5e-06, 1e-05)]
    with pytest.raises(ValueError, match=r"no price for models \['llama3-chatqa-1.5-8b', 'm2 \(as"):
        nway.resolve_prices(["llama3-chatqa-1.5-8b", "gpt-4o", "m2"], {"m2": "acme/m2"})
    with pytest.raises(ValueError, match="'m1' needs numeric price_in"):
        nway.resolve_prices(["m1"], {"m1": {"price_in": 1e-7}})


def test_load_nway_costs(data_dir) -> None:
    rb = nway.load_nway("routerbench", data_dir=data_dir)
    assert len(rb.models) == 11 and rb.expected is None and len(rb.y) == 2212
    assert "total_cost" in rb.cost_note and not np.isnan(rb.cost).any()
    models = ["codegemma-7b", "gpt-4o", "qwen2.5-7b-instruct"]
    prices = {"codegemma-7b": "gpt-4o", "qwen2.5-7b-instruct": {"price_in": 0, "price_out": 1e-6}}
    # gpt-4o is not an llmrouter model
    with pytest.raises(ValueError, match=r"no scores for \['gpt-4o'\]"):
        nway.load_nway("llmrouter-test", models, prices, data_dir)
    shipped = json.loads((REPO / "benchmarks/nway/prices_llmrouter.json").read_text())
    unpriced = (
        r"\['llama-3.1-nemotron-51b-instruct', 'llama3-chatqa-1.5-70b', 'llama3-chatqa-1.5-8b'\]"
    )
    with pytest.raises(ValueError, match=unpriced):
        nway.load_nway("llmrouter-test", None, shipped, data_dir)
    three = ["codegemma-7b", "gemma-2-9b-it", "qwen2.5-7b-instruct"]
    flat = {m: {"price_in": 1e-6, "price_out": 2e-6} for m in three}
    d = nway.load_nway("llmrouter-test", three, flat, data_dir)
    n_chars = d.frame["prompt"].str.len().to_numpy()
    want = -(-n_chars // 4) * 1e-6 + 256 * 2e-6  # none of the three is in the length table
    assert d.cost[:, 0] == pytest.approx(want) and np.array_equal(d.expected, d.cost)
    assert "codegemma-7b: 256 from default" in d.cost_note


def test_cli_nway(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "nway"
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "gemma-2-9b-it": "gemini/gemini-gemma-2-9b-it",
                "llama-3.1-8b-instruct": "together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
                "qwen2.5-7b-instruct": "together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo",
            }
        )
    )
    argv = ["bench", "--nway", "--sources", "llmrouter-test", "--train-sources", "llmrouter"]
    argv += ["--models", "gemma-2-9b-it,llama-3.1-8b-instruct,qwen2.5-7b-instruct"]
    argv += ["--prices", str(prices), "--lambdas", "0,1000", "--ts", "0.9"]
    argv += ["--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    # the 72 llmrouter-test prompts that are also llmrouter training prompts are left out
    assert "== N-way on llmrouter-test: 278 prompts, 3 models" in text
    assert "'in_training': 72" in text and "mf trained on llmrouter" in text
    meta = json.loads((out / "nway_llmrouter-test.json").read_text())
    rows = {r["policy"]: r for r in meta["rows"]}
    assert len(rows) == 3 + 2 + 2 + 1
    assert rows["oracle"]["quality"] > max(rows[m]["quality"] for m in meta["models"])
    assert {p.suffix for p in out.iterdir()} == {".csv", ".md", ".json", ".png"}


def test_cli_nway_errors(data_dir, tmp_path, capsys) -> None:
    assert main(["bench", "--nway", "--routers", "mf-shipped", "--data-dir", str(data_dir)]) == 2
    assert "fits its own held-out mf router" in capsys.readouterr().err
    argv = ["bench", "--nway", "--sources", "routerbench,mmlu-pro", "--models", "a,b,c"]
    assert main(argv) == 2
    assert "--models needs a single --sources" in capsys.readouterr().err
    prices = tmp_path / "prices.json"
    prices.write_text('["gpt-4o"]')
    assert main(["bench", "--nway", "--prices", str(prices)]) == 2
    assert f"{prices}: expected a JSON object" in capsys.readouterr().err
    assert main(["bench"]) == 2
    assert "--routers is required" in capsys.readouterr().err
