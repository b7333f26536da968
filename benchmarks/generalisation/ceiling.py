"""How much a prompt embedding can tell at all: in-source cross-validation, a diagnosis
beside the out-of-domain protocol (it chooses nothing).

Per training source, the prompts are split into `K` seeded folds (a prompt text never on
both sides); `sw` (`protocol.fit_sw`) on the shipped embedding (model2vec-minilm,
`tail:1000`) is fitted on the other folds of the same source only, with each label scheme
of `protocol.prompt_table`, and scored on the held-out fold with the protocol's metric
(APGR of the source's strong-class vs weak-class quality). The held-out rates of the K folds
are pooled into one APGR per source, with a bootstrap 95% interval and the random band.

This is the best case for an embedding router: it has labels from the same source, the same
tasks, the same models. Where it is still at the random band, the embedding does not carry
the difference between the two classes on that source, and no mix of other sources can
add it; where it is well above the out-of-domain (LOSO) score, the gap is transfer.

    python benchmarks/generalisation/ceiling.py --tag ceiling   # results/ceiling.{json,md}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import experiments as E  # noqa: E402
import protocol as P  # noqa: E402
from tables import load_tables, prompt_hash  # noqa: E402

K = 5
SCHEMES = ("task-difficulty", "difficulty", "gap", "task-irt-gap", "pair")


def fold_of(prompts: pd.Series, k: int = K, seed: int = 0) -> np.ndarray:
    """Seeded fold of each prompt from the hash of its text (one text, one fold)."""
    return np.array([h % k for h in prompt_hash(prompts, seed)])


def in_source(table: pd.DataFrame, x: np.ndarray, source: str, scheme: str) -> np.ndarray:
    """Held-out rates of `scheme` on every prompt of `source` under K-fold CV within it
    (NaN where the scheme has no label in the source)."""
    rows = np.flatnonzero((table["source"] == source).to_numpy())
    y = table[scheme].to_numpy()[rows]
    if not np.isfinite(y).any():
        return np.full(len(rows), np.nan)
    fold = fold_of(table["prompt"].iloc[rows])
    rates = np.full(len(rows), np.nan)
    for f in range(K):
        train = (fold != f) & np.isfinite(y)
        held = fold == f
        if train.any() and held.any():
            rates[held] = P.fit_sw(x[rows[train]], y[train], np.ones(train.sum()))(x[rows[held]])
    return rates


def markdown(rows: list[dict]) -> str:
    """The results as a table: APGR [95% interval] per scheme, `*` above the random band."""

    def cell(row: dict, key: str) -> str:
        if key not in row:
            return "-"
        a, lo, hi = row[key]
        return f"{a:.3f}{' *' if a > row['random_band'][1] else ''} [{lo:.3f}, {hi:.3f}]"

    head = "| source | prompts | random band | `length` | " + " | ".join(SCHEMES) + " |"
    lines = [head, "|---" * (4 + len(SCHEMES)) + "|"]
    for r in rows:
        band = f"{r['random_band'][0]:.3f}-{r['random_band'][1]:.3f}"
        cells = " | ".join(cell(r, k) for k in SCHEMES)
        lines.append(f"| {r['source']} | {r['n']} | {band} | {r['length']:.3f} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tag", required=True, help="results/<tag>.json")
    args = ap.parse_args(argv)
    table = P.prompt_table(load_tables())
    P.ENCODER = E.ENCODERS["m2v"]
    x = P.embeddings(table["prompt"].tolist(), "tail:1000", np.ones(len(table), bool))
    out = []
    for source in sorted(table["source"].unique()):
        m = (table["source"] == source).to_numpy()
        s, w = table.loc[m, "strong_q"].to_numpy(), table.loc[m, "weak_q"].to_numpy()
        ok = np.isfinite(s) & np.isfinite(w)
        if abs(s[ok].mean() - w[ok].mean()) < P.MIN_GAP:
            continue
        length = table.loc[m, "prompt"].str.len().to_numpy().astype(float)
        row = {"source": source, "n": int(ok.sum()), "random_band": P.random_band(s[ok], w[ok]),
               "length": P.apgr(length[ok], s[ok], w[ok])}  # fmt: skip
        for scheme in SCHEMES:
            rates = in_source(table, x, source, scheme)[ok]
            if np.isfinite(rates).all():
                row[scheme] = (P.apgr(rates, s[ok], w[ok]), *P.interval(rates, s[ok], w[ok]))
        out.append(row)
        print(json.dumps(row))
    (P.RESULTS / f"{args.tag}.json").write_text(json.dumps(out, indent=1) + "\n")
    (P.RESULTS / f"{args.tag}.md").write_text(markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
