"""Load lm-sys RouteLLM's released routers (Ong et al. 2024) as this project's routers, so the
same weights and the same embeddings give the same win rate as RouteLLM's code.

Published formats (read from RouteLLM's `routellm/routers/`):

mf   `routellm/mf_gpt4_augmented`: `MFModel` (PyTorchModelHubMixin): config.json
     {dim, num_models, text_dim, num_classes, use_proj}, model.safetensors with `P.weight`
     (num_models, dim), `text_proj.0.weight` (dim, text_dim), `classifier.0.weight` (1, dim).
     Model ids: `MF_MODELS` (RouteLLM's MODEL_IDS, in id order). Prompt embedding: OpenAI
     `text-embedding-3-small`. win = sigmoid(s_strong - s_weak),
     s_m = classifier(normalize(P_m) * text_proj(e)); identical to `MFRouter`.
sw   battles `lmsys/lmsys-arena-human-preference-55k` + `routellm/gpt4_judge_battles`
     (model_a, model_b, prompt = JSON list of turns, winner_model_a, winner_model_b), kept
     where the first turn has >= 16 characters; embeddings `routellm/arena_battles_embeddings`
     + `routellm/gpt4_judge_battles_embeddings` (column `embeddings`, one row per kept battle,
     text-embedding-3-small). Models are grouped into 10 tiers (`routellm_tiers`) by the
     unweighted Elo MLE; a query weights battle b by 10 * 10^(cos(q, b) / max_b cos) and
     refits the tier Elo (logistic regression without penalty on each battle twice: a win
     is two wins, a tie one win each way); win = 1 / (1 + 10^((R_weak - R_strong) / 400)).
     In RouteLLM's design matrix a battle between two models of one tier keeps only the
     -log(10) entry: it is a game of that tier against a player fixed at rating 0. Here that
     player is the extra player `SW_ANCHOR`, so `SWRankingRouter`'s Newton solver fits the
     same likelihood; `prior` (default 1e-6 games) keeps the problem strictly concave.
bert `routellm/bert_gpt4_augmented`: an `AutoModelForSequenceClassification` with 3 labels
     (0 = strong wins, 1 = tie, 2 = weak wins); win = 1 - p_1 - p_2 = p_0 (`tie_share=0`);
     the tokenizer truncates at its `model_max_length`.

The MF and SW routers embed with `openai:text-embedding-3-small` (`APIEncoder`, cached):
set OPENAI_API_KEY. OpenAI's vectors have unit norm, which this project's encoders also
enforce, so the scores are RouteLLM's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.data.aliases import canonical_model
from routellm_py.routers.base import HUB_PREFIX, CheckpointError

ROUTELLM_STRONG = "gpt-4-1106-preview"
ROUTELLM_WEAK = "mixtral-8x7b-instruct-v0.1"
EMBEDDING_ENCODER = "openai:text-embedding-3-small"
MF_REPO = f"{HUB_PREFIX}routellm/mf_gpt4_augmented"
BERT_REPO = f"{HUB_PREFIX}routellm/bert_gpt4_augmented"
SW_BATTLES = (
    f"{HUB_PREFIX}lmsys/lmsys-arena-human-preference-55k",
    f"{HUB_PREFIX}routellm/gpt4_judge_battles",
)
SW_EMBEDDINGS = (
    f"{HUB_PREFIX}routellm/arena_battles_embeddings",
    f"{HUB_PREFIX}routellm/gpt4_judge_battles_embeddings",
)
SW_MIN_LEN = 16  # RouteLLM's preprocess_battles: first turns shorter than this are dropped
SW_ANCHOR = "(routellm same-tier anchor)"
ELO_SCALE, ELO_BASE = 400.0, 10.0
# RouteLLM's MODEL_IDS (routellm/routers/matrix_factorization/model.py), index = model id.
MF_MODELS = [
    "RWKV-4-Raven-14B",
    "alpaca-13b",
    "chatglm-6b",
    "chatglm2-6b",
    "chatglm3-6b",
    "claude-1",
    "claude-2.0",
    "claude-2.1",
    "claude-instant-1",
    "codellama-34b-instruct",
    "deepseek-llm-67b-chat",
    "dolly-v2-12b",
    "dolphin-2.2.1-mistral-7b",
    "falcon-180b-chat",
    "fastchat-t5-3b",
    "gemini-pro",
    "gemini-pro-dev-api",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0314",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-4-0125-preview",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-1106-preview",
    "gpt4all-13b-snoozy",
    "guanaco-33b",
    "koala-13b",
    "llama-13b",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
    "llama-2-7b-chat",
    "llama2-70b-steerlm-chat",
    "mistral-7b-instruct",
    "mistral-7b-instruct-v0.2",
    "mistral-medium",
    "mixtral-8x7b-instruct-v0.1",
    "mpt-30b-chat",
    "mpt-7b-chat",
    "nous-hermes-2-mixtral-8x7b-dpo",
    "oasst-pythia-12b",
    "openchat-3.5",
    "openchat-3.5-0106",
    "openhermes-2.5-mistral-7b",
    "palm-2",
    "pplx-70b-online",
    "pplx-7b-online",
    "qwen-14b-chat",
    "qwen1.5-4b-chat",
    "qwen1.5-72b-chat",
    "qwen1.5-7b-chat",
    "solar-10.7b-instruct-v1.0",
    "stablelm-tuned-alpha-7b",
    "starling-lm-7b-alpha",
    "stripedhyena-nous-7b",
    "tulu-2-dpo-70b",
    "vicuna-13b",
    "vicuna-33b",
    "vicuna-7b",
    "wizardlm-13b",
    "wizardlm-70b",
    "yi-34b-chat",
    "zephyr-7b-alpha",
    "zephyr-7b-beta",
]


def local_dir(source: str | Path, revision: str | None = None, repo_type: str = "model") -> Path:
    """A local directory for `source`: a path as is, `hf:OWNER/NAME[@REV]` via the Hub cache."""
    if isinstance(source, str) and source.startswith(HUB_PREFIX):
        from routellm_py.hub import download_snapshot

        return download_snapshot(source, revision, repo_type=repo_type)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a path or {HUB_PREFIX}OWNER/NAME")
    return path


# ---- matrix factorisation ----------------------------------------------------------------
def load_routellm_mf(
    source: str | Path = MF_REPO,
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    encoder: str = EMBEDDING_ENCODER,
    revision: str | None = None,
) -> Any:
    """RouteLLM's `MFModel` checkpoint (directory or hub id) as an `MFRouter`."""
    from safetensors.numpy import load_file

    from routellm_py.routers.mf import MFRouter

    d = local_dir(source, revision)
    cfg = _read_json(d / "config.json")
    weights = d / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{d} has no model.safetensors (RouteLLM's MFModel layout)")
    t = load_file(str(weights))
    need = {"P.weight", "classifier.0.weight"} | (
        {"text_proj.0.weight"} if cfg["use_proj"] else set()
    )
    if need - set(t):
        raise CheckpointError(f"{weights} lacks tensors {sorted(need - set(t))}; has {sorted(t)}")
    if cfg.get("num_classes", 1) != 1:
        raise CheckpointError(f"{d}: num_classes={cfg['num_classes']}; RouteLLM's MF uses 1")
    n_models, dim = t["P.weight"].shape
    if n_models > len(MF_MODELS):
        raise CheckpointError(
            f"{d}: {n_models} models, RouteLLM's MODEL_IDS names {len(MF_MODELS)}"
        )
    proj = t["text_proj.0.weight"] if cfg["use_proj"] else np.eye(dim, dtype=np.float32)
    models = [canonical_model(m) for m in MF_MODELS[:n_models]]
    if len(set(models)) != len(models):
        raise CheckpointError("two RouteLLM model names map to one canonical name; see aliases")
    router = MFRouter(strong_model, weak_model, encoder=encoder, dim=int(dim))
    router.models = models
    router._set_weights(t["P.weight"], proj, t["classifier.0.weight"])
    _attach_encoder(router, int(proj.shape[1]))
    for m in (router.strong_model, router.weak_model):
        router._column(m)  # unknown model names raise, listing the known ones
    router.provenance = {"converted_from": f"RouteLLM MFModel {source}", "revision": revision}
    return router


def _attach_encoder(router: Any, dim: int) -> None:
    """Record the encoder an embedding router was trained with (its spec, with dim `dim`)."""
    enc = router.get_encoder()
    router.encoder_config = {
        "spec": enc.spec,
        "id": enc.id,
        "dim": dim,
        "truncation": enc.truncation,
    }


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    return json.loads(path.read_text())


# ---- BERT classifier ---------------------------------------------------------------------
def load_routellm_bert(
    source: str | Path = BERT_REPO,
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    revision: str | None = None,
) -> Any:
    """RouteLLM's BERT router (a 3-label sequence classifier folder) as a `BertRouter`."""
    from routellm_py.routers.bert import BertRouter

    d = local_dir(source, revision)
    cfg = _read_json(d / "config.json")
    if len(cfg.get("id2label", {0: 0, 1: 1, 2: 2})) != 3:
        raise CheckpointError(
            f"{d}: RouteLLM's BERT router has 3 labels, config has {cfg['id2label']}"
        )
    router = BertRouter(strong_model, weak_model, backbone=str(d), tie_share=0.0, progress=False)
    router._model, router._tokenizer = router._load_hf(d)
    router._model.eval()
    limit = int(getattr(router._tokenizer, "model_max_length", 512))
    router.max_length = limit if limit <= 100_000 else 512  # tokenizer(truncation=True)
    router.provenance = {"converted_from": f"RouteLLM BERTRouter {source}", "revision": revision}
    return router


# ---- similarity-weighted ranking -----------------------------------------------------------
def read_battles(sources: Sequence[str | Path]) -> Any:
    """RouteLLM's `preprocess_battles` over the concatenated sources: columns model_a,
    model_b, winner (model_a / model_b / tie), rows whose first turn has < 16 chars dropped."""
    import pandas as pd

    frames = [_read_table(f) for s in sources for f in _data_files(s, "dataset")]
    df = pd.concat(frames, ignore_index=True)
    need = {"model_a", "model_b", "prompt", "winner_model_a", "winner_model_b"}
    if need - set(df.columns):
        raise ValueError(f"battles lack columns {sorted(need - set(df.columns))}")
    first = df["prompt"].map(lambda s: json.loads(s)[0].strip())
    winner = np.where(
        df["winner_model_a"] == 1, "model_a", np.where(df["winner_model_b"] == 1, "model_b", "tie")
    )
    out = pd.DataFrame({"model_a": df["model_a"], "model_b": df["model_b"], "winner": winner})
    return out[first.str.len().to_numpy() >= SW_MIN_LEN].reset_index(drop=True)


def read_embeddings(sources: Sequence[str | Path]) -> np.ndarray:
    """The `embeddings` column of the embedding datasets, concatenated, (n, dim) float32."""
    rows = [
        np.asarray(_read_table(f)["embeddings"].tolist(), dtype=np.float32)
        for s in sources
        for f in _data_files(s, "dataset")
    ]
    return np.concatenate(rows)


def _data_files(source: str | Path, repo_type: str) -> list[Path]:
    """A file as is; a directory or hub dataset: its .parquet/.csv/.jsonl files, sorted (the
    order `datasets.load_dataset` concatenates shards in)."""
    path = local_dir(source, repo_type=repo_type)
    if path.is_file():
        return [path]
    files = sorted(
        f for f in path.rglob("*") if f.suffix in (".parquet", ".csv", ".jsonl") and f.is_file()
    )
    if not files:
        raise FileNotFoundError(f"{path} holds no .parquet, .csv or .jsonl data files")
    return files


def _read_table(path: Path) -> Any:
    import pandas as pd

    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True)


def elo_mle(battles: Any, sample_weight: np.ndarray | None = None) -> dict[str, float]:
    """RouteLLM's `compute_elo_mle_with_tie` (scikit-learn logistic regression, no penalty,
    no intercept, each battle twice): rating per player, Elo scale (400 per factor of 10)."""
    from sklearn.linear_model import LogisticRegression

    players = list(dict.fromkeys([*battles["model_a"], *battles["model_b"]]))
    col = {p: i for i, p in enumerate(players)}
    n = len(battles)
    x = np.zeros((2 * n, len(players)))
    a = np.tile(battles["model_a"].map(col).to_numpy(), 2)
    b = np.tile(battles["model_b"].map(col).to_numpy(), 2)
    x[np.arange(2 * n), a] = math.log(ELO_BASE)
    x[np.arange(2 * n), b] = -math.log(ELO_BASE)
    winner = np.tile(battles["winner"].to_numpy(), 2)
    y = (winner == "model_a").astype(float)
    y[:n][winner[:n] == "tie"] = 1.0
    w = None if sample_weight is None else np.tile(sample_weight, 2)
    # C=inf is scikit-learn's spelling of RouteLLM's penalty=None (deprecated since 1.8)
    lr = LogisticRegression(fit_intercept=False, C=np.inf).fit(x, y, sample_weight=w)
    return dict(zip(players, ELO_SCALE * lr.coef_[0] + 1000.0, strict=True))


def routellm_tiers(ratings: dict[str, float], n_tiers: int) -> dict[str, int]:
    """RouteLLM's `compute_tiers`: split the models, sorted by rating (best first), into
    `n_tiers` contiguous groups minimising the summed within-group variance (dynamic
    programming; the first minimal split wins). Tier 0 holds the best models."""
    names = sorted(ratings, key=ratings.get, reverse=True)
    r = np.array([ratings[m] for m in names])
    n = len(r)
    var = np.zeros((n, n))  # var[i, j] = variance of r[i..j]
    for i in range(n):
        for j in range(i + 1, n):
            var[i, j] = np.var(r[i : j + 1])
    best = np.zeros((n, n_tiers))  # best[j, t]: cost of r[0..j] in t+1 tiers
    best[:, 0] = var[0]
    split = np.zeros((n, n_tiers), dtype=int)
    for t in range(1, n_tiers):
        for j in range(1, n):
            cost = best[:j, t - 1] + var[1 : j + 1, j]
            split[j, t] = int(np.argmin(cost)) if cost.min() < 1e9 else 0
            best[j, t] = min(cost.min(), 1e9)
    edges, cur = [], n
    for t in range(n_tiers - 1, 0, -1):
        edges.append(int(split[cur - 1, t]))
        cur = edges[-1] + 1
    edges = [*edges[::-1], n - 1]
    tiers, start = {}, 0
    for tier, end in enumerate(edges):
        for k in range(start, end + 1):
            tiers[names[k]] = tier
        start = end + 1
    return tiers


def load_routellm_sw(
    battles: Sequence[str | Path] = SW_BATTLES,
    embeddings: Sequence[str | Path] = SW_EMBEDDINGS,
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    n_tiers: int = 10,
    encoder: str = EMBEDDING_ENCODER,
    prior: float = 1e-6,
) -> Any:
    """RouteLLM's SW ranking router over its battle and embedding datasets, as an
    `SWRankingRouter` (players = RouteLLM's tiers plus `SW_ANCHOR`; see the module doc)."""
    from routellm_py.routers.sw_ranking import SWRankingRouter

    df = read_battles(battles)
    emb = read_embeddings(embeddings)
    if len(df) != len(emb):
        raise ValueError(
            f"{len(df)} battles (after RouteLLM's >= {SW_MIN_LEN}-char filter) but {len(emb)} "
            "embeddings: the battle and embedding datasets must be the matching pairs, in order"
        )
    tier_of = routellm_tiers(elo_mle(df), n_tiers)
    player_of = {canonical_model(m): t for m, t in tier_of.items()}
    if len(player_of) != len(tier_of):
        raise ValueError("two RouteLLM model names map to one canonical name; see aliases")
    anchor = max(tier_of.values()) + 1
    ta = df["model_a"].map(tier_of).to_numpy()
    tb = df["model_b"].map(tier_of).to_numpy()
    wins_a = np.select([df["winner"] == "model_a", df["winner"] == "tie"], [2.0, 1.0], 0.0)
    # orient each battle i < j; a same-tier battle is tier t vs the anchor (t wins 2 - wins_a)
    same = ta == tb
    i = np.where(same, ta, np.minimum(ta, tb))
    j = np.where(same, anchor, np.maximum(ta, tb))
    wins_i = np.where(same | (ta > tb), 2.0 - wins_a, wins_a)
    k = anchor + 1
    pairs = np.array([(p, q) for p in range(k) for q in range(p + 1, k)], dtype=np.int64)
    pair_id = {(int(p), int(q)): n for n, (p, q) in enumerate(pairs)}
    cell_pair = np.array([pair_id[(int(p), int(q))] for p, q in zip(i, j, strict=True)])
    router = SWRankingRouter(
        strong_model, weak_model, encoder=encoder, n_tiers=n_tiers, prior=prior
    )
    router.player_of = {**player_of, SW_ANCHOR: anchor}
    router._pairs = pairs
    router._set_cells(
        np.arange(len(df)), cell_pair, wins_i, np.full(len(df), 2.0), len(df), len(pairs)
    )
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    router._prompt_emb = (emb / np.maximum(norms, 1e-12)).astype(np.float32)
    _attach_encoder(router, int(emb.shape[1]))
    for m in (router.strong_model, router.weak_model):
        router._player(m)
    router.training_report = {"n_battles": len(df), "n_prompts": len(df), "tiers": tier_of}
    router.provenance = {
        "converted_from": "RouteLLM SWRankingRouter",
        "battles": [str(b) for b in battles],
        "embeddings": [str(e) for e in embeddings],
    }
    return router
