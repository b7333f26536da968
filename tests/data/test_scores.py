"""Score tables of the gold and graded sources (MMLU-Pro, Faithful-CoT, LLMRouter, Vicuna bench)
and their battles: figures from the data README recomputed, slices of the real files made
malformed, a hand-made table turned into battles."""

from __future__ import annotations

import csv
import gzip
import io

import numpy as np
import pandas as pd
import pytest

from routellm_py.data.adapters import (
    AdapterError,
    ScoreTable,
    load_vicuna_pairwise,
    mmlu_pro_table,
)
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.data.manifest import load_manifest
from routellm_py.data.scores import SCORE_TABLES, score_table
from routellm_py.data.sources import SOURCES, load_sources

MMLU_PRO = "gold/mmlu_pro/mmlu_pro.csv.gz"


@pytest.fixture(scope="module")
def mmlu_pro(data_dir):
    return score_table("mmlu-pro", data_dir)


def test_mmlu_pro_matches_readme(data_dir, mmlu_pro):
    with gzip.open(data_dir / MMLU_PRO, "rt", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(mmlu_pro) == len(rows) == 5222 and len(mmlu_pro.models) == 31
    assert mmlu_pro.frame.key.tolist() == [r["question_id"] for r in rows]
    assert mmlu_pro.frame.task.tolist() == [r["category"] for r in rows]  # the task column
    assert len(mmlu_pro.tasks) == 9
    # README table: accuracy on labelled rows, and empty cells
    assert np.nanmean(mmlu_pro.scores("gpt-4o")) == pytest.approx(0.725, abs=5e-4)
    assert np.nanmean(mmlu_pro.scores(DEFAULT_WEAK)) == pytest.approx(0.372, abs=5e-4)
    assert np.isnan(mmlu_pro.scores("DeepSeek-Coder-V2")).sum() == 1462
    assert np.isnan(mmlu_pro.scores("deepseek-chat")).sum() == 74
    assert DEFAULT_STRONG not in mmlu_pro.models  # gpt-4o is not gpt-4-1106-preview


def test_mmlu_pro_pair_battles_by_hand(data_dir, mmlu_pro):
    with gzip.open(data_dir / MMLU_PRO, "rt", newline="") as fh:
        rows = list(csv.DictReader(fh))
    wins = sum(r["gpt-4o"] == "1" and r[DEFAULT_WEAK] == "0" for r in rows)
    losses = sum(r["gpt-4o"] == "0" and r[DEFAULT_WEAK] == "1" for r in rows)
    report = {}
    b = mmlu_pro.to_battles(["gpt-4o", "Mixtral-8x7B-Instruct-v0.1"], report=report)
    assert report == {}  # both models answered every question
    f = b.pair("gpt-4o", DEFAULT_WEAK).frame
    assert len(f) == 5222 and set(f.source) == {"mmlu-pro"}
    assert (f.outcome == "a_wins").sum() == wins and (f.outcome == "b_wins").sum() == losses


def test_mmlu_pro_slice_malformed_names_file_row_column(data_dir, fake_dir):
    real = pd.read_csv(data_dir / MMLU_PRO, dtype=str, keep_default_na=False, nrows=20)
    path = fake_dir / MMLU_PRO
    path.parent.mkdir(parents=True)
    real.to_csv(path, index=False)
    report = {}
    assert len(mmlu_pro_table(fake_dir, report=report)) == 20 and report == {}
    bad = real.copy()
    bad.loc[6, "gemma-7b"] = "yes"
    bad.to_csv(path, index=False)
    with pytest.raises(AdapterError, match=r"mmlu_pro.csv.gz: row 7: column 'gemma-7b' is 'yes'"):
        mmlu_pro_table(fake_dir)
    bad = real.copy()
    bad.loc[3, "prompt"] = "  "
    bad.to_csv(path, index=False)
    assert len(mmlu_pro_table(fake_dir, report=report)) == 19
    assert report == {"mmlu-pro": {"rows without prompt text left out": 1}}
    real.drop(columns=["category"]).to_csv(path, index=False)
    with pytest.raises(AdapterError, match=r"missing columns \['category'\]"):
        mmlu_pro_table(fake_dir)
    real.assign(question_id="5").to_csv(path, index=False)
    with pytest.raises(AdapterError, match=r"mmlu-pro: row 2: duplicate key"):
        mmlu_pro_table(fake_dir)


def test_faithful_cot_matches_readme(data_dir):
    t = score_table("faithful-cot", data_dir)
    # explicit aliases only: known models merged, distinct ones kept apart
    assert canonical_model("Mistral-7B-Instruct-v0.2") == "mistralai/Mistral-7B-Instruct-v0.2"
    assert canonical_model("gpt-4o") == "gpt-4o" and canonical_model("Yi-34B") == "Yi-34B"
    assert len(t) == 3947 and t.tasks == ["AQUA", "ASDiv", "MultiArith", "SVAMP"]
    # undated gpt-4 stays its own model, never gpt-4-0314 (AlpacaEval's `gpt4`)
    assert t.models[0] == "gpt-4" and canonical_model("gpt-4") == "gpt-4"
    assert np.mean(t.scores("gpt-4")) == pytest.approx(0.936, abs=5e-4)
    svamp = t.subset(t.frame.task == "SVAMP")
    assert len(svamp) == 1000 and svamp.scores("code-davinci-001").mean() == pytest.approx(0.412)
    assert t.frame.key.iloc[0] == "SVAMP/0"


@pytest.mark.parametrize(
    ("name", "rows", "tasks", "codegemma"),
    [("llmrouter", 5385, 13, 0.310), ("llmrouter-test", 350, 7, 0.239)],
)
def test_llmrouter_matches_readme(data_dir, name, rows, tasks, codegemma):
    t = score_table(name, data_dir)
    assert len(t) == rows and len(t.tasks) == tasks and len(t.models) == 9
    # same model as MMLU-Pro's Meta-Llama-3.1-8B-Instruct, by the explicit alias table
    assert "Meta-Llama-3.1-8B-Instruct" in t.models
    assert t.scores("codegemma-7b").mean() == pytest.approx(codegemma, abs=5e-4)
    fractional = t.frame[t.models].apply(lambda c: ~c.isin([0.0, 1.0])).any(axis=1)
    assert set(t.frame.task[fractional]) <= {"natural_qa", "trivia_qa", "commongen"}
    assert fractional.any()


def test_llmrouter_train_task_counts_and_test_overlap(data_dir):
    train = score_table("llmrouter", data_dir).frame
    counts = train.task.value_counts()
    assert counts["gsm8k"] == 500 and counts["human_eval"] == 164 and counts["mmlu"] == 486
    test = score_table("llmrouter-test", data_dir).frame
    shared = test[test.prompt.isin(set(train.prompt))]  # documented in data/README.md
    assert shared.task.value_counts().to_dict() == {"human_eval": 50, "mbpp": 19, "gpqa": 3}


def test_faithful_cot_repeats_are_kept_and_reported(data_dir):
    report = {}
    t = score_table("faithful-cot", data_dir, report=report)
    assert report == {"faithful-cot": {"rows repeating an earlier row's prompt text (kept)": 79}}
    repeated = t.frame[t.frame.prompt.duplicated(keep=False)]
    both = repeated.groupby("prompt").task.agg(lambda s: tuple(sorted(set(s))))
    assert (both == ("ASDiv", "MultiArith")).sum() == 59


def test_vicuna_bench_grades_and_battles(data_dir):
    t = score_table("vicuna-bench", data_dir)
    assert len(t) == 78 and (t.low, t.high) == (1.0, 5.0)
    means = {m: round(float(t.scores(m).mean()), 2) for m in t.models}
    assert means == {"chat_gpt": 4.31, "llama-2-chat": 4.34, "vicuna": 3.87, "wizard": 4.15}
    report = {}
    b = load_sources("vicuna-bench", data_dir=data_dir, report=report)
    assert len(b) == 78 * 6 and report == {}
    q1 = t.frame.iloc[0]
    row = b.frame[(b.frame.prompt == q1.prompt) & (b.frame.model_a == "chat_gpt")]
    row = row[row.model_b == "vicuna"].iloc[0]
    expected = np.sign(q1["chat_gpt"] - q1["vicuna"])
    assert row.outcome == {1.0: "a_wins", -1.0: "b_wins", 0.0: "tie"}[expected]


def test_vicuna_pairwise_matches_readme(data_dir):
    b = load_vicuna_pairwise(data_dir).frame
    assert len(b) == 312 and set(b.model_b) == {"vicuna-13b"}
    wtl = {
        m: tuple(int((g.outcome == o).sum()) for o in ("a_wins", "tie", "b_wins"))
        for m, g in b.groupby("model_a")
    }
    assert wtl == {
        "alpaca-13b": (3, 1, 74),
        "bard": (29, 10, 39),
        "gpt-3.5-turbo": (43, 21, 14),
        "llama-13b": (3, 0, 75),
    }


def test_vicuna_pairwise_malformed(fake_dir):
    folder = fake_dir / "preferences/vicuna_bench"
    folder.mkdir(parents=True)
    (folder / "questions.jsonl").write_text('{"question_id": 1, "prompt": "hi"}\n')
    header = "prompt_id,model_1,model_2,score_1,score_2\n"
    (folder / "pairwise.csv").write_text(header + "1,a,b,8,9\n1,c,b,8,12\n")
    with pytest.raises(AdapterError, match=r"pairwise.csv: row 2: column 'score_2' is '12'"):
        load_vicuna_pairwise(fake_dir)
    (folder / "pairwise.csv").write_text(header + "1,a,b,8,9\n2,c,b,8,7\n")
    with pytest.raises(AdapterError, match=r"row 2: prompt_id not in questions.jsonl"):
        load_vicuna_pairwise(fake_dir)
    report = {}
    (folder / "pairwise.csv").write_text(header + "1,a,b,8,9\n1,c,b,,7\n")
    assert len(load_vicuna_pairwise(fake_dir, report=report)) == 1
    assert report == {"vicuna-pairwise": {"reviews without both grades left out": 1}}


def test_to_battles_by_hand():
    frame = pd.DataFrame(
        {
            "key": ["k1", "k2", "k3"],
            "prompt": ["p1", "p2", "p3"],
            "source": "x",
            "task": ["t", "t", "u"],
            "m1": [1.0, 0.5, np.nan],
            "m2": [0.0, 0.5, 1.0],
            "gpt4_1106_preview": [np.nan, 1.0, np.nan],
        }
    )
    t = ScoreTable("toy", frame)
    assert t.models == ["m1", "m2", DEFAULT_STRONG] and set(t.frame.source) == {"x"}
    report = {}
    f = t.to_battles(report=report).frame.sort_values(["prompt", "model_a", "model_b"])
    got = list(zip(f.prompt, f.model_a, f.model_b, f.outcome, strict=True))
    assert got == [
        ("p1", "m1", "m2", "a_wins"),
        ("p2", DEFAULT_STRONG, "m1", "a_wins"),  # alphabetical orientation
        ("p2", DEFAULT_STRONG, "m2", "a_wins"),
        ("p2", "m1", "m2", "tie"),
    ]
    assert report == {
        "toy": {
            "empty correctness left out (model skipped on that prompt)": 3,
            "prompts with fewer than 2 scored models (no battles)": 1,
        }
    }
    assert len(t.subset(t.frame.task == "t")) == 2
    with pytest.raises(ValueError, match=r"unknown: \['gpt-5'\]"):
        t.to_battles(["m1", "gpt-5"])
    with pytest.raises(ValueError, match="battles need >= 2 models"):
        t.to_battles(["m1", "m1"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"m1": [2.0, 0.0, 0.0]}, r"toy: row 1: column 'm1' is 2.0; expected a number in \[0, 1\]"),
        ({"task": ["t", "", "u"]}, r"toy: row 2: 'task' must be a non-empty string"),
        ({"m2": ["0", "x", "1"]}, r"toy: row 2: column 'm2' is 'x'"),
    ],
)
def test_score_table_validates(change, message):
    frame = pd.DataFrame(
        {"key": ["a", "b", "c"], "prompt": ["p", "q", "r"], "source": "x", "task": "t"}
    ).assign(m1=[1.0, 0.0, 1.0], m2=[0.0, 0.0, 1.0])
    with pytest.raises(AdapterError, match=message):
        ScoreTable("toy", frame.assign(**change))
    with pytest.raises(AdapterError, match="distinct canonical model columns"):
        ScoreTable("toy", frame.assign(gpt4_1106_preview=1.0, **{DEFAULT_STRONG: 1.0}))


def test_every_score_table_has_a_task_column_and_a_licence(data_dir):
    datasets = load_manifest()["datasets"]
    for name in SCORE_TABLES:
        t = score_table(name, data_dir)
        assert t.frame.task.map(lambda s: isinstance(s, str) and s != "").all(), name
        assert datasets[name.removesuffix("-gold")]["license"], name
    assert score_table("routerbench", data_dir).tasks == [
        "arc-challenge",
        "mbpp",
        "winogrande",
    ]
    with pytest.raises(KeyError, match="no score table 'mmlu'; valid: mmlu-pro"):
        score_table("mmlu", data_dir)


def test_new_sources_are_registered_with_licences(data_dir):
    datasets = load_manifest()["datasets"]
    for name in ("mmlu-pro", "faithful-cot", "llmrouter", "llmrouter-test", "vicuna-bench"):
        assert name in SOURCES and datasets[name]["license"]
    assert datasets["vicuna-pairwise"]["license"] == "Apache-2.0"
    report = {}
    b = load_sources("llmrouter-test,faithful-cot@0.5", data_dir=data_dir, report=report)
    summary = b.summary()
    assert summary.loc["llmrouter-test", "battles"] == 350 * 36
    assert summary.loc["faithful-cot", "battles"] == 3947 * 15
    assert summary.loc["faithful-cot", "weight"] == pytest.approx(3947 * 15 * 0.5)
    assert list(report) == ["faithful-cot"]  # only the kept repeats (see above)


def test_csv_slices_read_without_pandas_agree(data_dir):
    """The llmrouter test file re-read with the csv module: same scores, same order."""
    text = (data_dir / "gold/llmrouter/test.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    t = score_table("llmrouter-test", data_dir)
    assert t.frame.prompt.tolist() == [r["prompt"] for r in rows]
    assert t.scores("qwen2.5-7b-instruct").tolist() == [
        float(r["qwen2.5-7b-instruct"]) for r in rows
    ]


def test_concat_mixes_sources_for_leave_one_task_out(data_dir):
    parts = [score_table("llmrouter-test", data_dir), score_table("vicuna-bench", data_dir)]
    mixed = ScoreTable.concat(parts)
    assert len(mixed) == 350 + 78 and len(mixed.models) == 9 + 4
    assert (mixed.low, mixed.high, mixed.what) == (0.0, 5.0, "scores")
    assert mixed.frame.key.iloc[0] == "llmrouter-test/test/1"
    assert mixed.frame.source.value_counts().to_dict() == {
        "llmrouter-test": 350,
        "vicuna-bench": 78,
    }
    # a vicuna-bench prompt has no llmrouter scores: no cross-source battles
    assert np.isnan(mixed.scores("codegemma-7b")[-78:]).all()
    b = mixed.to_battles()
    assert len(b) == 350 * 36 + 78 * 6 and set(b.frame.source) == {"mixed"}
    held_out = mixed.subset(mixed.frame.task != "human_eval")
    assert len(held_out) == 428 - 50
