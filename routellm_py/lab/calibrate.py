"""Offline calibration (the lab side of `routellm_py.calibration` and `routers.calibration`).

* Threshold calibration on representative prompts: `default_calibration_prompts` (the bundled
  training prompts of arena-bench-v1, alpaca-eval and routerbench, less every MMLU, GSM8K and
  MT-Bench prompt), `calibration_report` (scores them through the score cache), and
  `write_checkpoint_quantiles`, which stores the win-rate quantiles of a prompt set in a
  checkpoint so that serving `router-<name>-s<f>` is a lookup (`calibration.calibrate`).
* Win-rate calibrators (`routers.calibration.Calibrator`): `fit_calibrator`,
  `select_calibrator` (K-fold cross-validated log loss) and `calibrate_checkpoint`, fitted on
  held-out gold prompts (`held_out_outcomes`) and written with `write_calibration`.

Imports data adapters and benchmarks: never imported by the runtime (controller, server).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py import metrics as M
from routellm_py._util import CARD_FILE, atomic_write
from routellm_py.calibration import (
    WinRateQuantiles,
    prompts_digest,
    read_quantiles,
    threshold_for_strong_fraction,
    write_quantiles,
)
from routellm_py.routers.base import Router, load_router, read_config
from routellm_py.routers.calibration import (
    CALIBRATION_FILE,
    METHODS,
    Calibrator,
    OrderError,
    calibrator_digest,
    logit,
    sigmoid,
)
from routellm_py.routers.sw_ranking import SWRankingRouter

# what `default_calibration_prompts` are, as recorded in a checkpoint's quantiles
DEFAULT_PROMPTS = "arena-bench-v1,alpaca-eval,routerbench less every mmlu,gsm8k,mt-bench prompt"


@dataclass(frozen=True)
class Calibration:
    """Result of calibrating on `n_prompts` prompts: the threshold and the strong-call
    fraction it realises there (`requested` is what was asked for)."""

    threshold: float
    strong_fraction: float
    requested: float
    n_prompts: int


def default_calibration_prompts(data_dir: str | Path | None = None) -> list[str]:
    """Every bundled training prompt (`data.sources.bundled_prompts`) that is not a prompt
    of MMLU, GSM8K or MT-Bench, so calibration never sees evaluation prompts."""
    from routellm_py.data.benchmarks import BENCHMARKS, load_benchmark
    from routellm_py.data.sources import bundled_prompts

    held_out = {p for name in BENCHMARKS for p in load_benchmark(name, data_dir).prompts}
    return [p for p in bundled_prompts(data_dir) if p not in held_out]


def calibration_report(
    router: Router,
    strong_fraction: float,
    prompts: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Calibration:
    """Score the calibration prompts (cached) and pick the threshold for `strong_fraction`."""
    from routellm_py.benchmarks.scores import default_cache_dir, score_prompts

    if prompts is None:
        prompts = default_calibration_prompts(data_dir)
    cache = default_cache_dir() if cache_dir is None else cache_dir
    w = score_prompts(router, prompts, cache_dir=cache, progress=progress)
    t = threshold_for_strong_fraction(w, strong_fraction)
    return Calibration(t, float(np.mean(w >= t)), float(strong_fraction), len(w))


def read_prompts_file(path: str | Path) -> list[str]:
    """Prompts from a .txt file (one per line; empty lines are skipped) or a .jsonl file
    (one object per line with a "prompt" string)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"prompts file {p} does not exist")
    if p.suffix == ".txt":
        prompts = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif p.suffix == ".jsonl":
        from routellm_py.data.adapters.common import read_jsonl

        prompts = [r["prompt"] for r in read_jsonl(p, needed=("prompt",))]
        bad = [i for i, q in enumerate(prompts, 1) if not isinstance(q, str)]
        if bad:
            raise ValueError(f'{p}: record {bad[0]}: "prompt" must be a string')
    else:
        raise ValueError(f"prompts file {p} must end in .txt (one per line) or .jsonl")
    if not prompts:
        raise ValueError(f"prompts file {p} holds no prompts")
    return prompts


def write_checkpoint_quantiles(
    path: str | Path,
    prompts: Sequence[str] | None = None,
    sources: str | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> WinRateQuantiles:
    """Score `prompts` (default: `default_calibration_prompts`) with the checkpoint at `path`
    (calibrated win rates, as served) and write their `WinRateQuantiles` into it; `sources`
    names where the prompts came from (recorded with their count and sha256)."""
    from routellm_py.benchmarks.scores import default_cache_dir, score_prompts

    router = load_router(path)
    if router.checkpoint_dir is None:
        raise ValueError(f"{path} is not a checkpoint directory; quantiles are stored in one")
    if prompts is None:
        prompts = default_calibration_prompts(data_dir)
        sources = DEFAULT_PROMPTS
    elif not sources:
        raise ValueError("name the sources of the calibration prompts (sources=...)")
    cache = default_cache_dir() if cache_dir is None else cache_dir
    w = score_prompts(router, prompts, cache_dir=cache, progress=progress)
    record = {"sources": sources, "n": len(prompts), "sha256": prompts_digest(prompts)}
    quantiles = WinRateQuantiles.fit(w, record, calibrator_digest(router.calibrator))
    write_quantiles(router.checkpoint_dir, quantiles)
    return quantiles


def refresh_quantiles(path: str | Path, data_dir: str | Path | None = None) -> str:
    """After a calibrator change: recompute the checkpoint's quantiles if they were taken
    on the default prompts, else say they are stale. Returns what was done, in words."""
    old = read_quantiles(path)
    if old is None:
        return "no win-rate quantiles to refresh"
    if old.prompts["sources"] != DEFAULT_PROMPTS:
        return (
            f"win-rate quantiles on {old.prompts['sources']} are now stale: rerun "
            f"`routellm-py calibrate --router {path} --write-quantiles` with those prompts"
        )
    new = write_checkpoint_quantiles(path, data_dir=data_dir, progress=False)
    return f"refreshed the win-rate quantiles on {new.prompts['n']} default prompts"


# design of each logistic method on z = logit(p): (columns of X, offset) and start theta
_DESIGNS = {
    "temperature": (("a",), False),  # sigmoid(a z)
    "shift": (("b",), True),  # sigmoid(z + b)
    "platt": (("a", "b"), False),  # sigmoid(a z + b)
}


def _newton_logistic(z: np.ndarray, y: np.ndarray, method: str, iters: int = 100) -> dict:
    """argmin of the log loss of sigmoid(X theta + offset) for `method` of _DESIGNS."""
    names, offset = _DESIGNS[method]
    X = np.stack([z if n == "a" else np.ones_like(z) for n in names], axis=1)
    z0 = z if offset else np.zeros_like(z)
    theta = np.array([1.0 if n == "a" else 0.0 for n in names])

    def loss(t: np.ndarray) -> float:
        return M.log_loss(sigmoid(X @ t + z0), y)

    current = loss(theta)
    for _ in range(iters):
        q = sigmoid(X @ theta + z0)
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
    return {n: float(t) for n, t in zip(names, theta, strict=True)}


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
    if method in _DESIGNS:
        return Calibrator(method, _newton_logistic(logit(p), y, method))
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
    for best in sorted(cv, key=lambda m: cv[m]):  # identity, shift and isotonic always keep order
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
    sources = info["data"].get("per_source", {})
    if sources:
        lines += [
            "",
            "Per source (raw win rates; a negative correlation means the router ranks that "
            "source's outcomes the wrong way):",
            "",
            "| source | prompts | mean outcome | mean raw win rate | corr(raw, outcome) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {v['n']} | {v['mean_outcome']:.3f} | {v['mean_win_rate']:.3f} | "
            f"{v['corr']:+.3f} |"
            for name, v in sources.items()
        ]
    if "command" in info["data"]:
        lines += ["", f"Fitted with `{info['data']['command']}`."]
    return "\n".join(lines) + "\n"


def write_calibration(directory: str | Path, calibrator: Calibrator, info: dict[str, Any]) -> Path:
    """Write `calibration.json` (calibrator + `info`) into a checkpoint and put its
    "## Calibration" section in the checkpoint's README.md (replacing an older one)."""
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
    router: Any,
    spec: str,
    data_dir: str | Path | None = None,
    strict: bool = True,
    leave_one_out: bool = False,
) -> tuple[list[str], np.ndarray, list[str], dict[str, Any]]:
    """(prompts, outcomes, source of each, description) for calibrating `router` on the
    gold score tables of `spec` (names of `data.scores.SCORE_TABLES`, comma-separated): the
    rows scoring both of the router's models, outcome per OUTCOME_RULE, keeping only prompts
    the router did not fit: those absent from its training data (`provenance["data"]`)
    plus, for routers with an early-stopping split (`val_fraction`, `seed`), the training
    prompts held out there; with `leave_one_out` every prompt (to be scored by
    `LeaveOneOutSWRanking`). `strict=False` skips tables that do not score both models
    instead of refusing them."""
    import pandas as pd

    from routellm_py.benchmarks.harness import training_prompts
    from routellm_py.data.scores import SCORE_TABLES, score_table
    from routellm_py.training.tables import validation_mask

    prompts: list[str] = []
    sources: list[str] = []
    outcomes: list[np.ndarray] = []
    for name in (s.strip() for s in spec.split(",")):
        if name not in SCORE_TABLES:
            raise ValueError(
                f"--data {name!r} is not a gold score table; calibration needs per-prompt scores "
                f"of both models, from one of: {', '.join(SCORE_TABLES)}"
            )
        table = score_table(name, data_dir)
        if not {router.strong_model, router.weak_model} <= set(table.models):
            if not strict:
                continue
            raise ValueError(
                f"{name} does not score both {router.strong_model} and {router.weak_model}; "
                "pick a source that does (e.g. mmlu-gold, routerbench)"
            )
        s, w = table.scores(router.strong_model), table.scores(router.weak_model)
        both = ~(np.isnan(s) | np.isnan(w))
        prompts += table.frame["prompt"][both].tolist()
        sources += [name] * int(both.sum())
        outcomes.append(M.pairwise_outcome(s[both], w[both]))
    y = np.concatenate(outcomes)
    trained = set(training_prompts(router, data_dir))
    params = router.get_params()
    split = "val_fraction" in params and "seed" in params
    keep = np.array([leave_one_out or p not in trained for p in prompts])
    if split:
        keep |= validation_mask(prompts, params["val_fraction"], params["seed"])
    # one row per prompt text: a prompt repeated across rows counts once (its mean outcome,
    # its first source)
    rows = pd.DataFrame({"y": y, "source": sources})[keep]
    grouped = rows.groupby(np.asarray(prompts)[keep], sort=False)
    kept, first = grouped["y"].mean(), grouped["source"].first()
    if len(kept) < MIN_PROMPTS:
        raise ValueError(
            f"only {len(kept)} prompts of {spec} were not used to fit this router (trained on "
            f"{router.provenance.get('data')!r}, validation split: {split}); calibration "
            f"needs >= {MIN_PROMPTS}: pass --data with a gold source it did not fit"
        )
    how = f", and its val_fraction={params['val_fraction']} split" if split else ""
    description = f"{spec}: prompts scoring both models, not in the router's training data{how}"
    if leave_one_out:
        description = f"{spec}: prompts scoring both models, each scored {LOO_RULE}"
    data = {"spec": spec, "n_prompts": len(kept), "description": description}
    data |= {"outcome": OUTCOME_RULE}
    return kept.index.tolist(), kept.to_numpy(), first.tolist(), data


LOO_RULE = (
    "leave-one-prompt-out: its win rate comes from the battles of every other training "
    "prompt (training prompts at cosine >= 0.999 to it, itself and exact repeats, get weight 0)"
)
SELF_COSINE = 0.999  # fp16-stored embeddings of the same text reach ~0.9999


class LeaveOneOutSWRanking(SWRankingRouter):
    """The sw_ranking router as if each query prompt were left out of its training data.

    sw_ranking is fitted on every prompt it has (no validation split), so its calibration
    data are its own gold training prompts scored leave-one-out: the similarity weight of a
    training prompt at cosine >= SELF_COSINE to the query (the query itself) is set to 0.
    That is the router's estimate for a prompt it never saw, as on live traffic."""

    def similarity_weights(self, query_emb: np.ndarray) -> np.ndarray:
        """As `SWRankingRouter.similarity_weights` over the other prompts (max sim among them)."""
        sims = query_emb.astype(np.float32, copy=False) @ self._prompt_emb.T
        own = sims >= SELF_COSINE
        top = np.maximum(np.where(own, -1.0, sims).max(axis=1, keepdims=True), 1e-6)
        w = 10.0 * np.exp((sims / top) * np.float32(np.log(10.0)))
        return np.where(own, 0.0, w).astype(np.float32)


def per_source(raw: np.ndarray, y: np.ndarray, sources: Sequence[str]) -> dict[str, Any]:
    """Per source: prompts, mean outcome, mean raw win rate and their Pearson correlation
    (its sign says whether the raw scores rank that source's outcomes the right way)."""
    out = {}
    for name in dict.fromkeys(sources):
        m = np.asarray(sources) == name
        corr = np.corrcoef(raw[m], y[m])[0, 1] if m.sum() > 2 and np.std(y[m]) > 0 else 0.0
        out[name] = {
            "n": int(m.sum()),
            "mean_outcome": float(y[m].mean()),
            "mean_win_rate": float(raw[m].mean()),
            "corr": float(corr),
        }
    return out


def calibrate_checkpoint(
    path: str | Path,
    spec: str | None = None,
    data_dir: str | Path | None = None,
    methods: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """Fit, select and store the calibrator of the checkpoint at `path` on held-out prompts
    of `spec` (default: the router's own training sources; an sw_ranking router is scored
    leave-one-prompt-out, `LeaveOneOutSWRanking`); returns the calibration record."""
    from routellm_py.data.scores import SCORE_TABLES

    # sw_ranking is trained on every prompt it has: score each with its own battles left out
    loo = read_config(Path(path))["router"] == LeaveOneOutSWRanking.name
    router = (LeaveOneOutSWRanking if loo else Router).load(path)
    strict = bool(spec)
    if not spec:  # the router's own gold training sources (those scoring its pair are used)
        trained = (s.split("@")[0].strip() for s in router.provenance.get("data", "").split(","))
        spec = ",".join(s for s in trained if s in SCORE_TABLES)
    if not spec:
        raise ValueError(f"{path} records no gold training source; pass --data SOURCES")
    prompts, y, sources, data = held_out_outcomes(router, spec, data_dir, strict, loo)
    raw = router.win_rate(prompts, raw=True)
    calibrator, report = select_calibrator(raw, y, methods)
    data["per_source"] = per_source(raw, y, sources)
    data["command"] = f"routellm-py calibrate --fit-calibrator --router {path} --data {spec}"
    info = {**report, "data": data}
    write_calibration(path, calibrator, info)
    return {"format_version": 1, **calibrator.to_dict(), **info}
