"""The shared fine-tuning loop: loss math by hand, learning, determinism, early stopping,
batched == single inference, and the DDP code path (gloo, world_size=1)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from routellm_py.hf_text import predict_proba
from routellm_py.training import classifier as C
from tests.tiny_models import tiny_config, tiny_tokenizer

WORDS_A = ["apple", "banana", "cherry", "grape"]
WORDS_B = ["car", "truck", "bus", "train"]


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer(WORDS_A + WORDS_B)


def toy_task(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Label 0 iff the text is fruit words; lengths vary so padding is exercised."""
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for i in range(n):
        words = WORDS_A if i % 2 == 0 else WORDS_B
        texts.append(" ".join(rng.choice(words, size=1 + i % 5)))
        y.append([1.0, 0.0] if i % 2 == 0 else [0.0, 1.0])
    return texts, np.array(y)


def fresh(arch: str, tokenizer, seed: int = 0):
    torch.manual_seed(seed)
    return C.build_sequence_classifier(tiny_config(arch, len(tokenizer)), 2)


def test_balanced_class_weights_by_hand():
    t = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=float)
    # mass (3, 1), M = 4, C' = 2: w = 4 / (2 * 3), 4 / (2 * 1)
    np.testing.assert_allclose(C.balanced_class_weights(t, np.ones(4)), [2 / 3, 2.0])
    # sample weights count as mass: (2*0.5 + 1, 2*0.5, 0) = (2, 1, 0), M = 3, C' = 2;
    # an absent class gets weight 0
    t3 = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(C.balanced_class_weights(t3, np.array([2.0, 1.0])), [0.75, 1.5, 0])


def test_soft_cross_entropy_matches_torch_weighted_ce_and_soft_bce():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
    y = torch.tensor([0, 2, 1])
    w = torch.tensor([0.5, 2.0, 1.5])
    num, den = C.soft_cross_entropy(logits, torch.eye(3)[y], torch.ones(3), w)
    expected = torch.nn.functional.cross_entropy(logits, y, weight=w)
    assert float(num / den) == pytest.approx(float(expected), rel=1e-6)
    # C = 2, unit weights: the soft binary cross-entropy of Hybrid LLM
    z = torch.tensor([[0.3, -0.2]])
    p = torch.tensor([[0.7, 0.3]])
    num, den = C.soft_cross_entropy(z, p, torch.ones(1), torch.ones(2))
    q = torch.softmax(z, dim=-1)[0, 0]
    bce = -(0.7 * torch.log(q) + 0.3 * torch.log(1 - q))
    assert float(num / den) == pytest.approx(float(bce), rel=1e-6)


def test_loss_decreases_and_task_is_learned(tokenizer):
    texts, y = toy_task(64)
    model = fresh("bert", tokenizer)
    report = C.train_classifier(
        model,
        tokenizer,
        texts,
        y,
        lr=1e-2,
        epochs=3,
        batch_size=8,
        max_length=16,
        patience=3,
        progress=False,
    )
    assert report.train_loss[-1] < 0.5 * report.train_loss[0]
    assert report.val_loss[-1] < 0.5 * report.val_loss[0]
    assert (report.n_train, report.n_val, report.epochs_run) == (58, 6, 3)
    proba = predict_proba(model, tokenizer, texts, max_length=16)
    assert np.mean(proba.argmax(1) == y.argmax(1)) > 0.95
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)


def test_same_seed_same_model(tokenizer):
    texts, y = toy_task(24)
    runs = []
    for _ in range(2):
        model = fresh("bert", tokenizer)
        C.train_classifier(model, tokenizer, texts, y, lr=1e-3, epochs=1, progress=False)
        runs.append(predict_proba(model, tokenizer, texts))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_early_stopping_restores_best_epoch(tokenizer):
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS_A + WORDS_B, size=4)) for _ in range(60)]
    y = np.eye(2)[rng.integers(0, 2, 60)]  # random labels: validation loss must go up
    model = fresh("bert", tokenizer)
    report = C.train_classifier(
        model,
        tokenizer,
        texts,
        y,
        lr=1e-2,
        epochs=6,
        patience=1,
        val_fraction=0.25,
        class_weighting=False,
        progress=False,
    )
    assert report.stopped_early and report.epochs_run < 6
    assert report.best_epoch == int(np.argmin(report.val_loss)) + 1
    assert report.epochs_run == report.best_epoch + 1  # patience 1
    # the restored weights are the best epoch's: recompute the validation loss
    val = np.random.default_rng(0).permutation(60)[:15]
    proba = predict_proba(model, tokenizer, [texts[i] for i in val])
    loss = -np.mean(np.log((proba * y[val]).sum(1)))
    assert loss == pytest.approx(report.val_loss[report.best_epoch - 1], rel=1e-4)


@pytest.mark.parametrize("arch", ["bert", "deberta", "llama"])
def test_batched_equals_one_at_a_time_and_keeps_order(arch, tokenizer):
    model = fresh(arch, tokenizer)
    texts, _ = toy_task(11)
    batched = predict_proba(model, tokenizer, texts, batch_size=4)
    single = np.concatenate([predict_proba(model, tokenizer, [t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert not np.allclose(batched[0], batched[1])  # rows differ, so order is tested


def test_bad_inputs_raise_clear_errors(tokenizer):
    model = fresh("bert", tokenizer)
    texts, y = toy_task(10)
    with pytest.raises(ValueError, match="probability distribution"):
        C.train_classifier(model, tokenizer, texts, y * 2, progress=False)
    with pytest.raises(ValueError, match="shape"):
        C.train_classifier(model, tokenizer, texts[:5], y, progress=False)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        C.train_classifier(model, tokenizer, texts, y, optimizer="lion", progress=False)
    with pytest.raises(ValueError, match="sample_weight"):
        C.train_classifier(model, tokenizer, texts, y, sample_weight=np.zeros(10), progress=False)
    with pytest.raises(ValueError, match="texts\\[1\\]"):
        C.train_classifier(model, tokenizer, ["a", " ", *texts[2:]], y, progress=False)


def test_ddp_world_size_one_matches_single_process(tokenizer):
    """The DDP path (gloo, one rank) trains exactly like the plain loop."""
    import torch.distributed as dist

    texts, y = toy_task(24)
    plain = fresh("bert", tokenizer)
    C.train_classifier(plain, tokenizer, texts, y, lr=1e-3, epochs=1, progress=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        ddp = fresh("bert", tokenizer)
        report = C.train_classifier(ddp, tokenizer, texts, y, lr=1e-3, epochs=1, progress=False)
    finally:
        dist.destroy_process_group()
    assert report.world_size == 1
    for (k, a), b in zip(plain.state_dict().items(), ddp.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)
