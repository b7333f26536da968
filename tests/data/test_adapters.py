"""Adapters into Battles: bundled real data (counts recomputed independently with the csv
module), public Chatbot Arena schemas on fixtures, the generic table, malformed input."""

from __future__ import annotations

import ast
import csv
import gzip
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routellm_py.data.adapters import (
    AdapterError,
    join_turns,
    load_alpaca_eval,
    load_arena_55k,
    load_arena_bench,
    load_arena_conversations,
    load_routerbench,
    load_table,
    routerbench_table,
)
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- bundled sources on the real data -------------------------------------------------------


@pytest.fixture(scope="module")
def arena_bench(data_dir):
    report = {}
    return load_arena_bench(data_dir, report=report), report


def test_arena_bench_counts_match_independent_pair_count(data_dir, arena_bench):
    battles, report = arena_bench
    scores = defaultdict(dict)
    with open(data_dir / "preferences/arena_bench_v1/judge_scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    empty = sum(1 for r in rows if r["score"] == "")
    for r in rows:
        if r["score"] != "":
            scores[r["question_id"]][r["model"]] = float(r["score"])
    n_battles = n_ties = 0
    for per_model in scores.values():
        for x, y in itertools.combinations(per_model.values(), 2):
            n_battles, n_ties = n_battles + 1, n_ties + (x == y)
    assert empty == 37  # README: "some scores are empty"
    assert report == {
        "arena-bench-v1": {"empty judge scores left out (model skipped on that prompt)": 37}
    }
    assert len(battles) == n_battles == 26828
    assert (battles.frame.outcome == "tie").sum() == n_ties == 6065
    assert battles.frame.p_a_wins.isna().all()
    assert battles.frame.prompt.nunique() == 300 and len(battles.models) == 14


def test_arena_bench_one_prompt_by_hand(data_dir, arena_bench):
    battles, _ = arena_bench
    qid = "66c00ddde3dc4128a14d6afd5e899342"  # the straight-line question
    questions = _jsonl(data_dir / "preferences/arena_bench_v1/questions.jsonl")
    prompt = next(q["prompt"] for q in questions if q["question_id"] == qid)
    with open(data_dir / "preferences/arena_bench_v1/judge_scores.csv", newline="") as fh:
        s = {r["model"]: float(r["score"]) for r in csv.DictReader(fh) if r["question_id"] == qid}
    mine = battles.frame[battles.frame.prompt == prompt]
    assert len(mine) == len(s) * (len(s) - 1) // 2
    llama = mine[(mine.model_a == "Llama-2-70b-chat") & (mine.model_b == "gpt-4-1106-preview")]
    expected = "a_wins" if s["Llama-2-70b-chat"] > s["gpt-4-1106-preview"] else "b_wins"
    if s["Llama-2-70b-chat"] == s["gpt-4-1106-preview"]:
        expected = "tie"
    assert llama.outcome.tolist() == [expected]
    assert s["Llama-2-70b-chat"] == 3  # first lines of the file, read by eye


def test_alpaca_eval_soft_labels_and_exclusions(data_dir):
    report = {}
    battles = load_alpaca_eval(data_dir, report=report)
    kept = out_of_range = self_play = 0
    with gzip.open(data_dir / "preferences/alpaca_eval/judgments.csv.gz", "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            pref = float(r["preference"])
            if not 1 <= pref <= 2:
                out_of_range += 1
            elif r["model_1"] == r["model_2"]:
                self_play += 1
            else:
                kept += 1
    assert (out_of_range, self_play) == (197, 1610)
    assert report["alpaca-eval"] == {
        "rows with preference empty or outside [1, 2] left out (not judgments)": 197,
        "rows with the same model on both sides left out": 1610,
    }
    f = battles.frame
    assert len(f) == kept == 108601 - 197 - 1610
    # first data row: prompt 0, gpt4_1106_preview vs Ein-70B-v0.1, preference 2.0 -> model_2 wins
    first = f.iloc[0]
    assert (first.model_a, first.model_b, first.p_a_wins, first.outcome) == (
        DEFAULT_STRONG,
        "Ein-70B-v0.1",
        0.0,
        "b_wins",
    )
    assert ((f.p_a_wins > 0.5) == (f.outcome == "a_wins")).all()
    assert ((f.p_a_wins == 0.5) == (f.outcome == "tie")).all()
    assert (f.outcome == "tie").sum() == 1817 - 1610  # 1.5 rows that are not self-play
    assert f.p_a_wins.between(0, 1).all() and f.source.eq("alpaca-eval").all()


def test_alpaca_eval_annotator_filter(data_dir):
    report = {}
    b = load_alpaca_eval(data_dir, annotators=["bedrock_claude"], report=report)
    # 805 bedrock_claude rows (text_davinci_003 vs bedrock_claude), 9 of them hold 0
    assert len(b) == 805 - 9
    assert set(b.frame.model_a) == {"text-davinci-003"}
    reasons = report["alpaca-eval"]
    assert reasons["rows of unselected annotators left out"] == 108601 - 805 - (197 - 9)
    with pytest.raises(ValueError, match="unknown annotators \\['nobody'\\]"):
        load_alpaca_eval(data_dir, annotators=["nobody"])


def _routerbench_expected(data_dir):
    """Battles and ties recomputed with csv + ast: merge rows by sample_id, all model pairs."""
    per_sample = defaultdict(dict)
    for path in sorted((data_dir / "gold/routerbench").glob("*_train.csv")):
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                for m, v in r.items():
                    meta = m in ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")
                    if not meta and "|" not in m and v != "":
                        per_sample[r["sample_id"]][m] = float(v)
    battles = ties = 0
    for scores in per_sample.values():
        for x, y in itertools.combinations(scores.values(), 2):
            battles, ties = battles + 1, ties + (x == y)
    return len(per_sample), battles, ties


def test_routerbench_counts_match_independent_count(data_dir):
    report = {}
    b = load_routerbench(data_dir, report=report)
    n_samples, n_battles, n_ties = _routerbench_expected(data_dir)
    assert n_samples == 2225 - 7
    assert len(b) == n_battles == 121885
    assert (b.frame.outcome == "tie").sum() == n_ties
    assert len(b.models) == 11 and DEFAULT_WEAK in b.models and DEFAULT_STRONG in b.models
    assert report["routerbench"] == {
        "rows merged into a row with the same sample_id": 7,
        "empty correctness left out (model skipped on that prompt)": 15,
        "prompts with fewer than 2 scored models (no battles)": 1,
    }
    pair = b.pair(DEFAULT_STRONG, DEFAULT_WEAK).frame
    assert len(pair) == b.frame.prompt.nunique()  # both models scored wherever 2+ are


def test_routerbench_turns_and_merge(data_dir):
    table = routerbench_table(data_dir)
    with open(data_dir / "gold/routerbench/arc_challenge_train.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["sample_id"] == "arc-challenge.val.208"]
    turns = [ast.literal_eval(r["prompt"]) for r in rows]
    assert sorted(len(t) for t in turns) == [1, 2] and turns[0][0] == turns[1][0]
    merged = table[table.key == "arc-challenge.val.208"]
    assert len(merged) == 1
    assert merged.prompt.iloc[0] == turns[0][0]  # the repeated turn is kept once
    assert merged.drop(columns=["key", "prompt"]).notna().all(axis=1).iloc[0]
    sub = load_routerbench(data_dir, models=["gpt4_1106_preview", "mistralai/mixtral-8x7b-chat"])
    assert set(sub.models) == {DEFAULT_STRONG, DEFAULT_WEAK}
    with pytest.raises(ValueError, match="unknown: \\['gpt-5'\\]"):
        load_routerbench(data_dir, models=["gpt-5", DEFAULT_STRONG])


def test_join_turns_policies():
    turns = ["a", None, "b", "b", "", "c"]
    assert join_turns(turns, "first") == "a"
    assert join_turns(turns, "last") == "c"
    assert join_turns(turns, "join") == "a\n\nb\n\nc"
    assert join_turns([None, " "], "join") == ""
    with pytest.raises(ValueError, match="turn policy"):
        join_turns(["a"], "middle")


# --- public Chatbot Arena schemas (fixtures) --------------------------------------------------


def test_arena_55k_fixture():
    b = load_arena_55k(FIXTURES / "arena_55k.csv")
    f = b.frame
    assert f.outcome.tolist() == ["a_wins", "b_wins", "tie", "a_wins"]
    assert f.prompt[0].startswith("Is it morally right")  # first of two turns
    assert f.model_b[3] == "mistralai/Mistral-7B-Instruct-v0.1"  # aliased
    assert f.prompt[3].endswith("¿Y en español?")
    joined = load_arena_55k(FIXTURES / "arena_55k.csv", turns="join").frame.prompt[0]
    assert joined.endswith("give me fun answer.") and "\n\n" in joined


def test_arena_55k_malformed(tmp_path):
    df = pd.read_csv(FIXTURES / "arena_55k.csv", dtype=str)
    bad = df.copy()
    bad.loc[2, "winner_model_a"] = "1"  # two winners on data row 3
    bad.to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(AdapterError, match=r"two.csv: row 3: exactly one of"):
        load_arena_55k(tmp_path / "two.csv")
    bad = df.copy()
    bad.loc[1, "prompt"] = "not json ["
    bad.to_csv(tmp_path / "json.csv", index=False)
    with pytest.raises(AdapterError, match=r"json.csv: row 2: prompt is not a JSON list"):
        load_arena_55k(tmp_path / "json.csv")
    df.drop(columns=["winner_tie"]).to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(AdapterError, match=r"missing columns \['winner_tie'\]"):
        load_arena_55k(tmp_path / "cols.csv")


def test_arena_55k_reports_empty_and_self_battles(tmp_path):
    df = pd.read_csv(FIXTURES / "arena_55k.csv", dtype=str)
    df.loc[0, "prompt"] = json.dumps([None])
    df.loc[1, "model_a"] = "gpt-4-0613"
    df.to_csv(tmp_path / "x.csv", index=False)
    report = {}
    b = load_arena_55k(tmp_path / "x.csv", report=report)
    assert len(b) == 2
    assert report["arena-55k"] == {
        "rows without prompt text left out": 1,
        "rows with the same model on both sides left out": 1,
    }


def test_arena_33k_and_clean_battle_fixtures():
    b = load_arena_conversations(FIXTURES / "arena_33k.jsonl")
    assert b.frame.outcome.tolist() == ["b_wins", "tie", "a_wins", "tie"]  # bothbad -> tie
    assert b.frame.prompt[1] == "Why did my parent not invite me to their wedding?"
    c = load_arena_conversations(FIXTURES / "clean_battle_conv.json", source="clean-battle")
    assert c.frame.prompt.tolist() == b.frame.prompt.tolist()[:3]
    assert c.frame.source.eq("clean-battle").all()
    records = _jsonl(FIXTURES / "arena_33k.jsonl")
    assert load_arena_conversations(records).frame.equals(b.frame)


def test_arena_conversations_parquet(tmp_path):
    records = _jsonl(FIXTURES / "arena_33k.jsonl")
    pd.DataFrame(records).to_parquet(tmp_path / "a.parquet")
    assert len(load_arena_conversations(tmp_path / "a.parquet")) == 4


def test_arena_conversations_malformed(tmp_path):
    with pytest.raises(AdapterError, match="simple.json: row 1: missing \\['conversation_a'\\]"):
        load_arena_conversations(FIXTURES / "clean_battle_simple.json")
    records = _jsonl(FIXTURES / "arena_33k.jsonl")
    records[2]["winner"] = "model_c"
    with pytest.raises(AdapterError, match="records: row 3: winner 'model_c' not in"):
        load_arena_conversations(records)
    records[2]["winner"] = "tie"
    records[1]["conversation_a"] = "hello"
    with pytest.raises(AdapterError, match="row 2: conversation_a is not JSON"):
        load_arena_conversations(records)
    (tmp_path / "x.txt").write_text("[]")
    with pytest.raises(AdapterError, match="unsupported extension '.txt'"):
        load_arena_conversations(tmp_path / "x.txt")


# --- the generic table --------------------------------------------------------------------------


def test_generic_csv_and_jsonl_fixtures():
    f = load_table(FIXTURES / "custom_prefs.csv").frame
    assert f.model_a.tolist() == [DEFAULT_STRONG] * 3
    assert f.model_b.tolist()[:2] == [DEFAULT_WEAK] * 2
    assert f.outcome.tolist() == ["a_wins", "tie", "b_wins"]
    assert f.weight.tolist() == [1.0, 2.5, 1.0]
    assert f.prompt[2] == "NA"  # not read as a missing value
    g = load_table(FIXTURES / "custom_prefs.jsonl", source="mine").frame
    assert g.outcome.tolist() == ["a_wins", "tie", "b_wins"]
    np.testing.assert_allclose(g.p_a_wins, [0.8, 0.5, 0.1])
    assert g.source.tolist() == ["mine", "team-labels", "mine"]


def _frame(**cols):
    base = {"prompt": ["p1", "p2"], "model_a": ["m1", "m1"], "model_b": ["m2", "m3"]}
    return pd.DataFrame({**base, **cols})


@pytest.mark.parametrize(
    ("cols", "message"),
    [
        ({"outcome": ["a_wins", "won"]}, r"row 2: outcome must be one of"),
        ({"winner": ["model_a", "a"]}, r"row 2: winner must be one of"),
        ({"p_a_wins": [0.2, 1.5]}, r"row 2: p_a_wins must lie in \[0, 1\]"),
        ({"p_a_wins": [0.2, "high"]}, r"row 2: p_a_wins is not a number"),
        ({"outcome": ["a_wins", "b_wins"], "p_a_wins": [0.9, 0.7]}, r"row 2: outcome/winner dis"),
        ({"outcome": ["a_wins", None], "p_a_wins": [0.9, None]}, r"row 2: no label"),
        ({"outcome": ["a_wins", "tie"], "weight": [1, 0]}, r"row 2: weight must be"),
    ],
)
def test_generic_rejects_bad_rows(cols, message):
    with pytest.raises(AdapterError, match=message):
        load_table(_frame(**cols))


def test_generic_missing_columns_are_listed(tmp_path):
    with pytest.raises(AdapterError, match=r"missing columns \['model_b', 'outcome or winner or"):
        load_table(pd.DataFrame({"prompt": ["p"], "model_a": ["m"]}))
    with pytest.raises(FileNotFoundError, match="no such preference file"):
        load_table(tmp_path / "absent.csv")
    with pytest.raises(AdapterError, match=r"row 1: model_a must be a non-empty string"):
        load_table(_frame(outcome=["tie", "tie"], model_a=["", "m1"]))


def test_hub_ids_fail_clearly_when_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="lmsys-arena-human-preference-55k.*local path"):
        load_arena_55k("hf:lmsys/lmsys-arena-human-preference-55k")
    with pytest.raises(FileNotFoundError, match="chatbot_arena_conversations.*parquet"):
        load_arena_conversations("hf:lmsys/chatbot_arena_conversations")


# --- malformed bundled files --------------------------------------------------------------------


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)


def test_arena_bench_malformed(fake_dir):
    questions = "preferences/arena_bench_v1/questions.jsonl"
    _write(fake_dir, questions, '{"question_id": "q1", "prompt": "hi"}\n')
    scores = "preferences/arena_bench_v1/judge_scores.csv"
    _write(fake_dir, scores, "question_id,model,score\nq1,m1,7\nq1,m2,11\n")
    with pytest.raises(
        AdapterError,
        match=r"judge_scores.csv: row 2: column 'score' is '11'; expected a number in \[1, 10\]",
    ):
        load_arena_bench(fake_dir)
    _write(fake_dir, scores, "question_id,model,score\nq1,m1,7\nq9,m2,5\n")
    with pytest.raises(AdapterError, match=r"row 2: question_id not in questions.jsonl"):
        load_arena_bench(fake_dir)
    _write(fake_dir, questions, '{"question_id": "q1"}\n')
    with pytest.raises(AdapterError, match=r"questions.jsonl: line 1: missing keys \['prompt'\]"):
        load_arena_bench(fake_dir)


def test_alpaca_eval_malformed(fake_dir):
    _write(fake_dir, "preferences/alpaca_eval/prompts.jsonl", '{"prompt_id": 0, "prompt": "hi"}\n')
    header = "prompt_id,model_1,model_2,preference,annotator,output_1_chars,output_2_chars\n"
    path = fake_dir / "preferences/alpaca_eval/judgments.csv.gz"
    for body, message in [
        ("0,a,b,1.0,x,1,1\n0,a,b,abc,x,1,1\n", r"row 2: preference is not a number"),
        ("0,a,b,1.0,x,1,1\n7,a,b,1.0,x,1,1\n", r"row 2: prompt_id not in prompts.jsonl"),
    ]:
        path.write_bytes(gzip.compress((header + body).encode()))
        with pytest.raises(AdapterError, match=message):
            load_alpaca_eval(fake_dir)
    path.write_bytes(gzip.compress((header + "0,a,b,0,x,1,1\n").encode()))
    with pytest.raises(AdapterError, match="no usable battles left"):
        load_alpaca_eval(fake_dir)  # the only row holds 0: not a judgment, never a win


@pytest.mark.parametrize(
    ("prompt", "value", "message"),
    [
        ('"[\'unterminated"', "1", r"row 1: prompt is not a Python list literal"),
        ("\"__import__('os').system('true')\"", "1", r"row 1: prompt is not a Python list"),
        ('"[1, 2]"', "1", r"row 1: prompt must be a list of strings"),
        ("\"['ok']\"", "2", r"row 1: column 'm1' is '2'; expected 0, 1 or empty"),
    ],
)
def test_routerbench_malformed(fake_dir, prompt, value, message):
    _write(
        fake_dir,
        "gold/routerbench/x_train.csv",
        f"sample_id,prompt,eval_name,m1,m2\ns1,{prompt},arc,{value},0\n",
    )
    with pytest.raises(AdapterError, match=message):
        load_routerbench(fake_dir)
