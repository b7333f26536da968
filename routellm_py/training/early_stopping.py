"""Early stopping on a held-out loss, shared by every training loop (MF, fine-tuned classifiers).

After each epoch `update(loss)` counts the epochs since the last improvement, i.e. since a
loss below best * (1 - min_delta) (min_delta = 0: any lower loss), and keeps a CPU copy of
the weights of the epoch with the lowest loss; `restore` puts those weights back.
"""

from __future__ import annotations

import math
from typing import Any


class EarlyStopping:
    """Tracks the best epoch of `model` and says when `patience` epochs brought no improvement."""

    def __init__(self, model: Any, patience: int, min_delta: float = 0.0) -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.model = model
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self._state: dict[str, Any] | None = None

    def update(self, epoch: int, loss: float) -> bool:
        """Record epoch `epoch`'s held-out loss; True when training should stop."""
        self.bad_epochs = 0 if loss < self.best * (1.0 - self.min_delta) else self.bad_epochs + 1
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            self._state = {
                k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
            }
        return self.bad_epochs >= self.patience

    def restore(self) -> None:
        """Load the best epoch's weights back into the model (no-op before any update)."""
        if self._state is not None:
            self.model.load_state_dict(self._state)
