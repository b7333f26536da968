"""The --data spec: parsing, weights, registry errors, mmlu-gold, bundled prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.data.sources import (
    SOURCES,
    SourceSpec,
    bundled_prompts,
    load_sources,
    parse_spec,
    register_source,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_parse_spec_names_paths_weights():
    assert parse_spec(" arena-bench-v1 , alpaca-eval@0.5,csv:/tmp/a@b.csv,jsonl:x.jsonl@2") == [
        SourceSpec("arena-bench-v1"),
        SourceSpec("alpaca-eval", None, 0.5),
        SourceSpec("csv", "/tmp/a@b.csv", 1.0),  # '@b.csv' is not a weight: part of the path
        SourceSpec("jsonl", "x.jsonl", 2.0),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("arena", r"unknown data source 'arena'; valid: arena-bench-v1, alpaca-eval"),
        ("csv", r"source 'csv' needs a file: write csv:PATH"),
        ("routerbench:/x.csv", r"bundled and takes no path"),
        ("routerbench@0", r"weight must be a finite number > 0"),
        ("routerbench@-1", r"weight must be a finite number > 0"),
        ("routerbench,,alpaca-eval", r"empty item"),
        ("routerbench,routerbench@2", r"names a source twice"),
        ("", r"empty data spec"),
    ],
)
def test_parse_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


def test_load_sources_weights_and_labels(data_dir):
    custom = f"csv:{FIXTURES / 'custom_prefs.csv'}@3"
    b = load_sources(f"arena-bench-v1@0.5,{custom}", data_dir=data_dir)
    summary = b.summary()
    assert summary.loc["arena-bench-v1", "battles"] == 26828
    assert summary.loc["arena-bench-v1", "weight"] == pytest.approx(26828 * 0.5)
    assert summary.loc["csv:custom_prefs.csv", "weight"] == pytest.approx(3 * (1 + 2.5 + 1))


def test_mmlu_gold_is_the_gold_split(data_dir):
    b = load_sources("mmlu-gold", data_dir=data_dir)
    gold = load_benchmark("mmlu", data_dir).split_gold()[1]
    assert len(b) == len(gold) == 1500
    assert b.frame.prompt.tolist() == gold.prompts
    assert set(b.frame.model_a) == {DEFAULT_STRONG} and set(b.frame.model_b) == {DEFAULT_WEAK}
    s, w = gold.scores(DEFAULT_STRONG), gold.scores(DEFAULT_WEAK)
    assert (b.frame.outcome == "a_wins").sum() == ((s == 1) & (w == 0)).sum()
    assert b.frame.source.eq("mmlu-gold").all()
    # another pair: the strong model is oriented as model_a
    swapped = load_sources("mmlu-gold", data_dir=data_dir, strong=DEFAULT_WEAK, weak=DEFAULT_STRONG)
    assert (swapped.frame.outcome == "b_wins").sum() == ((s == 1) & (w == 0)).sum()


def test_register_source_is_one_line_and_rejects_duplicates():
    register_source(
        "fixture-55k",
        lambda c: SOURCES["arena-55k"].load(c),
        takes_path=True,
        help="test",
    )
    try:
        b = load_sources(f"fixture-55k:{FIXTURES / 'arena_55k.csv'}")
        assert len(b) == 4 and b.frame.source.eq("fixture-55k:arena_55k.csv").all()
        with pytest.raises(ValueError, match="already registered"):
            register_source("fixture-55k", lambda c: None, takes_path=True, help="")
    finally:
        del SOURCES["fixture-55k"]


def test_feedback_source_is_registered_by_the_feedback_package(monkeypatch):
    """data/ imports nothing above it: `feedback:` exists once `routellm_py.feedback.battles`
    is imported, and before that the error names the module to import."""
    import routellm_py.feedback.battles as fb

    assert SOURCES["feedback"].load is fb.load_feedback and SOURCES["feedback"].takes_path
    monkeypatch.delitem(SOURCES, "feedback")
    with pytest.raises(ValueError, match="registered by routellm_py.feedback.battles: import it"):
        parse_spec("feedback:sqlite:///fb.db")
    with pytest.raises(ValueError, match="unknown data source 'nope'"):
        parse_spec("nope")


def test_bundled_prompts(data_dir):
    prompts = bundled_prompts(data_dir)
    path = data_dir / "preferences/arena_bench_v1/questions.jsonl"
    questions = [json.loads(line)["prompt"] for line in path.read_text().splitlines()]
    assert prompts[:300] == questions
    assert len(prompts) == len(set(prompts)) == 300 + 805 + 2218  # 2,225 rows, 7 merged
    assert all(p.strip() for p in prompts)
