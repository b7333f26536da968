"""The shared fine-tuning loop for prompt classifiers (RouteLLM §4.1; Hybrid LLM §3.2 reuses it).

A model maps a padded batch `(input_ids, attention_mask)` to `.logits` of shape (B, C).
Training minimises the weighted soft cross-entropy

    L = sum_i s_i sum_k w_k t_ik (-log softmax(z_i)_k) / sum_i s_i sum_k w_k t_ik

with t_i a target distribution over C classes, s_i a sample weight and w_k class weights.
With C = 2 this is the soft binary cross-entropy of Hybrid LLM eq. (5). Class weighting
("balanced") uses w_k = M / (C' m_k), m_k = sum_i s_i t_ik, M = sum_k m_k, C' = number of
classes with m_k > 0; with one-hot targets L is then torch's weighted `cross_entropy`.

Full fine-tuning, linear warm-up/decay, a seeded validation split with early stopping on
validation loss (best weights restored), and DDP when launched by `torchrun`/`accelerate`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from routellm_py.hf_text import encode_texts, pad_batch, pad_id, resolve_backbone
from routellm_py.training import distributed as D
from routellm_py.training.early_stopping import EarlyStopping

OPTIMIZERS = ("adamw", "adam", "sgd")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class TrainReport:
    """What a run did: per-epoch losses, the epoch whose weights were kept, sizes and time."""

    train_loss: list[float]
    val_loss: list[float]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    n_train: int
    n_val: int
    class_weights: list[float]
    seconds: float
    world_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- models ------------------------------------------------------------------------------
def build_sequence_classifier(
    backbone: Any,
    num_labels: int,
    *,
    labels: Sequence[str] | None = None,
    pad_token_id: int | None = None,
    **kwargs: Any,
) -> Any:
    """A fresh `AutoModelForSequenceClassification` with a `num_labels` head.

    `backbone` is a hub id, a local path, "minilm", or a `PretrainedConfig` (random init,
    for tests). Pretrained encoder weights are kept; the head is newly initialised.
    """
    from transformers import AutoModelForSequenceClassification, PretrainedConfig

    if num_labels < 2:
        raise ValueError(f"num_labels must be >= 2, got {num_labels}")
    names = list(labels) if labels is not None else [f"LABEL_{i}" for i in range(num_labels)]
    if len(names) != num_labels:
        raise ValueError(f"{len(names)} label names for num_labels={num_labels}")
    head = {
        "num_labels": num_labels,
        "id2label": dict(enumerate(names)),
        "label2id": {n: i for i, n in enumerate(names)},
    }
    if isinstance(backbone, PretrainedConfig):
        config = copy.deepcopy(backbone)
        for k, v in head.items():
            setattr(config, k, v)
        model = AutoModelForSequenceClassification.from_config(config, **kwargs)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            resolve_backbone(backbone), ignore_mismatched_sizes=True, **head, **kwargs
        )
    if model.config.pad_token_id is None and pad_token_id is not None:
        model.config.pad_token_id = pad_token_id
    return model


# ---- training ------------------------------------------------------------------------------
def balanced_class_weights(targets: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    """w_k = M / (C' m_k) with m_k the (soft, weighted) mass of class k; 0 for absent classes."""
    mass = (targets * sample_weight[:, None]).sum(axis=0)
    present = mass > 0
    w = np.zeros_like(mass)
    w[present] = mass.sum() / (present.sum() * mass[present])
    return w


def soft_cross_entropy(logits: Any, targets: Any, sample_weight: Any, class_weight: Any) -> Any:
    """(numerator, denominator) of the module-level loss L for one batch."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    wt = targets * class_weight
    num = -(sample_weight * (wt * logp).sum(dim=-1)).sum()
    den = (sample_weight * wt.sum(dim=-1)).sum()
    return num, den


def train_classifier(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    targets: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    val_fraction: float = 0.1,
    lr: float = 2e-5,
    epochs: int = 3,
    batch_size: int = 16,
    max_length: int = 256,
    seed: int = 0,
    patience: int = 1,
    optimizer: str = "adamw",
    class_weighting: bool = True,
    progress: bool = True,
    weight_decay: float = 0.01,
    warmup_fraction: float = 0.1,
    grad_clip: float = 1.0,
    precision: str = "auto",
    device: str | None = None,
    group_by_length: bool = True,
) -> TrainReport:
    """Fine-tune every parameter of `model` on (texts, soft targets) in place; see module doc.

    Early stopping: after `patience` epochs without a lower validation loss, stop; the
    weights of the best epoch are restored. `val_fraction=0` trains all epochs on all rows.
    Deterministic for a fixed `seed` (split, shuffles, dropout) on a given device.
    `group_by_length` batches rows of similar token length (within shuffled buckets of 50
    batches; batch order shuffled) so little compute goes to padding.
    """
    import torch

    texts = list(texts)
    t, s = _check_inputs(texts, targets, sample_weight)
    _check_hparams(val_fraction, lr, epochs, batch_size, max_length, patience, optimizer, precision)
    start_time = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(texts))
    n_val = int(round(val_fraction * len(texts)))
    if val_fraction > 0 and (n_val < 1 or n_val >= len(texts)):
        raise ValueError(
            f"val_fraction={val_fraction} of {len(texts)} rows leaves no validation or no "
            "training rows; use more data or val_fraction=0"
        )
    val_idx, train_idx = perm[:n_val].tolist(), perm[n_val:].tolist()
    cw = (
        balanced_class_weights(t[train_idx], s[train_idx])
        if class_weighting
        else np.ones(t.shape[1])
    )

    D.maybe_init_process_group()
    rank, world = D.rank_and_world()
    dev = torch.device(device) if device else D.default_device(model)
    if not getattr(model, "hf_device_map", None):
        model.to(dev)
    net = model
    if D.is_distributed():
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None)

    ids = encode_texts(tokenizer, texts, max_length)
    pad = pad_id(tokenizer)
    t_all = torch.tensor(t, dtype=torch.float32)
    s_all = torch.tensor(s, dtype=torch.float32)
    cw_t = torch.tensor(cw, dtype=torch.float32, device=dev)

    def batch_loss(module: Any, idx: list[int]) -> tuple[Any, Any]:
        with _autocast(precision, dev):
            logits = module(**pad_batch([ids[i] for i in idx], pad, dev)).logits
        return soft_cross_entropy(logits, t_all[idx].to(dev), s_all[idx].to(dev), cw_t)

    steps = math.ceil(len(train_idx) / (batch_size * world))
    opt = _make_optimizer(optimizer, model, lr, weight_decay)
    sched = _linear_schedule(opt, steps * epochs, warmup_fraction)
    scaler = torch.amp.GradScaler(enabled=precision == "fp16")
    train_curve: list[float] = []
    val_curve: list[float] = []
    stopper = EarlyStopping(model, patience)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(train_idx).tolist()
        if group_by_length:
            order = _length_grouped(order, ids, batch_size * world, rng)
        order = D.shard(order, steps * batch_size)
        net.train()
        sums = [0.0, 0.0]
        bar = _progress(range(steps), progress and rank == 0, f"epoch {epoch}/{epochs}")
        for b in bar:
            num, den = batch_loss(net, order[b * batch_size : (b + 1) * batch_size])
            loss = num / den.clamp_min(1e-12)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            sums[0] += float(num.detach())
            sums[1] += float(den.detach())
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{sums[0] / max(sums[1], 1e-12):.4f}")
        total = D.all_reduce_sum(sums, dev)
        train_curve.append(total[0] / max(total[1], 1e-12))
        if not val_idx:
            continue
        val = _validation_loss(model, batch_loss, val_idx[rank::world], batch_size, dev)
        val_curve.append(val)
        if stopper.update(epoch, val):
            break
    stopper.restore()
    model.eval()
    return TrainReport(
        train_loss=train_curve,
        val_loss=val_curve,
        best_epoch=stopper.best_epoch if val_idx else len(train_curve),
        epochs_run=len(train_curve),
        stopped_early=len(train_curve) < epochs,
        n_train=len(train_idx),
        n_val=len(val_idx),
        class_weights=cw.tolist(),
        seconds=time.perf_counter() - start_time,
        world_size=world,
    )


def _length_grouped(order: list[int], ids: list[list[int]], batch: int, rng: Any) -> list[int]:
    """Sort each run of 50 batches by length, cut into batches, shuffle the batches."""
    span = batch * 50
    chunks = [
        sorted(order[i : i + span], key=lambda j: len(ids[j])) for i in range(0, len(order), span)
    ]
    batches = [c[i : i + batch] for c in chunks for i in range(0, len(c), batch)]
    return [j for b in rng.permutation(len(batches)) for j in batches[b]]


def _validation_loss(
    model: Any, batch_loss: Any, idx: list[int], batch_size: int, dev: Any
) -> float:
    import torch

    sums = [0.0, 0.0]
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(idx), batch_size):
            num, den = batch_loss(model, idx[start : start + batch_size])
            sums[0] += float(num)
            sums[1] += float(den)
    total = D.all_reduce_sum(sums, dev)
    return total[0] / max(total[1], 1e-12)


def _check_inputs(
    texts: list[str], targets: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if not texts:
        raise ValueError("texts is empty; nothing to train on")
    bad = [i for i, x in enumerate(texts) if not isinstance(x, str) or not x.strip()]
    if bad:
        raise ValueError(f"texts[{bad[0]}] is not a non-empty string ({len(bad)} such rows)")
    t = np.asarray(targets, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != len(texts) or t.shape[1] < 2:
        raise ValueError(f"targets must have shape (len(texts)={len(texts)}, C>=2); got {t.shape}")
    if not np.all(np.isfinite(t)) or t.min() < 0 or not np.allclose(t.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each targets row must be a probability distribution (>= 0, sums to 1)")
    if sample_weight is None:
        return t, np.ones(len(texts))
    s = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if s.shape != (len(texts),) or not np.all(np.isfinite(s)) or s.min() <= 0:
        raise ValueError(f"sample_weight must hold {len(texts)} finite values > 0")
    return t, s


def _check_hparams(
    val_fraction: float,
    lr: float,
    epochs: int,
    batch_size: int,
    max_length: int,
    patience: int,
    optimizer: str,
    precision: str,
) -> None:
    checks = {
        "val_fraction must be in [0, 1)": 0 <= val_fraction < 1,
        "lr must be > 0": lr > 0,
        "epochs must be >= 1": epochs >= 1,
        "batch_size must be >= 1": batch_size >= 1,
        "max_length must be >= 2": max_length >= 2,
        "patience must be >= 1": patience >= 1,
        f"optimizer must be one of {OPTIMIZERS}": optimizer in OPTIMIZERS,
        f"precision must be one of {PRECISIONS}": precision in PRECISIONS,
    }
    failed = [msg for msg, ok in checks.items() if not ok]
    if failed:
        raise ValueError("; ".join(failed))


def _make_optimizer(name: str, model: Any, lr: float, weight_decay: float) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


def _linear_schedule(opt: Any, total_steps: int, warmup_fraction: float) -> Any:
    """LR factor: linear warm-up over `warmup_fraction` of the steps, then linear decay to 0."""
    import torch

    warm = int(warmup_fraction * total_steps)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _autocast(precision: str, dev: Any) -> Any:
    """bf16/fp16 autocast where asked for ("auto": bf16 on a GPU that supports it)."""
    import torch

    if precision == "auto":
        on_gpu = dev.type == "cuda" and torch.cuda.is_bf16_supported()
        precision = "bf16" if on_gpu else "fp32"
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=dev.type, dtype=dtype)


def _progress(it: Any, enabled: bool, desc: str) -> Any:
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, leave=False)
