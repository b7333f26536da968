"""RouteLLM's released routers load into this project's routers and give RouteLLM's win rates.

Each fixture is written in the exact published layout with tiny dimensions; the expected
win rate is a re-statement, in this test, of RouteLLM's scoring code. Prompt embeddings come
from an OpenAI-compatible embeddings server on 127.0.0.1 (`fake_openai`), through the
project's API encoder and the real openai client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import save_file

from routellm_py import load_router
from routellm_py.compat import routellm as C
from routellm_py.compat import routellm_sw as SW
from tests.ecosystem.fake_openai import FakeEmbeddings, vector

DIM, TEXT_DIM = 4, 8
ENCODER = f"openai:test-embedding-{TEXT_DIM}"
PROMPTS = ["What is the capital of France?", "Prove that sqrt(2) is irrational.", "hi"]


@pytest.fixture
def embeddings_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEmbeddings]:
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))  # never the shared cache
    with FakeEmbeddings() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield fake


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ---- matrix factorisation ----------------------------------------------------------------
def write_mf_checkpoint(d: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """RouteLLM's MFModel as PyTorchModelHubMixin saves it: config.json + model.safetensors."""
    rng = np.random.default_rng(seed)
    t = {
        "P.weight": rng.standard_normal((64, DIM)).astype(np.float32),
        "text_proj.0.weight": rng.standard_normal((DIM, TEXT_DIM)).astype(np.float32),
        "classifier.0.weight": rng.standard_normal((1, DIM)).astype(np.float32),
    }
    d.mkdir(parents=True)
    cfg = {"dim": DIM, "num_models": 64, "text_dim": TEXT_DIM, "num_classes": 1, "use_proj": True}
    (d / "config.json").write_text(json.dumps(cfg))
    save_file(t, str(d / "model.safetensors"))
    return t


def routellm_mf_win_rate(t: dict[str, np.ndarray], prompt: str, a: int, b: int) -> float:
    """MFModel.pred_win_rate: sigmoid(logit_a - logit_b), logit_m = classifier(normalize(P_m)
    * text_proj(embedding)), the embedding as the API returned it."""
    e = vector(prompt, TEXT_DIM).astype(np.float64)
    proj = t["text_proj.0.weight"].astype(np.float64) @ e
    logits = []
    for m in (a, b):
        p = t["P.weight"][m].astype(np.float64)
        logits.append(float(t["classifier.0.weight"][0] @ (p / np.linalg.norm(p) * proj)))
    return sigmoid(logits[0] - logits[1])


def test_mf_matches_routellm(tmp_path: Path, embeddings_api: FakeEmbeddings) -> None:
    t = write_mf_checkpoint(tmp_path / "mf_gpt4_augmented")
    router = C.load_routellm_mf(tmp_path / "mf_gpt4_augmented", encoder=ENCODER)
    got = router.win_rate(PROMPTS)
    # RouteLLM's MODEL_IDS: gpt-4-1106-preview = 24, mixtral-8x7b-instruct-v0.1 = 36
    want = [routellm_mf_win_rate(t, p, 24, 36) for p in PROMPTS]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert embeddings_api.requests, "embeddings came from the API"
    # another pair of RouteLLM's models, by their RouteLLM names
    other = C.load_routellm_mf(
        tmp_path / "mf_gpt4_augmented", "claude-2.1", "llama-2-70b-chat", encoder=ENCODER
    )
    want = [routellm_mf_win_rate(t, p, 7, 30) for p in PROMPTS]
    np.testing.assert_allclose(other.win_rate(PROMPTS), want, atol=1e-6)
    # saved in this project's format, it loads with load_router and scores the same, once the
    # user allows its embedding API (a checkpoint never sends prompts anywhere by itself)
    native = router.save(tmp_path / "native")
    with pytest.raises(C.CheckpointError, match="allow_remote_encoder"):
        load_router(native)
    again = load_router(native, allow_remote_encoder=True)
    np.testing.assert_allclose(again.win_rate(PROMPTS), got, atol=1e-6)


def test_mf_without_api_key_says_so(tmp_path: Path, embeddings_api, monkeypatch) -> None:
    write_mf_checkpoint(tmp_path / "mf")
    monkeypatch.delenv("OPENAI_API_KEY")
    router = C.load_routellm_mf(tmp_path / "mf", encoder="openai:text-embedding-3-small")
    with pytest.raises(ValueError, match="OPENAI_API_KEY is not set"):
        router.win_rate(["a prompt nobody embedded before"])


def test_mf_bad_layout_names_the_file(tmp_path: Path) -> None:
    t = write_mf_checkpoint(tmp_path / "mf")
    del t["classifier.0.weight"]
    save_file(t, str(tmp_path / "mf" / "model.safetensors"))
    with pytest.raises(C.CheckpointError, match=r"model.safetensors lacks tensors \['classifier"):
        C.load_routellm_mf(tmp_path / "mf", encoder=ENCODER)


# ---- similarity-weighted ranking -----------------------------------------------------------
SW_MODELS = [
    "gpt-4-1106-preview",
    "claude-2.1",
    "mixtral-8x7b-instruct-v0.1",
    "llama-2-70b-chat",
    "vicuna-13b",
    "alpaca-13b",
]


def write_sw_datasets(root: Path, n: int = 120, seed: int = 0) -> tuple[Path, Path, list[str]]:
    """The arena battle layout (prompt = JSON list of turns, winner_model_a/_b/_tie) in two
    parquet shards, and the matching embeddings dataset (column `embeddings`, one row per
    battle that survives RouteLLM's 16-character filter)."""
    rng = np.random.default_rng(seed)
    strength = {m: s for m, s in zip(SW_MODELS, [3.0, 2.6, 0.5, 0.2, -1.5, -1.8], strict=True)}
    rows, prompts = [], []
    for k in range(n):
        a, b = rng.choice(len(SW_MODELS), size=2, replace=False)
        ma, mb = SW_MODELS[a], SW_MODELS[b]
        text = f"question {k}: " + " ".join(rng.choice(["math", "code", "poem", "fact"], 3))
        if k % 17 == 5:
            text = "short"  # dropped by RouteLLM's filter (< 16 chars)
        p = sigmoid(strength[ma] - strength[mb])
        u = rng.random()
        win_a, win_b = (1, 0) if u < 0.8 * p else (0, 1) if u < 0.8 else (0, 0)
        rows.append(
            {
                "id": k,
                "model_a": ma,
                "model_b": mb,
                "prompt": json.dumps([text, "second turn"]),
                "response_a": "[]",
                "response_b": "[]",
                "winner_model_a": win_a,
                "winner_model_b": win_b,
                "winner_tie": int(win_a == win_b == 0),
            }
        )
        if len(text) >= 16:
            prompts.append(text)
    battles = root / "battles" / "data"
    battles.mkdir(parents=True)
    df = pd.DataFrame(rows)
    df.iloc[: n // 2].to_parquet(battles / "train-00000-of-00002.parquet")
    df.iloc[n // 2 :].to_parquet(battles / "train-00001-of-00002.parquet")
    emb = root / "embeddings"
    emb.mkdir()
    vecs = [(vector(p, TEXT_DIM) * 1.7).tolist() for p in prompts]  # cosine ignores the norm
    pd.DataFrame({"embeddings": vecs}).to_parquet(emb / "train.parquet")
    return root / "battles", emb, prompts


def restated_elo(df: pd.DataFrame, weight: np.ndarray | None) -> pd.Series:
    """compute_elo_mle_with_tie: every battle twice; a win is two wins, a tie one each way;
    in the design matrix model_b's -log(10) overwrites model_a's +log(10) in one column.
    Fitted to convergence (RouteLLM leaves scikit-learn's default tolerance)."""
    from sklearn.linear_model import LogisticRegression

    players = pd.unique(pd.concat([df["model_a"], df["model_b"]]))
    col = {p: i for i, p in enumerate(players)}
    x, y, w = [], [], []
    for copy in (0, 1):
        for r, (a, b, winner) in enumerate(df[["model_a", "model_b", "winner"]].itertuples(False)):
            row = np.zeros(len(players))
            row[col[a]] = math.log(10)
            row[col[b]] = -math.log(10)
            x.append(row)
            y.append(1.0 if winner == "model_a" or (winner == "tie" and copy == 0) else 0.0)
            w.append(1.0 if weight is None else weight[r])
    lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-12, max_iter=100_000)
    lr.fit(np.array(x), np.array(y), sample_weight=np.array(w))
    return pd.Series(400 * lr.coef_[0] + 1000, index=players).sort_values(ascending=False)


def restated_tiers(ratings: pd.Series, m: int) -> dict[str, int]:
    """compute_tiers: the split of the sorted ratings into m runs with the least summed
    variance, by exhaustive search over split points (first minimum in lexicographic order)."""
    from itertools import combinations, pairwise

    r = ratings.to_numpy()
    best, best_cuts = math.inf, None
    for cuts in combinations(range(1, len(r)), m - 1):
        bounds = [0, *cuts, len(r)]
        cost = sum(np.var(r[s:e]) if e - s > 1 else 0.0 for s, e in pairwise(bounds))
        if cost < best - 1e-12:
            best, best_cuts = cost, bounds
    return {name: t for t, (s, e) in enumerate(pairwise(best_cuts)) for name in ratings.index[s:e]}


def test_sw_matches_routellm(tmp_path: Path, embeddings_api: FakeEmbeddings) -> None:
    battles, emb, prompts = write_sw_datasets(tmp_path)
    router = SW.load_routellm_sw([battles], [emb], n_tiers=3, encoder=ENCODER)
    queries = ["question about math code", "write me a poem please", prompts[3]]
    got = router.win_rate(queries)

    df = pd.concat(pd.read_parquet(f) for f in sorted((battles / "data").glob("*.parquet")))
    first = df["prompt"].map(lambda s: json.loads(s)[0].strip())
    df = df[first.str.len() >= 16].reset_index(drop=True)
    df["winner"] = np.where(
        df.winner_model_a == 1, "model_a", np.where(df.winner_model_b == 1, "model_b", "tie")
    )
    tiers = restated_tiers(restated_elo(df, None), 3)
    assert tiers == SW.routellm_tiers(SW.elo_mle(df), 3)
    tiered = df.assign(model_a=df.model_a.map(tiers), model_b=df.model_b.map(tiers))
    assert (tiered.model_a == tiered.model_b).any(), "fixture exercises same-tier battles"
    stored = np.asarray(pd.read_parquet(emb / "train.parquet")["embeddings"].tolist())
    want = []
    for q in queries:
        e = vector(q, TEXT_DIM).astype(np.float64)
        sims = stored @ e / (np.linalg.norm(stored, axis=1) * np.linalg.norm(e))
        res = restated_elo(tiered, 10 * 10 ** (sims / sims.max()))
        strong, weak = res[tiers["gpt-4-1106-preview"]], res[tiers["mixtral-8x7b-instruct-v0.1"]]
        want.append(1 - 1 / (1 + 10 ** ((strong - weak) / 400)))
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(got) > 1e-3, "the queries get different win rates"


def test_sw_mismatched_embeddings_are_an_error(tmp_path: Path) -> None:
    battles, emb, _ = write_sw_datasets(tmp_path)
    pd.DataFrame({"embeddings": [[0.0] * TEXT_DIM]}).to_parquet(emb / "train.parquet")
    with pytest.raises(ValueError, match=r"battles .* but 1 embeddings"):
        SW.load_routellm_sw([battles], [emb], n_tiers=3, encoder=ENCODER)


# ---- BERT classifier ---------------------------------------------------------------------
def test_bert_matches_routellm(tmp_path: Path) -> None:
    """A 3-label sequence classifier folder (save_pretrained + tokenizer), tiny and seeded."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
    )

    from routellm_py.embeddings.encoders import bundled_minilm_path

    tok = AutoTokenizer.from_pretrained(bundled_minilm_path())
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
        initializer_range=0.5,  # spread-out logits, so prompts get different win rates
    )
    d = tmp_path / "bert_gpt4_augmented"
    BertForSequenceClassification(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    router = C.load_routellm_bert(d)
    prompts = [*PROMPTS, "past the tokenizer's length limit " * 200]
    got = router.win_rate(prompts)

    model = AutoModelForSequenceClassification.from_pretrained(d, num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(d)
    want = []
    for p in prompts:  # BERTRouter.calculate_strong_win_rate, one prompt at a time
        with torch.no_grad():
            logits = model(**tokenizer(p, return_tensors="pt", truncation=True)).logits[0]
        soft = torch.softmax(logits.double(), dim=-1).numpy()
        want.append(1 - soft[-2:].sum())
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(got) > 1e-4
    again = load_router(router.save(tmp_path / "native"))
    np.testing.assert_allclose(again.win_rate(prompts), got, atol=1e-6)


# ---- causal LLM --------------------------------------------------------------------------
LABELS = [f"[[{k}]]" for k in range(1, 6)]


def write_causal_checkpoint(d: Path) -> None:
    """A tiny Llama with label tokens [[1]]..[[5]] last in the vocabulary, its tokenizer and
    RouteLLM's two message files (system_ft_v5.txt, classifier_ft_v5.txt)."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from routellm_py.embeddings.encoders import bundled_minilm_path
    from tests.tiny_models import tiny_config

    tok = AutoTokenizer.from_pretrained(bundled_minilm_path())
    headers = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok.add_tokens(headers, special_tokens=True)
    tok.add_tokens(LABELS, special_tokens=True)
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_config("llama", len(tok)))
    with torch.no_grad():  # make label tokens likely, so greedy decoding emits them
        model.lm_head.weight[-5:] *= 40.0
    model.save_pretrained(d)
    tok.save_pretrained(d)
    (d / "system_ft_v5.txt").write_text("[Instruction]\nRate the question from 1 to 5.\n")
    (d / "classifier_ft_v5.txt").write_text("[Question]\n{question}\n\nPrediction:\n")


def routellm_causal_win_rate(d: Path, prompt: str) -> float:
    """CausalLLMRouter.calculate_strong_win_rate with CausalLLMClassifier, score_threshold 4."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    system = (d / "system_ft_v5.txt").read_text().strip()
    question = (d / "classifier_ft_v5.txt").read_text().format(question=prompt).strip()
    text = (
        f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
        f"<|start_header_id|>user<|end_header_id|>\n\n{question}<|eot_id|>"
    )
    ids = torch.tensor([tok.encode(text)])
    out = model.generate(
        ids,
        max_new_tokens=6,
        do_sample=False,
        pad_token_id=tok.eos_token_id,
        output_scores=True,
        return_dict_in_generate=True,
    )
    orig = len(tok) - 5
    new = out.sequences[0, ids.shape[1] :]
    first = [i for i, t in enumerate(new.tolist()) if t >= orig]
    if not first:
        return 1.0
    logits = out.scores[first[0]][0][orig:].double().numpy()
    soft = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    return 1.0 - soft[3:].sum()


def test_causal_llm_matches_routellm(tmp_path: Path) -> None:
    from routellm_py.compat.routellm_causal import load_routellm_causal

    d = tmp_path / "causal_llm_gpt4_augmented"
    write_causal_checkpoint(d)
    router = load_routellm_causal(d)
    prompts = [*PROMPTS, "Summarise the plot of Hamlet in one line."]
    got = router.win_rate(prompts)
    want = [routellm_causal_win_rate(d, p) for p in prompts]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert all(router.label_probs(p) is not None for p in prompts), "labels were generated"
    assert np.ptp(got) > 1e-4
    again = load_router(router.save(tmp_path / "pointer"))  # records the weights' folder
    np.testing.assert_allclose(again.win_rate(prompts[:2]), got[:2], atol=1e-9)
