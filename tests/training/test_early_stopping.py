"""One early-stopping rule for every training loop: patience, relative improvement, best
weights restored."""

from __future__ import annotations

import pytest
import torch

from routellm_py.training.early_stopping import EarlyStopping


def run(losses: list[float], patience: int, min_delta: float = 0.0) -> tuple[int, int, float]:
    """Feed `losses` (the weight is set to the epoch number first); (epochs run, best epoch,
    weight after restore)."""
    net = torch.nn.Linear(1, 1, bias=False)
    stop = EarlyStopping(net, patience, min_delta)
    epoch = 0
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        if stop.update(epoch, loss):
            break
    stop.restore()
    return epoch, stop.best_epoch, float(net.weight.detach())


def test_stops_after_patience_epochs_without_a_lower_loss_and_restores_the_best() -> None:
    assert run([1.0, 0.5, 0.6, 0.7, 0.1], patience=2) == (4, 2, 2.0)
    assert run([1.0, 0.5, 0.6, 0.4, 0.45], patience=2) == (5, 4, 4.0)
    assert run([1.0, 0.9, 0.8], patience=1) == (3, 3, 3.0)


def test_min_delta_counts_tiny_gains_as_no_improvement_but_keeps_the_minimum() -> None:
    # 0.99995 is below 1.0 but not by 1e-4 relative: patience runs out, the weights kept are
    # still those of the lowest loss (epoch 2)
    assert run([1.0, 0.99995, 0.99994], patience=2, min_delta=1e-4) == (3, 3, 3.0)
    assert run([1.0, 0.99995, 1.2, 1.3], patience=2, min_delta=1e-4) == (3, 2, 2.0)
    assert run([1.0, 0.99995, 1.2, 1.3], patience=2) == (4, 2, 2.0)


def test_bad_patience_is_refused() -> None:
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(torch.nn.Linear(1, 1), 0)
