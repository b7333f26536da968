"""The real `mf` and `sw_ranking` routers through the leave-one-source-out folds of
`protocol.py`: each fold trains the router with the library (`Router.fit` on the
`load_sources` battles of the other sources, labels and text policy as in the router's
parameters) and scores the held-out source's prompts with `win_rate`.

    .venv/bin/python benchmarks/generalisation/routers.py --router mf \
        --params '{"labels": "gap", "all_weight": 0.05, "text_policy": "tail:1000"}' --tag mf
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocol import (  # noqa: E402
    RESULTS,
    apgr,
    folds,
    interval,
    prompt_table,
    random_band,
    selection_score,
)
from tables import load_tables, sample  # noqa: E402

from routellm_py.data.battles import Battles  # noqa: E402
from routellm_py.data.sources import load_sources  # noqa: E402
from routellm_py.lab.train import train_router  # noqa: E402

TRAIN_SPEC = (
    "arena-bench-v1,alpaca-eval,vicuna-bench,vicuna-pairwise,routerbench,mmlu-gold,"
    "mmlu-pro,faithful-cot,llmrouter,llmrouter-test"
)
HELD_WITH = {"llmrouter-test": "llmrouter", "vicuna-pairwise": "vicuna-bench"}


def training_battles(prompts: set[str], spec: str = TRAIN_SPEC) -> Battles:
    """The library's battles of every training source (`load_sources`), on `prompts` only."""
    b = load_sources(spec)
    return Battles(b.frame[b.frame["prompt"].isin(prompts)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--router", required=True, help="mf or sw_ranking")
    ap.add_argument("--params", default="{}", help="router constructor parameters (JSON)")
    ap.add_argument("--full", action="store_true", help="every prompt, not `tables.sample`")
    ap.add_argument("--boot", action="store_true", help="bootstrap intervals and random bands")
    ap.add_argument("--tag", required=True)
    args = ap.parse_args(argv)
    params = json.loads(args.params)
    scores = load_tables()
    scores = scores if args.full else sample(scores)
    table = prompt_table(scores)
    battles = training_battles(set(table["prompt"]))
    loso_source = battles.frame["source"].map(lambda x: HELD_WITH.get(x, x))
    rows = []
    for kind, name, dom, held in folds(table):
        if kind != "LOSO":
            continue
        s, w = table.loc[held, "strong_q"].to_numpy(), table.loc[held, "weak_q"].to_numpy()
        ok = np.isfinite(s) & np.isfinite(w)
        held_prompts = table.loc[held, "prompt"][ok]
        train = battles.frame[(loso_source != name) & ~battles.frame["prompt"].isin(held_prompts)]
        # held-out prompts are excluded by construction: digests only, no embeddings
        router = train_router(
            args.router, Battles(train), near_duplicate_encoder=None, progress=False, **params
        )
        rates = router.win_rate(held_prompts.tolist())
        s, w = s[ok], w[ok]
        row = {"kind": kind, "held_out": name, "domain": dom, "n": int(ok.sum()),
               "apgr": apgr(rates, s, w), "strong_mean": float(s.mean()),
               "weak_mean": float(w.mean())}  # fmt: skip
        if args.boot:
            row["ci"], row["random_band"] = interval(rates, s, w), random_band(s, w)
        rows.append(row)
        print(f"{args.router} {params} {name}: {row['apgr']:.3f}", file=sys.stderr)
        out = {"router": args.router, "params": params, "summary": selection_score(rows),
               "folds": rows}  # fmt: skip
        RESULTS.mkdir(exist_ok=True)  # written after every fold: a long run can be cut short
        (RESULTS / f"{args.tag}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("router", "params", "summary")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
