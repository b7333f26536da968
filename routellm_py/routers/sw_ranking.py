"""Similarity-weighted (SW) ranking router (RouteLLM §4.1, Ong et al. 2024).

For a query q every training battle b gets the weight (RouteLLM eq. in §4.1)

    w_b = 10 * 10^(sim(q, prompt_b) / max_b' sim(q, prompt_b'))

and a Bradley-Terry model over players (model tiers, or just the strong and weak model) is
fitted to the weighted battles. The win rate is P(strong beats weak) = sigmoid(theta_s - theta_w).

Unlike the reference, which refits scikit-learn's LogisticRegression per query, battles are
reduced once to per-(prompt, player pair) sufficient statistics: weighted wins and games. A
query then needs one similarity row, two matrix products and a few Newton steps on a
K-player concave problem, batched over queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.battles import Battles
from routellm_py.data.tiers import assign_tiers, fit_bradley_terry
from routellm_py.routers.base import known_model, register, validate_prompts
from routellm_py.routers.calibration import sigmoid
from routellm_py.routers.embedding import EmbeddingRouter

if TYPE_CHECKING:
    from routellm_py.training.tables import TrainingTable

LABELS = ("tiers", "pair", "gap", "difficulty", "task-difficulty")
CHUNK = 256  # queries per vectorised block


def solve_bradley_terry(
    wins: np.ndarray,
    games: np.ndarray,
    pairs: np.ndarray,
    n_players: int,
    prior: float = 1.0,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> np.ndarray:
    """Weighted BT log-strengths theta, shape (B, K), for B independent problems at once.

    Maximises  sum_p [wins_p log s(theta_i - theta_j) + (games_p - wins_p) log s(theta_j - theta_i)]
             + prior * sum_k [0.5 log s(theta_k) + 0.5 log s(-theta_k)]
    where pair p = (i, j) = pairs[p] and s = sigmoid: the `prior` term is `prior` games, half
    won, against a virtual player with theta = 0 (as in `data.tiers.fit_bradley_terry`), which
    makes the problem strictly concave, so Newton's method converges from theta = 0.
    wins, games: (B, P). Steps larger than 4 nats are scaled down (damped Newton).
    """
    if prior <= 0:
        raise ValueError(f"prior must be > 0 (it makes the fit unique), got {prior}")
    wins, games = np.atleast_2d(wins), np.atleast_2d(games)
    incidence = np.zeros((len(pairs), n_players))
    incidence[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    incidence[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    theta = np.zeros((len(wins), n_players))
    eye = np.eye(n_players)
    for _ in range(max_iter):
        p = sigmoid(theta @ incidence.T)
        q = sigmoid(theta)
        grad = (wins - games * p) @ incidence + prior * (0.5 - q)
        curv = games * p * (1.0 - p)
        hess = np.einsum("bp,pk,pl->bkl", curv, incidence, incidence)
        hess += (prior * q * (1.0 - q))[:, :, None] * eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        big = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, 4.0 / np.maximum(big, 1e-300))
        theta += step
        if big.max() < tol:
            break
    return theta


@register("sw_ranking")
class SWRankingRouter(EmbeddingRouter):
    """Similarity-weighted Bradley-Terry ranking over model tiers (RouteLLM §4.1).

    labels="tiers": models are grouped into `n_tiers` tiers by their global BT rating
    (RouteLLM §5.1) and every battle between two tiers counts; "pair": only battles of the
    strong model against the weak model; "gap", "difficulty", "task-difficulty": one
    strong-vs-weak battle per prompt with that scheme's label (`routellm_py.training.
    pair_labels`; the difficulty schemes read the sources' score tables under `data_dir`).
    `prior` regularises each per-query fit (games vs an average virtual player, in units of
    battles after the weights are scaled to mean 1).
    """

    state_name = "sw_ranking"

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        labels: str = "tiers",
        n_tiers: int = 10,
        prior: float = 1.0,
        **embedding: Any,
    ) -> None:
        super().__init__(strong_model, weak_model, **embedding)
        if labels not in LABELS:
            raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
        if n_tiers < 2:
            raise ValueError(f"n_tiers must be >= 2, got {n_tiers}")
        if prior <= 0:
            raise ValueError(f"prior must be > 0, got {prior}")
        self.labels, self.n_tiers, self.prior = labels, n_tiers, prior
        self.player_of: dict[str, int] = {}

    # ---- training --------------------------------------------------------------------
    def fit(
        self, battles: Battles, progress: bool = True, data_dir: str | Path | None = None
    ) -> SWRankingRouter:
        """Store the training prompts' embeddings and per-(prompt, player pair) statistics."""
        from routellm_py.training.pair_labels import scheme_battles
        from routellm_py.training.tables import print_report, training_table

        if self.labels not in ("tiers", "pair"):
            battles = scheme_battles(
                battles, self.labels, self.strong_model, self.weak_model, data_dir
            )
        pair = (self.strong_model, self.weak_model) if self.labels != "tiers" else None
        table = training_table(battles, self.ties, pair)
        self.player_of = self._players(battles, table)
        pa = np.array([self.player_of[m] for m in table.model_a])
        pb = np.array([self.player_of[m] for m in table.model_b])
        same = pa == pb  # a battle inside one tier says nothing about tier strengths
        # orient every battle so that player i < player j; y becomes P(i wins)
        flip = pa > pb
        i, j = np.where(flip, pb, pa), np.where(flip, pa, pb)
        y = np.where(flip, 1.0 - table.y, table.y)
        k = self.n_players
        self._pairs = np.array([(a, b) for a in range(k) for b in range(a + 1, k)], dtype=np.int64)
        pair_id = {(int(a), int(b)): n for n, (a, b) in enumerate(self._pairs)}
        keep = ~same
        cell_pair = np.array([pair_id[(a, b)] for a, b in zip(i[keep], j[keep], strict=True)])
        cell_prompt = table.prompt_idx[keep]
        w = table.weight[keep]
        used = np.unique(cell_prompt)
        remap = np.full(len(table.prompts), -1)
        remap[used] = np.arange(len(used))
        self._set_cells(
            remap[cell_prompt], cell_pair, w * y[keep], w, n_prompts=len(used), n_pairs=len(pair_id)
        )
        self.training_report = {
            **table.report,
            "same_player_battles_ignored": int(same.sum()),
            "n_prompts_stored": len(used),
            "n_players": k,
            "labels": self.labels,
        }
        print_report(self.name, self.training_report)
        prompts = [table.prompts[u] for u in used]
        # stored as float16 in the checkpoint; round now so fit and load score identically
        self._prompt_emb = self.embed_training(prompts, progress=progress).astype(np.float16)
        self._prompt_emb = self._prompt_emb.astype(np.float32)
        self.encoder_config = self.get_encoder().config()
        return self

    def _players(self, battles: Battles, table: TrainingTable) -> dict[str, int]:
        """Model -> player index: its tier (0 = best), or strong=0 / weak=1 (pair, gap)."""
        if self.labels != "tiers":
            return {self.strong_model: 0, self.weak_model: 1}
        models = set(table.model_a) | set(table.model_b)
        for role, m in (("strong", self.strong_model), ("weak", self.weak_model)):
            if m not in models:
                raise ValueError(
                    f"{role} model {m!r} is in no training battle; models: {sorted(models)}"
                )
        ratings = fit_bradley_terry(battles)
        tiers = assign_tiers(ratings, min(self.n_tiers, len(ratings)))
        if tiers[self.strong_model] == tiers[self.weak_model]:
            raise ValueError(
                f"{self.strong_model!r} and {self.weak_model!r} fall in the same tier of "
                f"{self.n_tiers}; raise --n-tiers or use --labels pair"
            )
        return {m: int(t) for m, t in tiers.items()}

    def _set_cells(
        self,
        prompt: np.ndarray,
        pair: np.ndarray,
        wins: np.ndarray,
        games: np.ndarray,
        n_prompts: int,
        n_pairs: int,
    ) -> None:
        """Keep the sparse cells (for the checkpoint) and dense (prompt x pair) matrices."""
        self._cells = {
            "cell_prompt": prompt.astype(np.int32),
            "cell_pair": pair.astype(np.int32),
            "cell_wins": wins.astype(np.float32),
            "cell_games": games.astype(np.float32),
        }
        self._wins = np.zeros((n_prompts, n_pairs))
        self._games = np.zeros((n_prompts, n_pairs))
        np.add.at(self._wins, (prompt, pair), wins.astype(np.float32))
        np.add.at(self._games, (prompt, pair), games.astype(np.float32))
        self._total_games = float(self._games.sum())

    # ---- scoring ---------------------------------------------------------------------
    def similarity_weights(self, query_emb: np.ndarray) -> np.ndarray:
        """w = 10 * 10^(sim / max sim) per (query, training prompt); RouteLLM §4.1.
        A max similarity <= 0 is clamped to 1e-6 (such a query gets near-uniform weights)."""
        # float32 without copying the (n_prompts, dim) table: a copy per query was 3 ms.
        sims = query_emb.astype(np.float32, copy=False) @ self._prompt_emb.T
        top = np.maximum(sims.max(axis=1, keepdims=True), 1e-6)
        return 10.0 * np.exp((sims / top) * np.float32(np.log(10.0)))  # 10^x in float32

    def ratings(self, query_emb: np.ndarray) -> np.ndarray:
        """Per-query BT log-strength of every player, shape (B, K)."""
        self._require_fitted()
        out = []
        for start in range(0, len(query_emb), CHUNK):
            w = self.similarity_weights(query_emb[start : start + CHUNK])
            wins, games = w @ self._wins, w @ self._games
            scale = self._total_games / games.sum(axis=1, keepdims=True)  # weights to mean 1
            out.append(
                solve_bradley_terry(
                    wins * scale, games * scale, self._pairs, self.n_players, self.prior
                )
            )
        return np.concatenate(out)

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        theta = self.ratings(self.embed(prompts))
        s, w = self.player_of[self.strong_model], self.player_of[self.weak_model]
        return sigmoid(theta[:, s] - theta[:, w])

    def model_scores(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        """Per-query BT log-strength of each model's player (its tier), (n_prompts, n_models)."""
        cols = [self._player(m) for m in models]
        theta = self.ratings(self.embed(validate_prompts(prompts)))
        return theta[:, cols]

    @property
    def n_players(self) -> int:
        return len(set(self.player_of.values()))

    def _player(self, model: str) -> int:
        return self.player_of[known_model(model, self.player_of, "sw_ranking")]

    # ---- checkpoint ------------------------------------------------------------------
    def _save_state(self, directory: Path) -> None:
        tensors = {"prompt_embeddings": self._prompt_emb.astype(np.float16), **self._cells}
        meta = {"player_of": self.player_of, "pairs": self._pairs.tolist()}
        self._write_state(directory, tensors, meta)

    def _load_state(self, directory: Path) -> None:
        tensors, meta = self._read_state(directory)
        self.player_of = {m: int(p) for m, p in meta["player_of"].items()}
        self._pairs = np.asarray(meta["pairs"], dtype=np.int64).reshape(-1, 2)
        for m in (self.strong_model, self.weak_model):
            self._player(m)  # raises for a model the checkpoint never saw
        self._prompt_emb = tensors["prompt_embeddings"].astype(np.float32)
        self._set_cells(
            tensors["cell_prompt"],
            tensors["cell_pair"],
            tensors["cell_wins"],
            tensors["cell_games"],
            n_prompts=len(self._prompt_emb),
            n_pairs=len(self._pairs),
        )
