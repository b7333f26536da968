"""The MF router's training loop (RouteLLM §4.1): the trainable bilinear module, warm start
from a trained router, mini-batches of whole prompts, and Adam on the weighted binary
cross-entropy of s(m_a, q) - s(m_b, q) against the soft label, with early stopping on the
held-out prompts. The model and its scoring are documented in `routellm_py.routers.mf`.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from routellm_py.training.early_stopping import EarlyStopping


def mf_net(n_models: int, text_dim: int, dim: int) -> Any:
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


def warm_start(
    net: Any, weights: dict[str, np.ndarray], known: list[str], models: list[str]
) -> None:
    """Start `net` from a trained MF router's `weights` (its tensors, rows in the order of
    `known`): projection and classifier as they are, and the vector of every model of
    `models` that `known` holds; the other models keep their random start."""
    import torch

    w = {k: torch.from_numpy(v) for k, v in weights.items()}
    with torch.no_grad():
        net.text_proj.weight.copy_(w["text_proj"])
        net.classifier.weight.copy_(w["classifier"].reshape(1, -1))
        for i, m in enumerate(models):
            if m in known:
                net.P.weight[i] = w["model_embeddings"][known.index(m)]


def prompt_groups(prompt_idx: np.ndarray, battles: np.ndarray, batch_size: int, rng) -> list:
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


def train_mf(
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

    # patience counts epochs without a relative improvement of 1e-4; the best is the min
    stopper = EarlyStopping(net, hp["patience"], min_delta=1e-4)
    history = []
    bar = tqdm(range(1, hp["max_epochs"] + 1), desc="mf epochs", disable=not progress)
    for epoch in bar:
        net.train()
        total = 0.0
        for batch in prompt_groups(p, train_idx, hp["batch_size"], rng):
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
        if stopper.update(epoch, val) and len(val_idx):
            break
    stopper.restore()
    best_epoch, best = stopper.best_epoch, stopper.best
    print(f"mf: best epoch {best_epoch}, held-out BCE {best:.4f}", file=sys.stderr)
    return {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "best_val_loss": best,
        "history": history,
        "n_train_battles": len(train_idx),
        "n_val_battles": len(val_idx),
    }
