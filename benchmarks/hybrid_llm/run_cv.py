"""Hybrid LLM (Ding et al. 2024) on arena-bench-v1: 5-fold cross-validation of the
quality-gap router over the 300 prompts, for a small / medium / large quality-gap pair.

Rotation k (k = 0..4): test = fold k, validation = fold k+1 (threshold selection, §4.5),
train = the other three folds (the training loop holds out 10% of them for early stopping).
Quality q = GPT-4 judge grade (1-10), one answer per model and prompt (K = 1).

    python benchmarks/hybrid_llm/run_cv.py [--labels det,trans] [--epochs 3] [--max-length 256]

Per-prompt scores go to results/predictions.csv (rewritten atomically after every fold;
finished folds are skipped on a re-run); `report.py` turns them into the tables.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py._util import atomic_path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# (name, small, large): mean-grade gaps ~1.8, ~2.3 and ~5.3 on arena-bench-v1.
PAIRS = [
    ("small-gap", "gpt-3.5-turbo", "gpt-4-0314"),
    ("medium-gap", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"),
    ("large-gap", "mistralai/Mistral-7B-Instruct-v0.1", "gpt-4-1106-preview"),
]
N_FOLDS = 5
COLUMNS = [
    "pair",
    "small",
    "large",
    "mode",
    "rotation",
    "split",
    "key",
    "q_small",
    "q_large",
    "win_rate",
    "t_star",
    "best_epoch",
    "reused_from",
]


def folds(keys: list[str], n_folds: int = N_FOLDS, seed: int = 0) -> np.ndarray:
    """Fold id per prompt, seeded by prompt key so every pair uses the same split."""
    order = np.random.default_rng(seed).permutation(sorted(set(keys)))
    fold_of = {k: i % n_folds for i, k in enumerate(order)}
    return np.array([fold_of[k] for k in keys])


def train_split(fold: np.ndarray, k: int) -> np.ndarray:
    """Training rows of rotation k: every fold but the test fold k and validation fold k+1."""
    return np.flatnonzero((fold != k) & (fold != (k + 1) % N_FOLDS))


def run_fold(samples, fold: np.ndarray, k: int, mode: str, args) -> pd.DataFrame:
    """Train on three folds; score the validation fold k+1 and the test fold k."""
    from routellm_py.routers.quality_gap import QualityGapRouter

    train = train_split(fold, k)
    router = QualityGapRouter(
        strong_model=samples.large_model,
        weak_model=samples.small_model,
        labels=mode,
        backbone=args.backbone,
        epochs=args.epochs,
        lr=args.lr,
        max_length=args.max_length,
        seed=args.seed,
        progress=False,
    )
    router.fit_quality(
        [samples.prompts[i] for i in train], samples.small[train], samples.large[train]
    )
    rows = np.flatnonzero((fold == k) | (fold == (k + 1) % N_FOLDS))
    w = router.win_rate([samples.prompts[i] for i in rows])
    return pd.DataFrame(
        {
            "mode": mode,
            "rotation": k,
            "split": np.where(fold[rows] == k, "test", "val"),
            "key": [samples.keys[i] for i in rows],
            "q_small": samples.small[rows, 0],
            "q_large": samples.large[rows, 0],
            "win_rate": w,
            "t_star": router.t_star,
            "best_epoch": router.train_report["best_epoch"],
            "reused_from": "",
        }
    )


def same_labels_as_det(samples, fold: np.ndarray, k: int, mode: str) -> bool:
    """True when `mode` gives exactly the r_det labels on rotation k's training rows: the
    (seeded, deterministic) training run would then be identical, so it is not repeated."""
    from routellm_py.quality import make_labels

    train = train_split(fold, k)
    s, lg = samples.small[train], samples.large[train]
    return np.array_equal(make_labels(s, lg, mode).y, make_labels(s, lg, "det").y)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", default="det,trans", help="label modes to train (det,prob,trans)")
    p.add_argument("--pairs", default=",".join(n for n, _, _ in PAIRS))
    p.add_argument("--backbone", default="minilm")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=os.environ.get("ROUTELLM_PY_DATA"))
    p.add_argument("--out", default=str(RESULTS / "predictions.csv"))
    args = p.parse_args()

    from routellm_py.quality import JudgeScores, make_labels

    out = Path(args.out)
    done = pd.read_csv(out, dtype={"key": str}) if out.exists() else pd.DataFrame(columns=COLUMNS)
    scorer = JudgeScores("arena-bench-v1", args.data_dir)
    pairs = {}
    for name, small, large in PAIRS:
        if name in args.pairs.split(","):
            samples = scorer.samples(small, large)
            det, prob = (make_labels(samples.small, samples.large, m).y for m in ("det", "prob"))
            assert np.array_equal(det, prob), "K = 1: r_prob must equal r_det"
            pairs[name] = (samples, folds(samples.keys))
    # Rotation outermost: a run cut short still covers every pair and label mode.
    for k in range(N_FOLDS):
        for name, (samples, fold) in pairs.items():
            for mode in args.labels.split(","):
                mine = (done.pair == name) & (done.rotation == k)
                if (mine & (done["mode"] == mode)).any():
                    continue
                det_run = done[mine & (done["mode"] == "det")]
                if mode != "det" and len(det_run) and same_labels_as_det(samples, fold, k, mode):
                    part = det_run.assign(mode=mode, reused_from="det")
                else:
                    part = run_fold(samples, fold, k, mode, args).assign(
                        pair=name, small=samples.small_model, large=samples.large_model
                    )
                done = pd.concat([done, part[COLUMNS]], ignore_index=True)
                with atomic_path(out) as tmp:
                    done.to_csv(tmp, index=False)
                print(f"{name} {mode} rotation {k}: done", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
