"""Matrix-factorisation (MF) router (RouteLLM §4.1, Ong et al. 2024).

Score of model m on prompt q, with e_q the prompt embedding:

    s(m, q) = w^T ( normalize(v_m) ⊙ (W_proj e_q) )

with a learned vector v_m per model seen in training, a projection W_proj and a vector w.
P(m_a beats m_b | q) = sigmoid(s(m_a, q) - s(m_b, q)); the win rate is
P(strong beats weak). Training minimises weighted binary cross-entropy on battles against
the soft label (a source's fractional preference where given; ties per `ties`, see
`routellm_py.embeddings.router`), with Adam, a seeded shuffle and early stopping on the
validation loss of held-out prompts. `fit(battles, init=router)` warm-starts from a trained
MF router (same encoder and dim): its projection, classifier and model vectors are the
starting point, and models new to the battles start at random.

Scoring needs no torch: s(m, q) = e_q . z_m with z_m = W_proj^T (normalize(v_m) ⊙ w), so
all models' scores for a batch are one matrix product.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.data.battles import Battles
from routellm_py.embeddings.encoders import DEFAULT_SPEC
from routellm_py.embeddings.router import (
    EmbeddingRouter,
    print_report,
    sigmoid,
    training_table,
    validation_mask,
)
from routellm_py.embeddings.text_policy import DEFAULT_POLICY
from routellm_py.routers.base import register, validate_prompts
from routellm_py.training.pair_labels import SCHEMES, SCORE_SCHEMES, load_scores, relabel


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
        encoder: str = DEFAULT_SPEC,
        ties: str = "half",
        text_policy: str = DEFAULT_POLICY,
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
    ) -> None:
        super().__init__(strong_model, weak_model, encoder, ties, text_policy)
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

        table = training_table(self.training_battles(battles, data_dir), self.ties)
        known = set(init.models) if init is not None else set()
        self.models = sorted(set(table.model_a) | set(table.model_b) | known)
        for role, m in (("strong", self.strong_model), ("weak", self.weak_model)):
            if m not in self.models:
                raise ValueError(
                    f"{role} model {m!r} is in no training battle; models: {self.models[:30]}"
                )
        index = {m: i for i, m in enumerate(self.models)}
        self.fit_policy(table.prompts)
        emb = torch.tensor(self.embed(table.prompts, progress=progress))
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
            net = _mf_net(len(self.models), emb.shape[1], self.dim)
            if init is not None:
                _warm_start(net, init, self)
            report = _train(
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
        scheme = "pair" if self.pair_only else self.labels
        scores = load_scores(battles, data_dir) if scheme in SCORE_SCHEMES else None
        out = relabel(battles, scheme, self.strong_model, self.weak_model, scores)
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
        m = canonical_model(model)
        if m not in self.models:
            raise ValueError(
                f"unknown model {model!r}: this mf router was trained on {len(self.models)} "
                f"models: {self.models}"
            )
        return self.models.index(m)

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


def _mf_net(n_models: int, text_dim: int, dim: int) -> Any:
    """The trainable module (defined here so importing this module needs no torch)."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.P = torch.nn.Embedding(n_models, dim)
            self.text_proj = torch.nn.Linear(text_dim, dim, bias=False)
            self.classifier = torch.nn.Linear(dim, 1, bias=False)

        def forward(self, a: torch.Tensor, b: torch.Tensor, proj: torch.Tensor) -> torch.Tensor:
            """s(a, q) - s(b, q) per battle, given each battle's projected prompt W_proj e_q."""
            va = torch.nn.functional.normalize(self.P(a), p=2, dim=1)
            vb = torch.nn.functional.normalize(self.P(b), p=2, dim=1)
            return self.classifier((va - vb) * proj).squeeze(-1)

        def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return self.P.weight, self.text_proj.weight, self.classifier.weight

    return Net()


def _warm_start(net: Any, init: MFRouter, router: MFRouter) -> None:
    """Copy `init`'s weights into `net` (rows of `router.models` that `init` knows)."""
    import torch

    if (init.encoder, init.dim) != (router.encoder, router.dim):
        raise ValueError(
            f"--init router has encoder {init.encoder!r} and dim {init.dim}; this one "
            f"{router.encoder!r} and {router.dim}: warm start needs the same"
        )
    w = {k: torch.from_numpy(v) for k, v in init._weights.items()}
    with torch.no_grad():
        net.text_proj.weight.copy_(w["text_proj"])
        net.classifier.weight.copy_(w["classifier"].reshape(1, -1))
        for i, m in enumerate(router.models):
            if m in init.models:
                net.P.weight[i] = w["model_embeddings"][init.models.index(m)]


def _prompt_groups(prompt_idx: np.ndarray, battles: np.ndarray, batch_size: int, rng) -> list:
    """Mini-batches of whole prompts, ~`batch_size` battles each, in a seeded random order.

    Batching by prompt lets a step project each prompt once (W_proj e_q is the costly part)
    instead of once per battle; a prompt has tens to hundreds of battles."""
    order = battles[np.argsort(prompt_idx[battles], kind="stable")]
    prompts, starts, counts = np.unique(prompt_idx[order], return_index=True, return_counts=True)
    perm = rng.permutation(len(prompts))
    groups, current, size = [], [], 0
    for k in perm:
        current.append(order[starts[k] : starts[k] + counts[k]])
        size += counts[k]
        if size >= batch_size:
            groups.append(np.concatenate(current))
            current, size = [], 0
    if current:
        groups.append(np.concatenate(current))
    return groups


def _train(
    net: Any, emb: Any, data: tuple, is_val: np.ndarray, hp: dict[str, Any], progress: bool
) -> dict:
    """Adam on weighted BCE over mini-batches of whole prompts; stop when the held-out loss
    has not improved for `patience` epochs and restore the best weights."""
    import torch
    from tqdm.auto import tqdm

    p, a, b, y, w = data  # numpy prompt index, torch model indices, labels, weights
    rng = np.random.default_rng(hp["seed"])
    gen = torch.Generator().manual_seed(hp["seed"])
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    opt = torch.optim.Adam(net.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])

    def loss_on(idx: np.ndarray, noise: float = 0.0) -> torch.Tensor:
        uniq, local = np.unique(p[idx], return_inverse=True)
        e = emb[torch.from_numpy(uniq)]
        if noise > 0:
            e = e + noise * torch.randn(e.shape, generator=gen)
        t = torch.from_numpy(idx)
        logits = net(a[t], b[t], net.text_proj(e)[torch.from_numpy(local)])
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[t], reduction="none")
        return (bce * w[t]).sum() / w[t].sum()

    best, best_state, best_epoch, bad = float("inf"), None, 0, 0
    history = []
    bar = tqdm(range(1, hp["max_epochs"] + 1), desc="mf epochs", disable=not progress)
    for epoch in bar:
        net.train()
        total = 0.0
        for batch in _prompt_groups(p, train_idx, hp["batch_size"], rng):
            opt.zero_grad()
            loss = loss_on(batch, hp["noise"])
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        train_loss = total / len(train_idx)
        net.eval()
        with torch.inference_mode():
            val = float(loss_on(val_idx)) if len(val_idx) else train_loss
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val})
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val:.4f}")
        # patience counts epochs without a relative improvement of 1e-4; the best is the min
        bad = 0 if val < best * (1 - 1e-4) else bad + 1
        if val < best:
            best, best_epoch = val, epoch
            best_state = copy.deepcopy(net.state_dict())
        if len(val_idx) and bad >= hp["patience"]:
            break
    net.load_state_dict(best_state)
    print(f"mf: best epoch {best_epoch}, held-out BCE {best:.4f}", file=sys.stderr)
    return {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "best_val_loss": best,
        "history": history,
        "n_train_battles": len(train_idx),
        "n_val_battles": len(val_idx),
    }
