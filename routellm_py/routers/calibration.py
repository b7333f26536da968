"""Calibrators of win rates: maps q = c(p) fitted so that q means what it says,
P(strong beats weak) against held-out outcomes (`metrics.pairwise_outcome`: ties = 1/2).

Methods (all fitted by minimising log loss on (p_i, y_i) with soft labels y_i in [0, 1]):
- `temperature`: q = sigmoid(a z), z = logit(p) (Guo et al. 2017, temperature T = 1/a).
- `platt`: q = sigmoid(a z + b) on the logit (Platt 1999); both fitted by Newton's method
  (the loss is convex in (a, b)) with step halving.
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
`select_calibrator` picks the method with the lowest K-fold cross-validated log loss
(seeded folds) and refits it on all the data.

A checkpoint's calibrator is `calibration.json` in its directory: the method, its numbers
(breakpoints for isotonic; never pickle), the data it was fitted on, and the metrics
before and after. `Router.load` reads it and `Router.win_rate` applies it
(`win_rate(prompts, raw=True)` gives the uncalibrated score).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py import metrics as M

CALIBRATION_FILE = "calibration.json"
METHODS = ("identity", "temperature", "platt", "isotonic")
ISOTONIC_CLIP = 1e-3
_LOGIT_CLIP = 1e-9


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class OrderError(ValueError):
    """A fitted map would reverse the routing order (slope a <= 0 on the logit)."""


@dataclass(frozen=True)
class Calibrator:
    """A fitted map of raw win rates to calibrated ones; `params` as in the module doc:
    {"a", "b"} (temperature: b = 0), {"x", "y"} breakpoints (isotonic), {} (identity)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration method {self.method!r}; valid: {METHODS}")
        need = {"identity": set(), "temperature": {"a"}, "platt": {"a", "b"}}
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
        return _sigmoid(self.params["a"] * _logit(p) + self.params.get("b", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(d["method"], d.get("params", {}))


def _newton_logistic(z: np.ndarray, y: np.ndarray, intercept: bool, iters: int = 100) -> list:
    """argmin over (a, b) of the log loss of sigmoid(a z + b) (b = 0 without intercept)."""
    X = np.stack([z, np.ones_like(z)], axis=1) if intercept else z[:, None]
    theta = np.zeros(X.shape[1])
    theta[0] = 1.0

    def loss(t: np.ndarray) -> float:
        return M.log_loss(_sigmoid(X @ t), y)

    current = loss(theta)
    for _ in range(iters):
        q = _sigmoid(X @ theta)
        grad = X.T @ (q - y) / len(y)
        hess = (X * (q * (1 - q))[:, None]).T @ X / len(y) + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(hess, grad)
        for _ in range(50):  # halve until the loss does not rise
            candidate = theta - step
            new = loss(candidate)
            if new <= current:
                break
            step = step / 2
        else:
            break
        theta, done, current = candidate, np.max(np.abs(step)) < 1e-10, new
        if done:
            break
    return [float(t) for t in theta]


def _pav_breakpoints(p: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators on (p, y): one (mean p, mean y) per block, y increasing."""
    ux, inv = np.unique(p, return_inverse=True)
    n = np.bincount(inv).astype(float)
    sy, sx = np.bincount(inv, weights=y), ux * n
    blocks: list[list[float]] = []  # [sum y, count, sum p]
    for k in range(len(ux)):
        blocks.append([sy[k], n[k], sx[k]])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    xs = [b[2] / b[1] for b in blocks]
    ys = [b[0] / b[1] for b in blocks]
    return xs, ys


def fit_calibrator(
    method: str, win_rates: Sequence[float], outcomes: Sequence[float]
) -> Calibrator:
    """Fit one `method` of METHODS to raw win rates and outcomes in [0, 1]."""
    p, y = (np.asarray(a, dtype=np.float64) for a in (win_rates, outcomes))
    M.brier_score(p, y)  # validates shapes, finiteness and [0, 1]
    if method == "identity":
        return Calibrator("identity")
    if method in ("temperature", "platt"):
        theta = _newton_logistic(_logit(p), y, intercept=method == "platt")
        return Calibrator(method, dict(zip(("a", "b"), theta, strict=False)))
    if method == "isotonic":
        xs, ys = _pav_breakpoints(p, y)
        return Calibrator("isotonic", {"x": xs, "y": ys})
    raise ValueError(f"unknown calibration method {method!r}; valid: {METHODS}")


def select_calibrator(
    win_rates: Sequence[float],
    outcomes: Sequence[float],
    methods: Sequence[str] = METHODS,
    folds: int = 5,
    seed: int = 0,
) -> tuple[Calibrator, dict[str, Any]]:
    """The method of `methods` with the lowest `folds`-fold cross-validated log loss, refitted
    on all data, and a report: CV log loss per method and the metrics before (raw), after
    (out-of-fold predictions of the chosen method) and in-sample after the refit."""
    p, y = (np.asarray(a, dtype=np.float64) for a in (win_rates, outcomes))
    if len(p) < 2 * folds:
        raise ValueError(f"{len(p)} prompts are too few to calibrate with {folds}-fold CV")
    fold = np.random.default_rng(seed).permutation(len(p)) % folds
    oof = {m: np.empty(len(p)) for m in methods}
    rejected: dict[str, str] = {}
    for k in range(folds):
        test = fold == k
        for m in methods:
            if m in rejected:
                continue
            try:
                oof[m][test] = fit_calibrator(m, p[~test], y[~test])(p[test])
            except OrderError as e:
                rejected[m] = str(e)
    cv = {m: M.log_loss(oof[m], y) for m in methods if m not in rejected}
    for best in sorted(cv, key=lambda m: cv[m]):  # identity and isotonic always keep order
        try:
            calibrator = fit_calibrator(best, p, y)
            break
        except OrderError as e:
            rejected[best] = str(e)
    report = {
        "selection": f"{folds}-fold cross-validated log loss (seed {seed})",
        "cv_log_loss": cv,
        "rejected": rejected,
        "before": M.calibration_summary(p, y),
        "after_cross_validated": M.calibration_summary(oof[best], y),
        "after_in_sample": M.calibration_summary(calibrator(p), y),
    }
    return calibrator, report


def read_calibrator(directory: str | Path) -> Calibrator | None:
    """The calibrator stored in a checkpoint directory, or None if it has none."""
    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        return Calibrator.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} is not a valid calibrator: {e}") from e


def calibration_card(info: dict[str, Any]) -> str:
    """The model card's "## Calibration" section from a calibration.json dict."""
    rows = [("raw", info["before"]), ("calibrated (out-of-fold)", info["after_cross_validated"])]
    lines = [
        "## Calibration",
        "",
        f"`win_rate` applies the **{info['method']}** calibrator (`{CALIBRATION_FILE}`; "
        "`win_rate(prompts, raw=True)` gives the raw score), chosen by "
        f"{info['selection']} among {', '.join(info['cv_log_loss'])}"
        + "".join(f"; {m} left out: {why}" for m, why in info.get("rejected", {}).items())
        + ".",
        f"Fitted on {info['data']['n_prompts']} prompts: {info['data']['description']}.",
        f"Outcome: {info['data']['outcome']}.",
        "",
        "| win rates | ECE (equal-width) | ECE (equal-mass) | Brier | log loss |",
        "|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append(
            f"| {label} | {m['ece_width']:.4f} | {m['ece_mass']:.4f} | {m['brier']:.4f} | "
            f"{m['log_loss']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def write_calibration(directory: str | Path, calibrator: Calibrator, info: dict[str, Any]) -> Path:
    """Write `calibration.json` (calibrator + `info`) into a checkpoint and put its
    "## Calibration" section in the checkpoint's README.md (replacing an older one)."""
    from routellm_py._util import atomic_write
    from routellm_py.routers.base import CARD_FILE

    d = Path(directory)
    record = {"format_version": 1, **calibrator.to_dict(), **info}
    atomic_write(d / CALIBRATION_FILE, json.dumps(record, indent=2) + "\n")
    card_path = d / CARD_FILE
    card = card_path.read_text() if card_path.is_file() else ""
    card = re.sub(r"\n?## Calibration\n.*?(?=\n## |\Z)", "", card, flags=re.S).rstrip("\n")
    atomic_write(card_path, (card + "\n\n" if card else "") + calibration_card(record))
    return d / CALIBRATION_FILE


MIN_PROMPTS = 50
OUTCOME_RULE = (
    "1 if the strong model scores higher than the weak one, 0 if lower, 1/2 on a tie "
    "(0/1 correctness: strong right and weak wrong = 1, the reverse = 0, both the same = 1/2)"
)


def held_out_outcomes(
    router: Any, spec: str, data_dir: str | Path | None = None, strict: bool = True
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """(prompts, outcomes, description) for calibrating `router` on the gold score tables of
    `spec` (names of `data.scores.SCORE_TABLES`, comma-separated): the rows scoring both of
    the router's models, outcome per OUTCOME_RULE, keeping only prompts the router did not
    fit: those absent from its training data (`provenance["data"]`) plus, for routers with
    an early-stopping split (`val_fraction`, `seed`), the training prompts held out there.
    `strict=False` skips tables that do not score both models instead of refusing them."""
    import pandas as pd

    from routellm_py.benchmarks.harness import training_prompts
    from routellm_py.data.scores import SCORE_TABLES, score_table
    from routellm_py.embeddings.router import validation_mask

    prompts: list[str] = []
    outcomes: list[np.ndarray] = []
    for name in (s.strip() for s in spec.split(",")):
        if name not in SCORE_TABLES:
            raise ValueError(
                f"--data {name!r} is not a gold score table; calibration needs per-prompt scores "
                f"of both models, from one of: {', '.join(SCORE_TABLES)}"
            )
        table = score_table(name, data_dir)
        if not strict and not {router.strong_model, router.weak_model} <= set(table.models):
            continue
        if not {router.strong_model, router.weak_model} <= set(table.models):
            raise ValueError(
                f"{name} does not score both {router.strong_model} and {router.weak_model}; "
                "pick a source that does (e.g. mmlu-gold, routerbench)"
            )
        s, w = table.scores(router.strong_model), table.scores(router.weak_model)
        both = ~(np.isnan(s) | np.isnan(w))
        prompts += table.frame["prompt"][both].tolist()
        outcomes.append(M.pairwise_outcome(s[both], w[both]))
    y = np.concatenate(outcomes)
    trained = set(training_prompts(router, data_dir))
    params = router.get_params()
    split = "val_fraction" in params and "seed" in params
    keep = np.array([p not in trained for p in prompts])
    if split:
        keep |= validation_mask(prompts, params["val_fraction"], params["seed"])
    # one row per prompt text: a prompt repeated across rows counts once (its mean outcome)
    kept = pd.Series(y[keep]).groupby(np.asarray(prompts)[keep], sort=False).mean()
    if len(kept) < MIN_PROMPTS:
        raise ValueError(
            f"only {len(kept)} prompts of {spec} were not used to fit this router (trained on "
            f"{router.provenance.get('data')!r}, validation split: {split}); calibration "
            f"needs >= {MIN_PROMPTS}: pass --data with a gold source it did not fit"
        )
    how = f", and its val_fraction={params['val_fraction']} split" if split else ""
    description = f"{spec}: prompts scoring both models, not in the router's training data{how}"
    data = {"spec": spec, "n_prompts": len(kept), "description": description}
    return kept.index.tolist(), kept.to_numpy(), {**data, "outcome": OUTCOME_RULE}


def calibrate_checkpoint(
    path: str | Path,
    spec: str | None = None,
    data_dir: str | Path | None = None,
    methods: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """Fit, select and store the calibrator of the checkpoint at `path` on held-out prompts
    of `spec` (default: the router's own training sources); returns the calibration record."""
    from routellm_py.data.scores import SCORE_TABLES
    from routellm_py.routers.base import Router

    router = Router.load(path)
    strict = bool(spec)
    if not spec:  # the router's own gold training sources (those scoring its pair are used)
        trained = (s.split("@")[0].strip() for s in router.provenance.get("data", "").split(","))
        spec = ",".join(s for s in trained if s in SCORE_TABLES)
    if not spec:
        raise ValueError(f"{path} records no gold training source; pass --data SOURCES")
    prompts, y, data = held_out_outcomes(router, spec, data_dir, strict=strict)
    raw = router.win_rate(prompts, raw=True)
    calibrator, report = select_calibrator(raw, y, methods)
    info = {**report, "data": data}
    write_calibration(path, calibrator, info)
    return {"format_version": 1, **calibrator.to_dict(), **info}
