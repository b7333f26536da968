"""SW ranking router: the batched weighted Bradley-Terry solver, weights, training, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from routellm_py import load_router
from routellm_py.data.battles import Battles
from routellm_py.data.tiers import fit_bradley_terry
from routellm_py.routers.sw_ranking import SWRankingRouter, solve_bradley_terry

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
MATH = [f"solve the integral number {i} step by step" for i in range(6)]
POEM = [f"write a short poem about flower {i}" for i in range(6)]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


def battles(rows: list[tuple[str, str, str, str]], source: str = "synthetic") -> Battles:
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    return Battles(frame.assign(p_a_wins=np.nan, source=source, weight=1.0))


def topical_battles() -> Battles:
    """The strong model beats the weak one on math prompts and loses on poems; two more
    models give the global order strong > big > weak > small."""
    rows = []
    for p in MATH:
        rows += [(p, STRONG, WEAK, "a_wins")] * 3 + [(p, WEAK, STRONG, "b_wins")]
    for p in POEM:
        rows += [(p, STRONG, WEAK, "b_wins")] * 2 + [(p, STRONG, WEAK, "tie")]
    for p in MATH + POEM:
        rows += [(p, STRONG, "big", "a_wins"), (p, "big", WEAK, "a_wins")]
        rows += [(p, "big", "small", "a_wins"), (p, WEAK, "small", "a_wins")]
    return battles(rows)


def test_two_player_solution_is_the_log_odds():
    # 3 wins in 4 games: the MLE is theta_0 - theta_1 = ln 3; a tiny prior barely moves it
    theta = solve_bradley_terry(np.array([[3.0]]), np.array([[4.0]]), np.array([[0, 1]]), 2, 1e-8)
    assert theta[0, 0] - theta[0, 1] == pytest.approx(np.log(3.0), abs=1e-6)


def test_solver_matches_the_mm_fit_and_is_batch_independent():
    rng = np.random.default_rng(0)
    pairs = np.array([(i, j) for i in range(4) for j in range(i + 1, 4)])
    games = rng.integers(5, 20, size=(3, len(pairs))).astype(float)
    wins = np.floor(games * rng.uniform(0.2, 0.8, size=games.shape))
    batch = solve_bradley_terry(wins, games, pairs, 4, prior=1.0)
    for b in range(3):
        alone = solve_bradley_terry(wins[b : b + 1], games[b : b + 1], pairs, 4, prior=1.0)
        np.testing.assert_allclose(batch[b], alone[0], atol=1e-10)
    # cross-check problem 0 against data.tiers' minorisation-maximisation fit (prior 0 vs ~0)
    rows = []
    for (i, j), w, g in zip(pairs, wins[0], games[0], strict=True):
        rows += [("p", f"m{i}", f"m{j}", "a_wins")] * int(w)
        rows += [("p", f"m{i}", f"m{j}", "b_wins")] * int(g - w)
    mm = fit_bradley_terry(battles(rows), prior=0.0, scale="log")
    ours = solve_bradley_terry(wins[:1], games[:1], pairs, 4, prior=1e-9)[0]
    ref = np.array([mm[f"m{k}"] for k in range(4)])
    np.testing.assert_allclose(ours - ours.mean(), ref - ref.mean(), atol=1e-5)


def test_prior_is_required():
    with pytest.raises(ValueError, match="prior"):
        solve_bradley_terry(np.ones((1, 1)), np.ones((1, 1)), np.array([[0, 1]]), 2, prior=0)


def test_similarity_weights_follow_routellm():
    router = SWRankingRouter(encoder="hashing:256", labels="pair").fit(
        topical_battles(), progress=False
    )
    q = router.embed([MATH[0]])
    w = router.similarity_weights(q)
    sims = q @ router._prompt_emb.T
    np.testing.assert_allclose(w, 10 * 10 ** (sims / sims.max()), rtol=1e-5)
    assert w.max() == pytest.approx(100.0, rel=1e-5)  # the most similar prompt gets 10 * 10


@pytest.mark.parametrize("labels", ["pair", "tiers"])
def test_router_learns_topical_preferences(labels):
    router = SWRankingRouter(encoder="hashing:256", labels=labels, n_tiers=4)
    router.fit(topical_battles(), progress=False)
    wr = router.win_rate(["solve the integral of x squared", "write a poem about a flower"])
    assert wr[0] > 0.5 > wr[1]
    single = router.win_rate(["write a poem about a flower"])
    assert single[0] == pytest.approx(wr[1], abs=1e-12)  # batching changes nothing


def test_tiers_and_report():
    router = SWRankingRouter(encoder="hashing:256", n_tiers=3).fit(
        topical_battles(), progress=False
    )
    # global BT order strong > big > weak >> small; tier 0 is the best
    assert router.player_of == {STRONG: 0, "big": 0, WEAK: 1, "small": 2}
    rep = router.training_report
    assert rep["per_source"]["synthetic"] == {"battles": 90, "ties": 6, "used": 90}
    f = topical_battles().frame
    same = f.model_a.map(router.player_of) == f.model_b.map(router.player_of)
    assert rep["same_player_battles_ignored"] == int(same.sum())
    pair = SWRankingRouter(encoder="hashing:256", labels="pair", ties="drop").fit(
        topical_battles(), progress=False
    )
    assert pair.training_report["n_battles"] == 6 * 4 + 6 * 2  # only the pair, ties dropped
    assert pair.training_report["per_source"]["synthetic"]["ties"] == 6


def test_checkpoint_roundtrip_and_model_scores(tmp_path):
    router = SWRankingRouter(encoder="hashing:256", n_tiers=3).fit(
        topical_battles(), progress=False
    )
    router.save(tmp_path / "sw")
    assert sorted(p.name for p in (tmp_path / "sw").iterdir()) == [
        "README.md",
        "config.json",
        "provenance.npz",
        "sw_ranking.json",
        "sw_ranking.safetensors",
    ]
    card = (tmp_path / "sw" / "README.md").read_text()
    assert "routellm-py train sw_ranking --data 'SOURCES' --out" in card and "--n-tiers 3" in card
    assert "| synthetic | 90 | 6 | 90 | user-supplied |" in card
    meta = json.loads((tmp_path / "sw" / "sw_ranking.json").read_text())
    assert meta["encoder"]["id"] == "hashing:256|max_words=512"
    loaded = load_router(tmp_path / "sw")
    prompts = ["solve an integral", "poem about a flower please"]
    np.testing.assert_array_equal(loaded.win_rate(prompts), router.win_rate(prompts))
    scores = loaded.model_scores(prompts, [STRONG, WEAK])
    np.testing.assert_allclose(
        1 / (1 + np.exp(scores[:, 1] - scores[:, 0])), router.win_rate(prompts)
    )
    with pytest.raises(ValueError, match="unknown model 'gpt-5'.*known models"):
        loaded.model_scores(prompts, ["gpt-5"])


def test_provenance_record_embeds_each_training_prompt_once(monkeypatch):
    """The record reuses the rows fit embedded and embeds only the prompts fit left out
    (here one that no strong-vs-weak battle holds)."""
    extra = "a prompt only the big and the small model met"
    data = Battles.concat([topical_battles(), battles([(extra, "big", "small", "a_wins")])])
    router = SWRankingRouter(encoder="hashing:256", labels="pair")
    encoder = router.get_encoder()
    encoded: list[str] = []
    encode = encoder.encode
    monkeypatch.setattr(
        encoder, "encode", lambda texts, **kw: encoded.extend(texts) or encode(texts, **kw)
    )
    router.fit(data, progress=False)
    prompts = sorted(MATH + POEM + [extra])
    assert sorted(encoded) == prompts and "fit_embedded" not in vars(router)
    expected = router.embed(prompts).astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(router.prompt_record.embeddings(), expected, atol=1e-3)
    assert router.provenance["n_prompts"] == len(prompts)


def test_bad_training_data_is_explained():
    with pytest.raises(ValueError, match="strong model .* is in no training battle"):
        SWRankingRouter(strong_model="gpt-5", encoder="hashing:64").fit(topical_battles())
    ties_only = battles([(p, STRONG, WEAK, "tie") for p in MATH])
    with pytest.raises(ValueError, match="no battles left"):
        SWRankingRouter(encoder="hashing:64", labels="pair", ties="drop").fit(ties_only)
    with pytest.raises(ValueError, match="labels must be one of"):
        SWRankingRouter(labels="elo")
    with pytest.raises(RuntimeError, match="not trained"):
        SWRankingRouter(encoder="hashing:64").win_rate(["hi"])


def test_all_ties_give_even_odds():
    ties_only = battles([(p, STRONG, WEAK, "tie") for p in MATH + POEM])
    router = SWRankingRouter(encoder="hashing:64", labels="pair").fit(ties_only, progress=False)
    np.testing.assert_allclose(router.win_rate(["anything at all"]), 0.5, atol=1e-9)


def test_real_arena_bench_tiers(data_dir):
    from routellm_py.data.sources import load_sources

    real = load_sources("arena-bench-v1", data_dir=data_dir)
    router = SWRankingRouter(encoder="hashing:256").fit(real, progress=False)
    assert router.player_of[STRONG] == 0  # GPT-4-turbo is the best-graded model there
    assert router.player_of[WEAK] > 0
    wr = router.win_rate(["Explain quantum tunnelling to a child.", "Fix this SQL query."])
    assert np.all((wr > 0.5) & (wr < 1.0))


@pytest.mark.slow
def test_shipped_checkpoint():
    router = load_router("sw_ranking")  # found under the repository's routers/
    assert router.name == "sw_ranking" and router.labels == "task-difficulty"
    assert router.player_of == {STRONG: 0, WEAK: 1}
    assert router.policy.spec == "tail:1000" and router.encoder == "model2vec-minilm"
    assert router._prompt_emb.shape[1] == router.encoder_config["dim"] == 256
    assert router.training_report["n_prompts_stored"] > 15_000
    assert sum(f.stat().st_size for f in router.checkpoint_dir.iterdir()) < 20 * 2**20
    card = (router.checkpoint_dir / "README.md").read_text()
    assert "## Benchmark results" in card and "CC BY-NC 4.0" in card
    # a few-shot prompt and its twin with another final question differ (tail policy)
    prefix = "Q: what is 2 + 2?\nA: 4\n\n" * 100
    wr = router.win_rate([prefix + "Q: capital of France?", prefix + "Q: prove Fermat's theorem"])
    assert wr[0] != wr[1]
