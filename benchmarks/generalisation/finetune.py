"""Issue 10 lead: a fine-tuned encoder, under the protocol of `experiments.py` (same sample,
folds, bootstrap resamples and selection score).

Per held-out fold, the bundled all-MiniLM-L6-v2 is fully fine-tuned on the training rows
(`experiments.train_mask`: labelled, prompt text not in the held-out fold) with the bert
router's classifier machinery (`training.classifier.build_sequence_classifier` with two
classes, `train_classifier`): soft binary cross-entropy against the task-centred difficulty
y of `protocol.prompt_table`, target (1 - y, y), every prompt weight 1, no class weighting,
no validation split. The text is the `tail:1000` segment (the shipped text policy),
truncated to `MAX_LENGTH` tokens. The held-out prompt's rate is P(class 1) =
the predicted difficulty. Hyperparameters are the bert router's defaults (lr 5e-5, AdamW,
weight decay 0.01, 10% linear warm-up, batch 16), with one epoch: fixed before any run,
none tuned.

The shipped configuration (`experiments.SHIPPED`) runs on the same folds, so the paired
bootstrap difference of the selection score is that of `experiments.compare`.

    python benchmarks/generalisation/finetune.py --folds loso --jobs 2 --tag ft_loso
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import experiments as E  # noqa: E402
import protocol as P  # noqa: E402
from tables import load_tables, sample  # noqa: E402

from routellm_py.embeddings.text_policy import parse_policy  # noqa: E402

CANDIDATE = "minilm-ft/task-difficulty/prompts"
COMBINED = "minilm-ft+m2v-sw/task-difficulty/prompts"
SCHEME, POLICY, MAX_LENGTH = "task-difficulty", "tail:1000", 256
TUNING = {"lr": 5e-5, "epochs": 1, "batch_size": 16, "weight_decay": 0.01, "warmup_fraction": 0.1}


def fit_predict(train: list[str], y: np.ndarray, held: list[str], threads: int) -> np.ndarray:
    """Fine-tune MiniLM on (train, y) (module doc) and return P(class 1) on `held`."""
    import torch

    from routellm_py.hf_text import load_tokenizer, predict_proba
    from routellm_py.training.classifier import build_sequence_classifier, train_classifier

    torch.set_num_threads(threads)
    tok = load_tokenizer("minilm")
    model = build_sequence_classifier("minilm", 2, pad_token_id=tok.pad_token_id)
    targets = np.stack([1.0 - y, y], axis=1)
    train_classifier(
        model, tok, train, targets, val_fraction=0.0, class_weighting=False,
        max_length=MAX_LENGTH, seed=0, progress=False, **TUNING,
    )  # fmt: skip
    return predict_proba(model, tok, held, max_length=MAX_LENGTH)[:, 1]


def _job(args: tuple) -> tuple[str, np.ndarray, float]:
    name, train, y, held, threads = args
    t0 = time.time()
    rates = fit_predict(train, y, held, threads)
    print(f"{CANDIDATE} {name}: {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return name, rates, time.time() - t0


def candidate_run(candidate: str, table, folds: list, rates: dict[str, np.ndarray]) -> dict:
    """`experiments.run`'s dict for held-out `rates` computed elsewhere (per fold name)."""
    rows, boots = [], []
    for kind, name, dom, idx, ok in folds:
        row, boot = E.fold_row((kind, name, dom), table, idx[ok], rates[name])
        rows.append(row)
        boots.append(boot)
    return {"candidate": candidate, "folds": rows, "boot": np.array(boots), "rates": rates}


def combined(table, folds: list, tuned: dict, shipped: dict) -> dict:
    """COMBINED: per held-out fold, z(fine-tuned rate) + z(shipped `sw` rate), each z with the
    mean and standard deviation of that router's rates on the fold's prompts (no label used;
    equal weights, fixed before the run)."""

    def z(v: np.ndarray) -> np.ndarray:
        return (v - v.mean()) / (v.std() + 1e-12)

    rates = {name: z(tuned[name]) + z(shipped[name]) for name in tuned}
    return candidate_run(COMBINED, table, folds, rates)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--folds", default="loso", help="loso (LOSO folds only) or all")
    ap.add_argument("--jobs", type=int, default=2, help="folds fine-tuned in parallel")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per job")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: first N training rows")
    ap.add_argument("--combine", action="store_true", help="also score COMBINED (`combined`)")
    ap.add_argument("--tag", required=True, help="results/<tag>.json")
    args = ap.parse_args(argv)
    if args.folds not in ("loso", "all"):
        raise SystemExit(f"--folds must be loso or all, got {args.folds!r}")
    table = P.prompt_table(sample(load_tables()))
    folds = E.scored_folds(table, np.ones(len(table), bool))
    if args.folds == "loso":
        folds = [f for f in folds if f[0] == "LOSO"]
    policy = parse_policy(POLICY)
    texts = np.array([policy.segments(p)[0] for p in table["prompt"]], dtype=object)
    everything = np.ones(len(table), bool)
    jobs = []
    for _, name, _, idx, ok in folds:
        held = np.zeros(len(table), bool)
        held[idx] = True
        train = E.train_mask(table, held, everything, SCHEME)
        if args.limit:
            train &= np.cumsum(train) <= args.limit
        y = table.loc[train, SCHEME].to_numpy()
        jobs.append((name, texts[train].tolist(), y, texts[idx[ok]].tolist(), args.threads))
    jobs.sort(key=lambda j: -len(j[1]))  # longest fits first: the workers finish together
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        done = {name: (rates, secs) for name, rates, secs in pool.map(_job, jobs)}

    P.ENCODER = E.ENCODERS["m2v"]
    xs = {"m2v": P.embeddings(table["prompt"].tolist(), POLICY, everything)}
    tuned = {name: rates for name, (rates, _) in done.items()}
    results = [E.run(E.SHIPPED, table, xs, folds), candidate_run(CANDIDATE, table, folds, tuned)]
    if args.combine:
        results.append(combined(table, folds, results[1]["rates"], results[0]["rates"]))
    for r in results[1:]:
        for row in r["folds"]:
            row["seconds"] = round(done[row["held_out"]][1])
    out = E.compare(results, table, folds)
    for r, res in zip(out, results, strict=True):  # held-out rates: later combinations need
        r["rates"] = {n: np.round(v, 6).tolist() for n, v in res["rates"].items()}  # no fine-tune
    meta = {"folds": args.folds, "limit": args.limit, "max_length": MAX_LENGTH, "policy": POLICY}
    meta.update(TUNING)
    for r in out:
        r["setup"] = {"folds": args.folds} if r["candidate"] == E.SHIPPED else meta
    (P.RESULTS / f"{args.tag}.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
