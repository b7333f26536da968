"""Matrix-factorisation (MF) router (RouteLLM §4.1, Ong et al. 2024).

Score of model m on prompt q, with e_q the prompt embedding:

    s(m, q) = w^T ( normalize(v_m) ⊙ (W_proj e_q) )

with a learned vector v_m per model seen in training, a projection W_proj and a vector w.
P(m_a beats m_b | q) = sigmoid(s(m_a, q) - s(m_b, q)); the win rate is
P(strong beats weak). Training minimises weighted binary cross-entropy on battles against
the soft label (a source's fractional preference where given; ties per `ties`, see
`routellm_py.label_schemes`), with Adam, a seeded shuffle and early stopping on the
validation loss of held-out prompts (the loop: `routellm_py.training.mf`).
`fit(battles, init=router)` warm-starts from a trained MF router (same encoder and dim):
its projection, classifier and model vectors are the starting point, and models new to
the battles start at random.

Scoring needs no torch: s(m, q) = e_q . z_m with z_m = W_proj^T (normalize(v_m) ⊙ w), so
all models' scores for a batch are one matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.battles import Battles
from routellm_py.label_schemes import SCHEMES
from routellm_py.routers.base import known_model, register, validate_prompts
from routellm_py.routers.calibration import sigmoid
from routellm_py.routers.embedding import EmbeddingRouter


@register("mf")
class MFRouter(EmbeddingRouter):
    """Bilinear model table over prompt embeddings; N-way by nature (`model_scores`).

    `labels` picks the label scheme (`routellm_py.training.pair_labels`): "all" trains on
    every battle between any two models, as RouteLLM does; "pair" on strong-vs-weak battles
    only (`pair_only=True`, kept for old checkpoints, means the same); "gap" on the strong-
    class vs weak-class gap per prompt; "difficulty" / "task-difficulty" on 1 - the mean
    score of all models (centred within the task), read from the sources' score tables
    under `data_dir`. With `all_weight` > 0 every battle of the table is
    added, its weight scaled by `all_weight`, so that every model in the data gets a vector
    (`model_scores` for each, `win_rate` for any two) while the scheme's labels dominate.
    """

    state_name = "mf"

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        pair_only: bool = False,
        labels: str = "all",
        all_weight: float = 0.0,
        all_max: int = 200_000,
        dim: int = 128,
        lr: float = 3e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 2048,
        max_epochs: int = 40,
        patience: int = 3,
        val_fraction: float = 0.1,
        noise: float = 0.0,
        seed: int = 0,
        **embedding: Any,
    ) -> None:
        super().__init__(strong_model, weak_model, **embedding)
        for name, value in [("dim", dim), ("batch_size", batch_size), ("max_epochs", max_epochs)]:
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if labels not in SCHEMES:
            raise ValueError(f"labels must be one of {SCHEMES}, got {labels!r}")
        if pair_only and labels not in ("all", "pair"):
            raise ValueError(f"pair_only=True means labels='pair'; got labels={labels!r}")
        if all_weight < 0:
            raise ValueError(f"all_weight must be >= 0, got {all_weight}")
        if all_max < 1:
            raise ValueError(f"all_max must be >= 1, got {all_max}")
        self.labels, self.all_weight, self.all_max = labels, all_weight, all_max
        self.pair_only, self.dim, self.lr, self.weight_decay = pair_only, dim, lr, weight_decay
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.val_fraction, self.noise, self.seed = val_fraction, noise, seed
        self.models: list[str] = []
        self._z: np.ndarray | None = None  # (n_models, text_dim): s(m, q) = e_q . z_m

    # ---- training --------------------------------------------------------------------
    def fit(
        self,
        battles: Battles,
        progress: bool = True,
        data_dir: str | Path | None = None,
        init: MFRouter | None = None,
    ) -> MFRouter:
        """Train the model table on battles (BCE, Adam, early stopping on held-out prompts),
        starting from the weights of `init` if given (warm start); `data_dir` locates the
        score tables of the difficulty label schemes."""
        import torch

        from routellm_py.training.mf import mf_net, train_mf, warm_start
        from routellm_py.training.tables import print_report, training_table, validation_mask

        table = training_table(self.training_battles(battles, data_dir), self.ties)
        known = set(init.models) if init is not None else set()
        self.models = sorted(set(table.model_a) | set(table.model_b) | known)
        for role, m in (("strong", self.strong_model), ("weak", self.weak_model)):
            if m not in self.models:
                raise ValueError(
                    f"{role} model {m!r} is in no training battle; models: {self.models[:30]}"
                )
        index = {m: i for i, m in enumerate(self.models)}
        emb = torch.tensor(self.embed_training(table.prompts, progress=progress))
        a = torch.tensor([index[m] for m in table.model_a])
        b = torch.tensor([index[m] for m in table.model_b])
        y = torch.tensor(table.y, dtype=torch.float32)
        w = torch.tensor(table.weight, dtype=torch.float32)
        val_prompt = validation_mask(table.prompts, self.val_fraction, self.seed)
        is_val = val_prompt[table.prompt_idx]
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matmuls: one thread is fastest and deterministic
        try:
            torch.manual_seed(self.seed)
            net = mf_net(len(self.models), emb.shape[1], self.dim)
            if init is not None:
                if (init.encoder, init.dim) != (self.encoder, self.dim):
                    raise ValueError(
                        f"--init router has encoder {init.encoder!r} and dim {init.dim}; this "
                        f"one {self.encoder!r} and {self.dim}: warm start needs the same"
                    )
                warm_start(net, init._weights, init.models, self.models)
            report = train_mf(
                net, emb, (table.prompt_idx, a, b, y, w), is_val, self._hyper(), progress
            )
        finally:
            torch.set_num_threads(threads)
        self.training_report = {
            **table.report,
            **report,
            "labels": "pair" if self.pair_only else self.labels,
            "all_weight": self.all_weight,
            "n_val_prompts": int(val_prompt.sum()),
        }
        print_report(self.name, self.training_report)
        self._set_weights(*(t.detach().numpy() for t in net.tensors()))
        self.encoder_config = self.get_encoder().config()
        return self

    def training_battles(self, battles: Battles, data_dir: str | Path | None = None) -> Battles:
        """The battles of the label scheme, plus (up to `all_max` of) every battle at
        `all_weight` if > 0."""
        from routellm_py.training.pair_labels import scheme_battles

        scheme = "pair" if self.pair_only else self.labels
        out = scheme_battles(battles, scheme, self.strong_model, self.weak_model, data_dir)
        if self.all_weight > 0 and scheme != "all":
            f = battles.frame
            if len(f) > self.all_max:
                rng = np.random.default_rng(self.seed)
                f = f.iloc[np.sort(rng.choice(len(f), self.all_max, replace=False))]
            out = Battles.concat([out, Battles(f.assign(weight=f["weight"] * self.all_weight))])
        return out

    def _hyper(self) -> dict[str, Any]:
        keys = ("lr", "weight_decay", "batch_size", "max_epochs", "patience", "noise", "seed")
        return {k: getattr(self, k) for k in keys}

    def _set_weights(self, model_emb: np.ndarray, proj: np.ndarray, classifier: np.ndarray) -> None:
        """Keep the raw tensors (checkpoint) and z_m = W_proj^T (normalize(v_m) ⊙ w)."""
        self._weights = {
            "model_embeddings": model_emb.astype(np.float32),
            "text_proj": proj.astype(np.float32),
            "classifier": classifier.astype(np.float32).reshape(-1),
        }
        v = model_emb / np.maximum(np.linalg.norm(model_emb, axis=1, keepdims=True), 1e-12)
        self._z = ((v * self._weights["classifier"]) @ proj).astype(np.float32)

    # ---- scoring ---------------------------------------------------------------------
    def _scores(self, emb: np.ndarray, cols: list[int]) -> np.ndarray:
        if self._z is None:
            raise RuntimeError("mf router is not trained: call fit(battles) or load a checkpoint")
        return emb @ self._z[cols].T

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        cols = [self._column(self.strong_model), self._column(self.weak_model)]
        s = self._scores(self.embed(prompts), cols)
        return sigmoid(s[:, 0].astype(np.float64) - s[:, 1])

    def model_scores(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        """s(m, q) for every prompt and model, (n_prompts, n_models); higher is better, and
        sigmoid(s_a - s_b) is P(a beats b). Unknown models raise, listing the known ones."""
        if isinstance(models, str):
            raise TypeError("models must be a list of model names, not one string")
        cols = [self._column(m) for m in models]
        return self._scores(self.embed(validate_prompts(prompts)), cols).astype(np.float64)

    def _column(self, model: str) -> int:
        return self.models.index(known_model(model, self.models, "mf"))

    # ---- checkpoint ------------------------------------------------------------------
    def _save_state(self, directory: Path) -> None:
        meta = {"models": self.models, "dim": self.dim, "text_dim": int(self._z.shape[1])}
        self._write_state(directory, self._weights, meta)

    def _load_state(self, directory: Path) -> None:
        tensors, meta = self._read_state(directory)
        self.models = list(meta["models"])
        self._set_weights(tensors["model_embeddings"], tensors["text_proj"], tensors["classifier"])
        for m in (self.strong_model, self.weak_model):
            self._column(m)
