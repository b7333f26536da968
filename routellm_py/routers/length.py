"""The length router: a longer prompt gets a higher win rate. No training, no checkpoint.

A ruler, not a coin: the baseline a learned router must beat beside `random`. Prompt
length predicts difficulty on several benchmarks (a longer question tends to need the
stronger model), so a learned router that does not beat this one has learned no more.
"""

from __future__ import annotations

import math

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.routers.base import Router, register


@register("length")
class LengthRouter(Router):
    """win_rate = sigmoid((ln(n_chars) - ln(midpoint_chars)) / scale), n_chars = len(prompt).

    A fixed logistic of log characters: strictly increasing in length, 0.5 at
    `midpoint_chars`, and each factor e^scale of length moves the logit by 1. Equal lengths
    tie. APGR and CPT depend only on the order, so they do not depend on the two parameters;
    thresholds do (calibrate them like any router's).
    """

    trainable = False

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        midpoint_chars: float = 500.0,
        scale: float = 1.0,
    ) -> None:
        super().__init__(strong_model, weak_model)
        for name, v in (("midpoint_chars", midpoint_chars), ("scale", scale)):
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"length router: {name} must be a finite number > 0, got {v!r}")
        self.midpoint_chars = float(midpoint_chars)
        self.scale = float(scale)

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        chars = np.array([len(p) for p in prompts], dtype=np.float64)
        z = (np.log(chars) - math.log(self.midpoint_chars)) / self.scale
        return 0.5 * (1.0 + np.tanh(z / 2))  # = 1 / (1 + e^-z), without overflow
