"""RouteLLM's similarity-weighted (SW) ranking router (Ong et al. 2024 §4.1) over its
published battle and embedding datasets, as this project's `SWRankingRouter`.

Published format: battles `lmsys/lmsys-arena-human-preference-55k` + `routellm/gpt4_judge_battles`
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
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.compat.routellm import (
    EMBEDDING_ENCODER,
    ROUTELLM_STRONG,
    ROUTELLM_WEAK,
    attach_encoder,
    local_dir,
)
from routellm_py.data.aliases import canonical_model
from routellm_py.routers.base import HUB_PREFIX

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
    attach_encoder(router, int(emb.shape[1]))
    for m in (router.strong_model, router.weak_model):
        router._player(m)
    router.training_report = {"n_battles": len(df), "n_prompts": len(df), "tiers": tier_of}
    router.provenance = {
        "converted_from": "RouteLLM SWRankingRouter",
        "battles": [str(b) for b in battles],
        "embeddings": [str(e) for e in embeddings],
    }
    return router
