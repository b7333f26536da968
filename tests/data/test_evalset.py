"""Users' eval sets (csv/jsonl/parquet): parsed like the built-in benchmarks, evaluated by the
same harness (decontamination, table, significance), bad files named by file, row, column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import metrics as M
from routellm_py.benchmarks import harness as H
from routellm_py.data.adapters import AdapterError, load_table
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.data.evalset import load_eval_set
from routellm_py.routers.base import load_router
from routellm_py.routers.provenance import record_fit


@pytest.fixture(scope="module")
def gsm_slice(data_dir) -> pd.DataFrame:
    """60 real GSM8K prompts with both models' correctness, as a user would export them."""
    gsm = load_benchmark("gsm8k", data_dir).frame.iloc[100:160]
    return pd.DataFrame(
        {
            "prompt": gsm["prompt"].to_numpy(),
            "strong_score": gsm[DEFAULT_STRONG].astype(int).to_numpy(),
            "weak_score": gsm[DEFAULT_WEAK].astype(int).to_numpy(),
        }
    )


def _write(frame: pd.DataFrame, path, fmt: str) -> str:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))
    else:
        frame.to_parquet(path)
    return f"{fmt}:{path}"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_three_formats_give_the_same_benchmark(gsm_slice, tmp_path, fmt):
    b = load_eval_set(_write(gsm_slice, tmp_path / f"mine.{fmt}", fmt))
    assert b.name == "eval-mine" and b.score_kind == "correct" and len(b) == 60
    assert b.prompts == gsm_slice["prompt"].tolist()
    np.testing.assert_array_equal(b.scores(DEFAULT_STRONG), gsm_slice["strong_score"])
    np.testing.assert_array_equal(b.scores("mistralai/mixtral-8x7b-chat"), gsm_slice["weak_score"])
    assert b.frame["prompt_id"].tolist()[:2] == ["1", "2"] and set(b.frame.category) == {"eval"}


def test_routellm_csv_with_model_columns_and_true_false(data_dir):
    """A RouteLLM response CSV (model-named True/False columns) is an eval set as it is."""
    path = data_dir / "benchmarks/mmlu/responses/mmlu_anatomy.csv"
    b = load_eval_set(f"csv:{path}")
    mmlu = load_benchmark("mmlu", data_dir).frame
    anatomy = mmlu[mmlu.category == "anatomy"]
    assert len(b) == len(anatomy) == 135
    for m in (DEFAULT_STRONG, DEFAULT_WEAK):
        np.testing.assert_array_equal(b.scores(m), anatomy[m].to_numpy())


def test_graded_scores_and_other_models(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text("prompt,gpt-4o,llama,category\nhi,9,7.5,chat\nbye,8,8,chat\nhow,10,2,code\n")
    b = load_eval_set(f"csv:{path}", strong="gpt-4o", weak="llama")
    assert b.score_kind == "graded" and b.frame.category.tolist() == ["chat", "chat", "code"]
    np.testing.assert_array_equal(b.scores("llama"), [7.5, 8, 2])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "prompt,strong_score,weak_score\na,1,0\nb,1,maybe\n",
            r"bad.csv: row 2: column 'weak_score' is 'maybe'; expected a finite number",
        ),
        (
            "prompt,strong_score,weak_score\na,1,0\nb,,1\n",
            r"bad.csv: row 2: column 'strong_score' is empty",
        ),
        (
            "prompt,strong_score,weak_score\na,1,0\n ,1,1\n",
            r"bad.csv: row 2: column 'prompt' is empty",
        ),
        (
            "prompt,strong_score,weak_score\na,inf,0\nb,1,1\n",
            r"row 1: column 'strong_score' is 'inf'",
        ),
        ("prompt,strong,weak_score\na,1,0\n", r"bad.csv: needs score columns \['strong_score'"),
        ("text,strong_score,weak_score\na,1,0\n", r"bad.csv: missing column 'prompt'"),
        ("prompt,strong_score,weak_score\na,1,0\n", r"bad.csv: needs at least 2 prompts, has 1"),
    ],
)
def test_bad_csv_names_file_row_column(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(AdapterError, match=message):
        load_eval_set(f"csv:{path}")


def test_bad_jsonl_parquet_and_specs(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "strong_score": 1, "weak_score": 0}\n{"prompt": "b",\n')
    with pytest.raises(AdapterError, match=r"bad.jsonl: line 2: not valid JSON"):
        load_eval_set(f"jsonl:{path}")
    path.write_text(
        '{"prompt": "a", "strong_score": 1, "weak_score": 0}\n'
        '{"prompt": "b", "strong_score": [1], "weak_score": 0}\n'
    )
    with pytest.raises(AdapterError, match=r"row 2: column 'strong_score' is \[1\]"):
        load_eval_set(f"jsonl:{path}")
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(AdapterError, match=r"x.parquet: cannot be read as parquet"):
        load_eval_set(f"parquet:{tmp_path / 'x.parquet'}")
    with pytest.raises(ValueError, match="must be FORMAT:PATH with FORMAT one of csv, jsonl"):
        load_eval_set(f"xlsx:{path}")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_eval_set(f"csv:{tmp_path / 'none.csv'}")


def test_harness_on_an_eval_set_matches_the_metrics(gsm_slice, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    spec = _write(gsm_slice, tmp_path / "mine.csv", "csv")
    train = tmp_path / "train.csv"
    pd.DataFrame(
        {
            "prompt": gsm_slice["prompt"].iloc[[3, 7]],
            "model_a": DEFAULT_STRONG,
            "model_b": DEFAULT_WEAK,
            "outcome": "a_wins",
        }
    ).to_csv(train, index=False)
    trained = load_router("random", seed=1)  # any router with recorded training prompts
    record_fit(trained, load_table(train))
    routers = {"random": load_router("random"), "trained": trained}
    res = H.run_benchmark(
        routers,
        benchmarks=[load_eval_set(spec)],
        data_dir=data_dir,
        out=tmp_path / "out",
        progress=False,
        encoder_spec="hashing:1024",
    )["eval-mine"]
    # decontaminated against the training prompts like a built-in benchmark
    assert res.dropped == {"gold": 0, "train_cosine": 2} and res.n_evaluated == 58
    kept = gsm_slice.drop(index=[3, 7])
    assert res.prompts == kept["prompt"].tolist()
    s, w = kept["strong_score"].to_numpy(float), kept["weak_score"].to_numpy(float)
    table = res.table.set_index("router")
    assert table.index.tolist() == ["random", "trained", "length", "oracle", "random (expected)"]
    rates = load_router("random").win_rate(res.prompts)
    assert table.loc["random", "APGR"] == pytest.approx(M.apgr(M.routed_curve(rates, s, w)))
    assert res.random_band == M.percentile_interval(M.random_apgrs(s, w))
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"eval-mine.csv", "eval-mine.png"}
