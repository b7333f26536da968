"""Calibrators of win rates: maps q = c(p) fitted so that q means what it says,
P(strong beats weak) against held-out outcomes (`metrics.pairwise_outcome`: ties = 1/2).

Methods (all fitted by minimising log loss on (p_i, y_i) with soft labels y_i in [0, 1]):
- `temperature`: q = sigmoid(a z), z = logit(p) (Guo et al. 2017, temperature T = 1/a).
- `shift`: q = sigmoid(z + b), Platt with the slope fixed at 1: it moves the base rate and
  keeps every distinction the raw scores make (strictly increasing), the one logistic fit
  left when the scores rank held-out outcomes no better than chance.
- `platt`: q = sigmoid(a z + b) on the logit (Platt 1999); all three fitted by Newton's
  method (the loss is convex in (a, b)) with step halving.
- `isotonic`: pool-adjacent-violators (Ayer et al. 1955) on p sorted, equal p pooled first;
  each block k gives a breakpoint (mean p of the block, mean y of the block) and q is the
  linear interpolation between breakpoints (centred isotonic regression, Oron & Flournoy
  2017: strictly increasing between the first and last breakpoint, so routing order is kept
  there), flat beyond them, clipped to [1e-3, 1 - 1e-3] so log loss stays finite.
- `identity`: q = p (kept when no calibrator beats the raw win rates).
A calibrator must keep routing order (a threshold on q routes the same prompts as one on p):
temperature and Platt fits with a <= 0 (scores that rank the outcomes the wrong way on the
calibration data) are refused with `OrderError`, and `select_calibrator` leaves such a
method out and says so in its report.
Fitting and selection (`select_calibrator`: the method with the lowest K-fold
cross-validated log loss, seeded folds, refitted on all the data) live in the offline lab,
`routellm_py.lab.calibrate`; this module only applies a stored calibrator.

A checkpoint's calibrator is `calibration.json` in its directory: the method, its numbers
(breakpoints for isotonic; never pickle), the data it was fitted on, and the metrics
before and after. `Router.load` reads it and `Router.win_rate` applies it
(`win_rate(prompts, raw=True)` gives the uncalibrated score).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_FILE = "calibration.json"
METHODS = ("identity", "temperature", "shift", "platt", "isotonic")
ISOTONIC_CLIP = 1e-3
_LOGIT_CLIP = 1e-9


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), computed without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class OrderError(ValueError):
    """A fitted map would reverse the routing order (slope a <= 0 on the logit)."""


@dataclass(frozen=True)
class Calibrator:
    """A fitted map of raw win rates to calibrated ones; `params` as in the module doc:
    {"a", "b"} (temperature: b = 0; shift: a = 1), {"x", "y"} breakpoints (isotonic), {}."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration method {self.method!r}; valid: {METHODS}")
        need = {"identity": set(), "temperature": {"a"}, "shift": {"b"}, "platt": {"a", "b"}}
        keys = need.get(self.method, {"x", "y"})
        if set(self.params) != keys:
            raise ValueError(f"{self.method} calibrator needs params {sorted(keys)}")
        if "a" in keys and not self.params["a"] > 0:
            raise OrderError(
                f"{self.method} calibrator slope a = {self.params['a']:.4g} <= 0 would reverse "
                "the routing order: the raw win rates rank these outcomes the wrong way"
            )
        if self.method == "isotonic":
            x, y = np.asarray(self.params["x"], float), np.asarray(self.params["y"], float)
            if x.ndim != 1 or x.shape != y.shape or len(x) == 0 or np.any(np.diff(x) <= 0):
                raise ValueError("isotonic breakpoints x must increase strictly, y match x")

    def __call__(self, win_rates: Sequence[float]) -> np.ndarray:
        """Calibrated win rates, same shape, in [0, 1]."""
        p = np.asarray(win_rates, dtype=np.float64)
        if self.method == "identity":
            return p.copy()
        if self.method == "isotonic":
            q = np.interp(p, self.params["x"], self.params["y"])
            return np.clip(q, ISOTONIC_CLIP, 1 - ISOTONIC_CLIP)
        return sigmoid(self.params.get("a", 1.0) * logit(p) + self.params.get("b", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(d["method"], d.get("params", {}))


def calibrator_digest(calibrator: Calibrator | None) -> str:
    """sha256 of a calibrator's method and numbers (None counts as identity): what
    `calibration.WinRateQuantiles` records so stale quantiles are caught."""
    d = (calibrator or Calibrator("identity")).to_dict()
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def read_calibrator(directory: str | Path) -> Calibrator | None:
    """The calibrator stored in a checkpoint directory, or None if it has none."""
    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        return Calibrator.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} is not a valid calibrator: {e}") from e
