"""`routellm-py select-threshold --router NAME_OR_PATH --max-drop 0.01 --benchmark mt-bench`.

Hybrid LLM §4.5 (Ding et al. 2024): split a benchmark's prompts at random into validation
and test; on validation, choose by grid search the threshold with the highest cost
advantage (share of queries routed to the small/weak model) whose quality drop relative to
all-strong is at most --max-drop; report drop and cost advantage on both splits side by side
(their Table 3). The benchmark prompts are those of `routellm-py bench` (MMLU's gold
split and, unless --no-decontaminate, contaminated prompts left out). Instead of
--benchmark, --eval-set FORMAT:PATH uses your own prompts and scores (csv, jsonl or
parquet; columns prompt, strong_score, weak_score; see routellm_py/data/evalset.py).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from routellm_py.calibration import ThresholdChoice
from routellm_py.cli.common import add_data_dir


@dataclass(frozen=True)
class SplitChoice:
    """A threshold chosen on validation and what it does on validation and test."""

    n_val: int
    n_test: int
    validation: ThresholdChoice
    test: ThresholdChoice


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "select-threshold",
        help="threshold with the most small-model calls within a quality-drop budget",
        description=__doc__,
    )
    p.add_argument("--router", required=True, help="router name or checkpoint path")
    p.add_argument(
        "--max-drop", type=float, required=True, help="largest relative quality drop (0.01 = 1%%)"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--benchmark", choices=["mt-bench", "mmlu", "gsm8k"])
    which.add_argument(
        "--eval-set", metavar="FORMAT:PATH", help="your own eval set: csv:, jsonl: or parquet:"
    )
    p.add_argument("--val-frac", type=float, default=0.5, help="share of prompts for validation")
    p.add_argument("--seed", type=int, default=0, help="seed of the validation/test split")
    p.add_argument(
        "--no-decontaminate", action="store_true", help="keep contaminated benchmark prompts"
    )
    p.add_argument("--cache-dir", default=None, help="score cache (default: $ROUTELLM_PY_CACHE)")
    add_data_dir(p)
    p.set_defaults(func=run)


def split_and_select(
    win_rates: np.ndarray,
    strong_scores: np.ndarray,
    weak_scores: np.ndarray,
    max_drop: float,
    val_frac: float = 0.5,
    seed: int = 0,
) -> SplitChoice:
    """Seeded random validation/test split; threshold chosen on validation (§4.5)."""
    from routellm_py.calibration import evaluate_threshold, select_threshold_max_drop

    n = len(win_rates)
    n_val = int(round(val_frac * n))
    if not 0.0 < val_frac < 1.0 or not 1 <= n_val < n:
        raise ValueError(
            f"--val-frac {val_frac} of {n} prompts leaves an empty validation or test set; "
            "use a value in (0, 1)"
        )
    perm = np.random.default_rng(seed).permutation(n)
    val, test = perm[:n_val], perm[n_val:]
    w, s, k = (np.asarray(a, dtype=np.float64) for a in (win_rates, strong_scores, weak_scores))
    chosen = select_threshold_max_drop(w[val], s[val], k[val], max_drop)
    on_test = evaluate_threshold(chosen.threshold, w[test], s[test], k[test])
    return SplitChoice(len(val), len(test), chosen, on_test)


def format_choice(c: SplitChoice, max_drop: float) -> str:
    """Table 3 style: threshold, then cost advantage and quality drop per split."""
    lines = [
        f"max quality drop {100 * max_drop:.2f}%  ->  threshold {c.validation.threshold!r}",
        f"{'split':<11}{'n':>6}{'cost advantage':>16}{'quality drop':>14}",
    ]
    for name, n, r in (("validation", c.n_val, c.validation), ("test", c.n_test, c.test)):
        lines.append(
            f"{name:<11}{n:>6}{100 * r.cost_advantage:>15.1f}%{100 * r.quality_drop:>13.2f}%"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from routellm_py.benchmarks.harness import evaluation_set
    from routellm_py.benchmarks.scores import score_prompts
    from routellm_py.routers.base import load_router

    if not args.max_drop >= 0:
        raise ValueError(f"--max-drop must be >= 0 (a fraction, 0.01 = 1%), got {args.max_drop}")
    router = load_router(args.router)
    if args.eval_set:
        from routellm_py.data.evalset import load_eval_set

        which = load_eval_set(args.eval_set, router.strong_model, router.weak_model)
    else:
        which = args.benchmark
    bench, n_total, dropped, _ = evaluation_set(
        which, {args.router: router}, args.data_dir, not args.no_decontaminate
    )
    w = score_prompts(router, bench.prompts, args.cache_dir)
    choice = split_and_select(
        w,
        bench.scores(router.strong_model),
        bench.scores(router.weak_model),
        args.max_drop,
        args.val_frac,
        args.seed,
    )
    print(
        f"{router.name} router {args.router} on {bench.name}: {len(bench)} of {n_total} "
        f"prompts (left out: {dropped}); strong {router.strong_model}, weak {router.weak_model}"
    )
    print(format_choice(choice, args.max_drop))
    return 0
