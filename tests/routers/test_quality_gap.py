"""The quality-gap router: trains on quality samples with a tiny random BERT, learns which
prompts the small model handles, round-trips through a checkpoint, reads real quality data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py.data.battles import Battles
from routellm_py.routers import quality_gap
from routellm_py.routers.base import get_router_class, load_router
from routellm_py.routers.quality_gap import QualityGapRouter
from tests.tiny_models import FRUIT, VEHICLES, tiny_config, tiny_tokenizer

SMALL, LARGE = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory) -> str:
    """A randomly initialised tiny BERT with a word-level tokenizer, saved as a backbone folder."""
    import torch
    from transformers import BertModel

    tok = tiny_tokenizer([*FRUIT, *VEHICLES, "a", "b", "c", "d", "e", "f", "g", "h"])
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-bert")
    BertModel(tiny_config("bert", len(tok))).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def easy_hard(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Easy (fruit) prompts: the small model is as good as the large (H = 0); hard
    (vehicle) prompts: H = -5. Alternating easy, hard."""
    rng = np.random.default_rng(seed)
    prompts, small, large = [], [], []
    for i in range(n):
        prompts += [" ".join(rng.choice(words, size=2 + i % 3)) for words in (FRUIT, VEHICLES)]
        small += [8.0, 3.0]
        large += [8.0, 8.0]
    return prompts, np.array(small), np.array(large)


@pytest.fixture(scope="module")
def trained(tiny_backbone) -> QualityGapRouter:
    prompts, small, large = easy_hard(16)
    router = QualityGapRouter(
        weak_model=SMALL,
        strong_model=LARGE,
        labels="det",
        backbone=tiny_backbone,
        lr=1e-2,
        epochs=3,
        batch_size=8,
        max_length=32,
        val_fraction=0.0,
        progress=False,
    )
    return router.fit_quality(prompts, small, large)


def test_registered_and_params_become_config(trained) -> None:
    assert get_router_class("quality_gap") is QualityGapRouter
    params = trained.get_params()
    assert params["labels"] == "det" and params["quality"] == "judge"
    assert trained.provenance["labels"]["mode"] == "det"
    assert trained.provenance["labels"]["mean_label"] == pytest.approx(0.5)


def test_learns_to_send_hard_prompts_to_the_large_model(trained) -> None:
    prompts, _, _ = easy_hard(5, seed=100)  # prompts not seen in training
    w = trained.win_rate(prompts)
    easy, hard = w[0::2], w[1::2]
    assert hard.min() > easy.max()
    np.testing.assert_allclose(w, 1.0 - trained.small_probability(prompts))
    cut = (hard.min() + easy.max()) / 2
    assert trained.route_batch(prompts, cut) == ["weak", "strong"] * 5


def test_checkpoint_round_trip_keeps_scores_and_t_star(trained, tmp_path) -> None:
    prompts, _, _ = easy_hard(3, seed=200)
    trained.save(tmp_path / "qg")
    config = json.loads((tmp_path / "qg" / "config.json").read_text())
    assert config["router"] == "quality_gap" and config["params"]["labels"] == "det"
    assert config["provenance"]["labels"]["t_star"] == 0.0
    assert list((tmp_path / "qg" / "model").glob("*.safetensors"))
    assert not list((tmp_path / "qg").rglob("*.bin")) and not list((tmp_path / "qg").rglob("*.pkl"))
    loaded = load_router(tmp_path / "qg")
    assert isinstance(loaded, QualityGapRouter) and loaded.t_star == 0.0
    np.testing.assert_allclose(loaded.win_rate(prompts), trained.win_rate(prompts), atol=1e-6)


def test_trans_labels_record_t_star(tiny_backbone) -> None:
    # gaps -4, -4, -1, 0 -> t* = 1 balances the labels (see test_labels).
    router = QualityGapRouter(
        backbone=tiny_backbone, epochs=1, val_fraction=0.0, max_length=16, progress=False
    )
    router.fit_quality(["a b", "c d", "e f", "g h"], [1.0, 1, 1, 5], [5.0, 5, 2, 5])
    assert router.t_star == 1.0
    assert router.provenance["labels"]["mean_label"] == pytest.approx(0.5)


def test_parameter_vocabulary_is_the_quality_labs() -> None:
    """The router spells the label modes, quality kinds and BART default itself (serving never
    imports `routellm_py.quality`); they must be the quality package's own."""
    from routellm_py import quality
    from routellm_py.quality.bartscore import DEFAULT_BART

    assert quality_gap.LABEL_MODES == quality.LABEL_MODES
    assert (*quality.QUALITY_KINDS, "battles") == quality_gap.ROUTER_QUALITY
    assert quality_gap.DEFAULT_BART == DEFAULT_BART


def test_untrained_router_says_so() -> None:
    with pytest.raises(RuntimeError, match="no weights"):
        QualityGapRouter().win_rate(["hello"])


@pytest.mark.parametrize(
    ("kw", "match"), [({"labels": "soft"}, "labels"), ({"quality": "x"}, "quality")]
)
def test_bad_params_are_rejected(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        QualityGapRouter(**kw)


def arena_battles(data_dir, n: int) -> Battles:
    questions = [
        json.loads(x) for x in (data_dir / "preferences/arena_bench_v1/questions.jsonl").open()
    ]
    return Battles(
        pd.DataFrame(
            {
                "prompt": [q["prompt"] for q in questions[:n]],
                "model_a": LARGE,
                "model_b": "gpt-4-0314",
                "outcome": "tie",
                "p_a_wins": np.nan,
                "source": "arena-bench-v1",
                "weight": 1.0,
            }
        )
    )


def test_quality_samples_come_from_the_battles_sources(data_dir) -> None:
    scores = pd.read_csv(data_dir / "preferences/arena_bench_v1/judge_scores.csv")
    questions = [
        json.loads(x) for x in (data_dir / "preferences/arena_bench_v1/questions.jsonl").open()
    ]
    ids = [q["question_id"] for q in questions[:40]]
    wide = scores[scores.question_id.isin(ids)].pivot(
        index="question_id", columns="model", values="score"
    )
    both = wide[[SMALL, LARGE]].dropna()
    router = QualityGapRouter(strong_model=LARGE, weak_model=SMALL)
    s = router.quality_samples(arena_battles(data_dir, 40), data_dir)
    assert len(s) == len(both) and router.provenance["quality"][
        "n_prompts_without_scores"
    ] == 40 - len(both)
    i = s.keys.index(both.index[0])
    assert (s.small[i, 0], s.large[i, 0]) == (both[SMALL].iloc[0], both[LARGE].iloc[0])


def test_a_source_without_that_quality_kind_is_explained(data_dir) -> None:
    router = QualityGapRouter(quality="judge", quality_data="routerbench")
    with pytest.raises(ValueError, match="--quality-data"):
        router.quality_samples(arena_battles(data_dir, 5), data_dir)


def test_battles_quality_labels_are_the_share_weak_won_or_tied() -> None:
    rows = [
        ("p1", "a_wins", np.nan),
        ("p1", "tie", np.nan),  # a tie means q(S) >= q(L): counts for the small model
        ("p2", "b_wins", np.nan),
        ("p3", "a_wins", 0.3),  # soft label: P(strong better) = 0.3
    ]
    battles = Battles(
        pd.DataFrame(
            {
                "prompt": [r[0] for r in rows],
                "model_a": LARGE,
                "model_b": SMALL,
                "outcome": [r[1] for r in rows],
                "p_a_wins": [r[2] for r in rows],
                "source": "csv",
                "weight": 1.0,
            }
        )
    )
    router = QualityGapRouter(
        strong_model=LARGE, weak_model=SMALL, quality="battles", labels="prob"
    )
    prompts, targets, weights = router.training_rows(battles)
    assert prompts == ["p1", "p2", "p3"]
    np.testing.assert_allclose(targets[:, 1], [0.5, 1.0, 0.7])
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    np.testing.assert_allclose(weights, [2.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="labels='prob'"):
        QualityGapRouter(quality="battles", labels="trans")


def test_cli_train_on_arena_bench_judge_scores(
    tiny_backbone, data_dir, tmp_path, monkeypatch
) -> None:
    from routellm_py.cli import main

    monkeypatch.setenv("ROUTELLM_PY_DATA", str(data_dir))  # fit reads the quality scores there
    out = tmp_path / "qg"
    argv = ["train", "quality_gap", "--labels", "trans", "--quality", "judge"]
    argv += ["--data", "arena-bench-v1", "--data-dir", str(data_dir), "--out", str(out)]
    argv += [
        "--backbone",
        tiny_backbone,
        "--epochs",
        "1",
        "--max-examples",
        "20",
        "--max-length",
        "64",
    ]
    argv += ["--no-progress"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["params"]["labels"] == "trans" and config["params"]["quality"] == "judge"
    # Mixtral vs GPT-4-1106 on arena-bench-v1: 293 prompts graded for both; t* = 1 (see report).
    assert config["provenance"]["quality"]["n_scored"] == 293
    assert config["provenance"]["labels"]["t_star"] == 1.0
    assert config["provenance"]["training"]["n_prompts"] == 20
    assert load_router(out).win_rate(["hello there"]).shape == (1,)
