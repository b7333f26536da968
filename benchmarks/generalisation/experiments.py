"""Issue 10 leads under the protocol of `protocol.py` (same sample, folds, metric, selection
score): (a) the training mix, (b) supervised heads on frozen embeddings, (c) the learned score
plus log prompt length, with the weight of length chosen on inner validation folds only.

(a) Mix (`mix_weights`): `prompts` (today: one label per prompt, weight 1), `source` (every
    training source the same total weight), `domain` (chat, knowledge and math each a third of
    the total weight, split equally over the sources present in the domain).
(b) Heads on the frozen `tail:1000` embedding: `ridge` (linear least squares) and `mlp`
    (one hidden layer of 64 ReLU units, early stopping) regressing a label scheme of
    `protocol.prompt_table` (task-difficulty, task-gap, gap); `sw-pls`, SW ranking in the
    16-dimensional supervised (partial least squares) subspace of the embedding; `sw` and `lr`
    as in `protocol.py`.
(c) `+len`: rate = z(learned) + b z(log length), z with the mean and std of the training
    prompts' out-of-fold scores. b in `B_GRID` (inf: length alone) maximises the selection
    score over the inner folds (`protocol.folds` of the training rows, the held-out fold
    never seen); `+len/dom` picks b per domain and applies the b of the domain a logistic
    regression on the embedding predicts for each held-out prompt.

Every candidate gets, per fold, 1,000 bootstrap APGRs on the same seeded resamples
(`metrics.bootstrap_apgrs`, seed 0), so the selection score has a bootstrap 95% interval and
the difference to the shipped configuration (`sw`, task-difficulty, `prompts`,
model2vec-minilm) a paired one.

    python benchmarks/generalisation/experiments.py --tag exp_mix \
        --candidates m2v/sw/task-difficulty/prompts,m2v/sw/task-difficulty/domain
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import protocol as P  # noqa: E402
from tables import load_tables, sample  # noqa: E402

from routellm_py import metrics as M  # noqa: E402

ENCODERS = {"m2v": "model2vec-minilm", "minilm": "minilm", "hash": "hashing:4096"}
SHIPPED = "m2v/sw/task-difficulty/prompts"
B_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, np.inf)
DOMAINS = ("chat", "knowledge", "math")
MIN_FOLD = 30  # inner folds with fewer prompts are skipped (APGR of a handful is noise)


# ---- (a) mixes -------------------------------------------------------------------------
def mix_weights(rows: pd.DataFrame, mix: str) -> np.ndarray:
    """Per-row training weight, mean 1. `prompts`: 1; `source`: 1 / n(source); `domain`:
    1 / (n(domain, source) * sources in the domain), so each domain weighs a third."""
    if mix == "prompts":
        return np.ones(len(rows))
    if mix == "source":
        w = 1.0 / rows.groupby("source")["source"].transform("size").to_numpy()
    elif mix == "domain":
        n = rows.groupby(["domain", "source"])["source"].transform("size")
        k = rows.groupby("domain")["source"].transform("nunique")
        w = 1.0 / (n * k).to_numpy()
    else:
        raise ValueError(f"mix must be prompts, source or domain, got {mix!r}")
    return w / w.mean()


# ---- (b) heads -------------------------------------------------------------------------
def fit_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float = 10.0) -> Callable:
    """Weighted ridge regression of y on x (closed form): argmin sum w (y - x b - c)^2 +
    alpha |b|^2."""
    mu_x, mu_y = np.average(x, axis=0, weights=w), np.average(y, weights=w)
    xc, yc = x - mu_x, y - mu_y
    a = (xc * w[:, None]).T @ xc + alpha * np.eye(x.shape[1])
    beta = np.linalg.solve(a, (xc * w[:, None]).T @ yc)
    return lambda q: (q - mu_x) @ beta + mu_y


def fit_mlp(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Callable:
    """One hidden layer of 64 ReLU units, L2 1e-3, Adam, early stopping on a seeded 10%
    split; sample weights as in (a)."""
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(
        hidden_layer_sizes=(64,), alpha=1e-3, early_stopping=True, max_iter=200, random_state=0
    )
    model.fit(x, y, sample_weight=w)
    return model.predict


def fit_sw_pls(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int = 16) -> Callable:
    """SW ranking in a supervised subspace: the first k partial-least-squares directions of
    (x, y) (the projections of x most covariant with the label), rows re-normalised to unit
    length, then `protocol.fit_sw` there. PLS takes no sample weights; w weighs the SW
    average only."""
    from sklearn.cross_decomposition import PLSRegression

    pls = PLSRegression(n_components=k, scale=False).fit(x, y)

    def project(q: np.ndarray) -> np.ndarray:
        z = pls.transform(q)
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    sw = P.fit_sw(project(x), y, w)
    return lambda q: sw(project(q))


LEARNERS = {
    "sw": P.fit_sw,
    "lr": P.fit_lr,
    "ridge": fit_ridge,
    "mlp": fit_mlp,
    "sw-pls": fit_sw_pls,
}


def parse(candidate: str) -> tuple[str, str, str, str, str]:
    """'enc/learner/scheme/mix[/+len|/+len/dom]' -> (enc, learner, scheme, mix, combine); learner
    'sw:B' is `sw` with kernel base B (`protocol.fit_sw`)."""
    parts = candidate.split("/")
    if len(parts) < 4 or parts[0] not in ENCODERS or parts[1].split(":")[0] not in LEARNERS:
        raise ValueError(f"candidate {candidate!r}: want enc/learner/scheme/mix[/+len[/dom]]")
    return parts[0], parts[1], parts[2], parts[3], "/".join(parts[4:])


# ---- folds ---------------------------------------------------------------------------------
def fit_score(x, table, rows: np.ndarray, learner: str, scheme: str, mix: str) -> Callable:
    """The learner fitted on `rows` with labels `scheme` and weights of `mix`."""
    sub = table[rows]
    fit = LEARNERS[learner.split(":")[0]]
    kw = {"base": float(learner.split(":")[1])} if ":" in learner else {}
    return fit(x[rows], sub[scheme].to_numpy(), mix_weights(sub, mix), **kw)


def scored_folds(table: pd.DataFrame, within: np.ndarray) -> list[tuple]:
    """`protocol.folds` restricted to the rows in `within`, scorable ones only."""
    out = []
    sub = table[within].reset_index(drop=True)
    idx = np.flatnonzero(within)
    for kind, name, dom, held in P.folds(sub):
        s, w = sub.loc[held, "strong_q"].to_numpy(), sub.loc[held, "weak_q"].to_numpy()
        ok = np.isfinite(s) & np.isfinite(w)
        if ok.sum() >= MIN_FOLD and abs(s[ok].mean() - w[ok].mean()) >= P.MIN_GAP:
            out.append((kind, name, dom, idx[held], ok))
    return out


def train_mask(table: pd.DataFrame, held: np.ndarray, within: np.ndarray, scheme: str):
    """Rows of `within` with a label, whose prompt text is not in the held-out fold."""
    labelled = np.isfinite(table[scheme].to_numpy())
    dup = table["prompt"].isin(table.loc[held, "prompt"]).to_numpy()
    return within & labelled & ~dup


# ---- (c) length --------------------------------------------------------------------------
def choose_b(x, table, within, learner, scheme, mix, loglen) -> tuple[dict, tuple, tuple]:
    """Inner folds on `within` (the outer held-out fold is not in it): out-of-fold learned
    scores, their z-normalisation (mean, std), that of log length, and the b of `B_GRID`
    with the best selection score over the inner folds, overall ("all") and per domain."""
    oof = np.full(len(table), np.nan)
    inner = []
    for _, _, dom, idx, ok in scored_folds(table, within):
        held = np.zeros(len(table), bool)
        held[idx] = True
        score = fit_score(x, table, train_mask(table, held, within, scheme), learner, scheme, mix)
        oof[idx] = score(x[idx])
        inner.append((dom, idx[ok]))
    z = (oof, np.nanmean(oof), np.nanstd(oof) + 1e-12)
    zl = (loglen[within].mean(), loglen[within].std() + 1e-12)
    sq, wq = table["strong_q"].to_numpy(), table["weak_q"].to_numpy()
    value: dict[str, dict[float, float]] = {k: {} for k in (*DOMAINS, "all")}
    for b in B_GRID:
        per: dict[str, list[float]] = {}
        for dom, q in inner:
            rates = combine(z[0][q], loglen[q], b, z[1:], zl)
            per.setdefault(dom, []).append(P.apgr(rates, sq[q], wq[q]))
        for dom, v in per.items():
            value[dom][b] = float(np.mean(v))
        value["all"][b] = float(np.mean([np.mean(v) for v in per.values()]))
    best = {k: max(v, key=v.get) for k, v in value.items() if v}
    return best, z[1:], zl


def combine(learned, loglen, b, z_learned: tuple, z_len: tuple) -> np.ndarray:
    """z(learned) + b z(log length) elementwise (b scalar or per prompt); b = inf: length
    alone."""
    zl = (loglen - z_len[0]) / z_len[1]
    b = np.broadcast_to(np.asarray(b, dtype=float), zl.shape)
    zs = (learned - z_learned[0]) / z_learned[1]
    return np.where(np.isinf(b), zl, zs + np.where(np.isinf(b), 0.0, b) * zl)


# ---- a run -------------------------------------------------------------------------------
def run(candidate: str, table: pd.DataFrame, xs: dict, folds: list) -> dict:
    """Every outer fold of `candidate` ('length': log prompt length, untrained)."""
    loglen = np.log1p(table["prompt"].str.len().to_numpy().astype(float))
    comb = ""
    if candidate != "length":
        enc, learner, scheme, mix, comb = parse(candidate)
        x = xs[enc]
    rows, boots, held_rates, t0 = [], [], {}, time.time()
    for kind, name, dom, idx, ok in folds:
        held = np.zeros(len(table), bool)
        held[idx] = True
        q = idx[ok]
        if candidate == "length":
            rates = loglen[q]
        else:
            train = train_mask(table, held, np.ones(len(table), bool), scheme)
            rates = fit_score(x, table, train, learner, scheme, mix)(x[q])
        extra = {}
        if comb:
            within = ~held & ~table["prompt"].isin(table.loc[held, "prompt"]).to_numpy()
            best, z, zl = choose_b(x, table, within, learner, scheme, mix, loglen)
            if comb == "+len":
                b = best["all"]
            else:  # +len/dom: the b of each prompt's predicted domain
                b = [best.get(d, best["all"]) for d in domain_classifier(x, table, within)(x[q])]
            rates = combine(rates, loglen[q], b, z, zl)
            extra = {"b": best}
        row, boot = fold_row((kind, name, dom), table, q, rates)
        rows.append({**row, **extra})
        held_rates[name] = np.asarray(rates, dtype=float)
        boots.append(boot)
    print(f"{candidate}: {time.time() - t0:.0f}s", file=sys.stderr)
    return {"candidate": candidate, "folds": rows, "boot": np.array(boots), "rates": held_rates}


def fold_row(fold: tuple, table: pd.DataFrame, q: np.ndarray, rates) -> tuple[dict, np.ndarray]:
    """A held-out fold's result row (APGR, bootstrap 95% interval) for `rates` on rows `q`,
    and its 1,000 bootstrap APGRs (seed 0: the same resamples for every candidate)."""
    s, w = table["strong_q"].to_numpy()[q], table["weak_q"].to_numpy()[q]
    boot = M.bootstrap_apgrs(rates, s, w, P.N_BOOT, seed=0)
    row = {"kind": fold[0], "held_out": fold[1], "domain": fold[2], "n": int(len(q)),
           "apgr": P.apgr(rates, s, w), "ci": M.percentile_interval(boot),
           "strong_mean": float(s.mean()), "weak_mean": float(w.mean())}  # fmt: skip
    return row, boot


def domain_classifier(x, table, within) -> Callable:
    """Logistic regression from the embedding to the domain (chat, knowledge, math)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(x[within], table.loc[within, "domain"])
    return model.predict


def selection(folds_rows: list[dict], boot: np.ndarray) -> tuple[dict, np.ndarray]:
    """Selection score (mean over domains of mean fold APGR) and per-domain means, each with
    the 95% interval of the same statistic over the per-fold bootstrap replicates; and the
    selection score's replicates (for paired differences)."""
    doms = np.array([r["domain"] for r in folds_rows])
    point = np.array([r["apgr"] for r in folds_rows])
    out = {}
    per_b = []
    for d in DOMAINS:
        m = doms == d
        rep = np.nanmean(boot[m], axis=0)
        per_b.append(rep)
        out[d] = (float(point[m].mean()), *M.percentile_interval(rep[np.isfinite(rep)]))
    rep = np.mean(per_b, axis=0)
    score = float(np.mean([out[d][0] for d in DOMAINS]))
    out["score"] = (score, *M.percentile_interval(rep[np.isfinite(rep)]))
    return out, rep


def compare(results: list[dict], table: pd.DataFrame, folds: list) -> list[dict]:
    """Per candidate of `results` (`run`'s dicts, SHIPPED among them): the summary of
    `selection`, the paired difference to SHIPPED, and per fold the random band and the
    `length` APGR."""
    bands, length = {}, {}
    loglen = np.log1p(table["prompt"].str.len().to_numpy().astype(float))
    for _, name, _, idx, ok in folds:
        q = idx[ok]
        s, w = table["strong_q"].to_numpy()[q], table["weak_q"].to_numpy()[q]
        bands[name] = P.random_band(s, w)
        length[name] = P.apgr(loglen[q], s, w)
    base = next(r for r in results if r["candidate"] == SHIPPED)
    base_summary, base_rep = selection(base["folds"], base["boot"])
    out = []
    for r in results:
        summary, rep = selection(r["folds"], r["boot"])
        diff = rep - base_rep
        summary["diff_vs_shipped"] = (
            summary["score"][0] - base_summary["score"][0],
            *M.percentile_interval(diff[np.isfinite(diff)]),
        )
        for f in r["folds"]:
            f["random_band"], f["length_apgr"] = bands[f["held_out"]], length[f["held_out"]]
        out.append({"candidate": r["candidate"], "summary": summary, "folds": r["folds"]})
        print(json.dumps({"candidate": r["candidate"], "summary": summary}))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--candidates", required=True, help="comma-separated, see `parse`")
    ap.add_argument("--tag", required=True, help="results/<tag>.json")
    args = ap.parse_args(argv)
    table = P.prompt_table(sample(load_tables()))
    prompts = table["prompt"].tolist()
    cands = args.candidates.split(",")
    if SHIPPED not in cands:
        cands.insert(0, SHIPPED)
    xs = {}
    for enc in {parse(c)[0] for c in cands if c != "length"}:
        P.ENCODER = ENCODERS[enc]
        xs[enc] = P.embeddings(prompts, "tail:1000", np.ones(len(prompts), bool))
    folds = scored_folds(table, np.ones(len(table), bool))
    results = [run(c, table, xs, folds) for c in cands]
    out = compare(results, table, folds)
    (P.RESULTS / f"{args.tag}.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
