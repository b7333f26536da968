"""Out-of-domain validation on the training sources only: leave-one-source-out (LOSO) and
leave-one-task-out (LOTO).

Fold: train on every other source (LOSO) or every other task (LOTO: the tasks of
llmrouter, mmlu-pro, faithful-cot and routerbench), score the held-out prompts, and measure
the strong/weak decision with `routellm_py.metrics` APGR, where a held-out prompt's strong
and weak quality are the mean scores of that source's strong-class and weak-class models
(`routellm_py.training.pair_labels.CLASSES`). Each APGR comes with a bootstrap 95% interval
over held-out prompts, the random band (2.5-97.5 percentile over seeded random routers) and
the `length` baseline (win rate rising with prompt length).

Domains: math (faithful-cot, llmrouter gsm8k/math), chat (judge data: arena-bench-v1,
alpaca-eval, vicuna-bench), knowledge (the gold rest). The selection score, fixed before
any run: the mean over the three domains of the mean held-out APGR of their folds.

The learners here are the fast equivalents of the shipped routers on cached embeddings:
`lr` (logistic regression on soft labels: the function class of a 2-model MF, whose
s_strong - s_weak is linear in the embedding) and `sw` (the similarity-weighted label
average of SW ranking with two players). `benchmarks/generalisation/routers.py` runs the
real `mf` and `sw_ranking` routers through the same folds.

    .venv/bin/python benchmarks/generalisation/protocol.py --policies head,tail:1000 \
        --schemes gap,difficulty --learners lr --tag scan
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from irt import class_gap_labels  # noqa: E402
from tables import load_tables, sample  # noqa: E402

from routellm_py import metrics as M  # noqa: E402
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model  # noqa: E402
from routellm_py.embeddings import get_encoder  # noqa: E402
from routellm_py.embeddings.text_policy import parse_policy  # noqa: E402
from routellm_py.training.pair_labels import model_classes  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LOTO_SOURCES = ("llmrouter", "mmlu-pro", "faithful-cot", "routerbench")
CHAT = ("arena-bench-v1", "alpaca-eval", "vicuna-bench")
MATH_TASKS = ("llmrouter:gsm8k", "llmrouter:math")
N_BOOT, N_RANDOM = 1000, 1000
PAIRWISE_ONLY = ("alpaca-eval",)  # no absolute per-model scores
MIN_GAP = 0.05  # folds whose strong/weak mean quality differ less: PGR is noise, not scored


def domain(source: str, task: str) -> str:
    if source in CHAT:
        return "chat"
    if source == "faithful-cot" or f"{source}:{task}" in MATH_TASKS:
        return "math"
    return "knowledge"


# ---- per-prompt table: qualities and labels --------------------------------------------
def prompt_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (source, task, prompt): strong/weak class quality and every scheme's
    label in [0, 1] (NaN where a scheme has no label for the prompt), as
    `routellm_py.training.pair_labels` builds them (and "irt-gap", `irt.class_gap_labels`,
    which only this folder has). "task-X" is X centred within its task,
    y' = 1/2 + y - mean_task(y): only what varies inside a task is learned, not which task
    is harder (which does not transfer to a new task)."""
    rows = []
    for source, g in scores.groupby("source"):
        s_cls, w_cls = model_classes(source)
        wide = g.pivot_table(index=["task", "prompt"], columns="model", values="score")
        s_q = wide[[m for m in wide.columns if m in s_cls]].mean(axis=1)
        w_q = wide[[m for m in wide.columns if m in w_cls]].mean(axis=1)
        pair = [canonical_model(DEFAULT_STRONG), canonical_model(DEFAULT_WEAK)]
        if all(m in wide.columns for m in pair):
            y_pair = 0.5 + 0.5 * (wide[pair[0]] - wide[pair[1]])
        else:
            y_pair = pd.Series(np.nan, index=wide.index)
        rows.append(
            pd.DataFrame(
                {
                    "source": source,
                    "strong_q": s_q,
                    "weak_q": w_q,
                    "pair": y_pair,
                    "gap": 0.5 + 0.5 * (s_q - w_q),
                    # pairwise-only AlpacaEval: the class gap, as `pair_labels` does
                    "difficulty": 0.5 + 0.5 * (s_q - w_q)
                    if source in PAIRWISE_ONLY
                    else 1.0 - wide.mean(axis=1),
                    "irt-gap": class_gap_labels(wide.to_numpy(), list(wide.columns), s_cls, w_cls),
                }
            ).reset_index()
        )
    out = pd.concat(rows, ignore_index=True)
    for scheme in ("gap", "difficulty", "irt-gap"):  # "task-": centred within each (source, task)
        centred = out[scheme] - out.groupby(["source", "task"])[scheme].transform("mean")
        out["task-" + scheme] = (0.5 + centred).clip(0.0, 1.0)
    out["domain"] = [domain(s, t) for s, t in zip(out["source"], out["task"], strict=True)]
    return out


def folds(table: pd.DataFrame) -> list[tuple[str, str, str, np.ndarray]]:
    """(kind, held-out name, domain, held-out mask) for LOSO and LOTO. A LOTO fold is one
    (source, task), named "source:task": tasks of the same name in two sources (llmrouter and
    mmlu-pro "math", llmrouter and routerbench "mbpp") are separate folds."""
    out = []
    for s in sorted(table["source"].unique()):
        m = (table["source"] == s).to_numpy()
        out.append(("LOSO", s, table.loc[m, "domain"].mode()[0], m))
    for s in LOTO_SOURCES:
        for t in sorted(table.loc[table["source"] == s, "task"].unique()):
            m = ((table["source"] == s) & (table["task"] == t)).to_numpy()
            out.append(("LOTO", f"{s}:{t}", table.loc[m, "domain"].iloc[0], m))
    return out


# ---- learners --------------------------------------------------------------------------
def fit_lr(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float = 1.0) -> Callable:
    """Logistic regression on soft labels: each row twice, label 1 with weight w*y and
    label 0 with weight w*(1-y) (the same cross-entropy as the soft target)."""
    from sklearn.linear_model import LogisticRegression

    xx = np.vstack([x, x])
    yy = np.r_[np.ones(len(y)), np.zeros(len(y))]
    ww = np.r_[w * y, w * (1 - y)]
    keep = ww > 0
    model = LogisticRegression(C=c, max_iter=300).fit(xx[keep], yy[keep], sample_weight=ww[keep])
    return lambda q: model.predict_proba(q)[:, 1]


def fit_sw(x: np.ndarray, y: np.ndarray, w: np.ndarray, base: float = 10.0) -> Callable:
    """SW ranking with two players: the label mean weighted by w_b * base^(sim / max sim)
    (RouteLLM §4.1 has base 10: the nearest prompt weighs at most 10x a dissimilar one; a
    larger base makes the average more local), in blocks of 512 queries."""

    def score(q: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(q), 512):
            sims = q[i : i + 512] @ x.T
            rel = sims / np.maximum(sims.max(axis=1, keepdims=True), 1e-6)
            k = np.exp(np.log(base) * (rel - 1.0)) * w  # base^rel / base: no overflow
            out.append((k @ y) / k.sum(axis=1))
        return np.concatenate(out)

    return score


LEARNERS = {"lr": fit_lr, "sw": fit_sw, "lr+feat": fit_lr}
MATH_RE = r"\d\s*[-+*/^=]\s*\d|\\frac|\$|how many|how much|calculate|solve"
CODE_RE = r"def |return |function|python|```|\bcode\b|class |import "


def prompt_features(prompts: pd.Series) -> np.ndarray:
    """Cheap stacking features: log length, digit share, math and code cues (standardised)."""
    text = prompts.str.lower()
    f = np.stack(
        [
            np.log1p(prompts.str.len()),
            prompts.str.count(r"\d") / prompts.str.len().clip(lower=1),
            text.str.count(MATH_RE).clip(upper=5),
            text.str.count(CODE_RE).clip(upper=5),
        ],
        axis=1,
    ).astype(np.float64)
    return (f - f.mean(axis=0)) / np.maximum(f.std(axis=0), 1e-9)


# ---- metrics ---------------------------------------------------------------------------
def apgr(rates: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    return M.apgr(M.routed_curve(rates, s, w))


def interval(rates, s, w) -> tuple[float, float]:
    """Bootstrap 95% interval of APGR over held-out prompts (`metrics.bootstrap_apgrs`)."""
    return M.percentile_interval(M.bootstrap_apgrs(rates, s, w, N_BOOT))


def random_band(s, w) -> tuple[float, float]:
    """2.5-97.5 percentile of the APGR of seeded random routers (`metrics.random_apgrs`)."""
    return M.percentile_interval(M.random_apgrs(s, w, N_RANDOM))


# ---- runs ------------------------------------------------------------------------------
ENCODER = "minilm"  # set by --encoder


def embeddings(prompts: list[str], spec: str, train_mask: np.ndarray) -> np.ndarray:
    """Embeddings under a text policy whose prefixes are learned on the training prompts."""
    policy = parse_policy(spec).fit([p for p, t in zip(prompts, train_mask, strict=True) if t])
    return policy.embed(get_encoder(ENCODER), prompts)


def run(
    table: pd.DataFrame,
    policy: str,
    scheme: str,
    learner: str,
    weights: dict[str, float],
    boot: bool,
) -> list[dict]:
    prompts = table["prompt"].tolist()
    fixed = (
        None
        if parse_policy(policy).strip
        else embeddings(prompts, policy, np.ones(len(prompts), bool))
    )
    rows = []
    for kind, name, dom, held in folds(table):
        s, w = table.loc[held, "strong_q"].to_numpy(), table.loc[held, "weak_q"].to_numpy()
        ok = np.isfinite(s) & np.isfinite(w)
        labelled = np.isfinite(table[scheme].to_numpy())
        train = ~held & labelled & ~table["prompt"].isin(table.loc[held, "prompt"]).to_numpy()
        if not ok.any() or s[ok].mean() == w[ok].mean():
            continue
        x = fixed if fixed is not None else embeddings(prompts, policy, train)
        if learner.endswith("+feat"):
            x = np.hstack([x, prompt_features(table["prompt"])])
        sw = table.loc[train, "source"].map(weights).fillna(1.0).to_numpy()
        model = LEARNERS[learner](x[train], table.loc[train, scheme].to_numpy(), sw)
        rates = model(x[held][ok])
        s, w = s[ok], w[ok]
        length = table.loc[held, "prompt"].str.len().to_numpy()[ok].astype(float)
        row = {
            "kind": kind, "held_out": name, "domain": dom, "n": int(ok.sum()),
            "policy": policy, "scheme": scheme, "learner": learner, "encoder": ENCODER,
            "apgr": apgr(rates, s, w), "length_apgr": apgr(length, s, w),
            "strong_mean": float(s.mean()), "weak_mean": float(w.mean()),
        }  # fmt: skip
        if boot:
            row["ci"] = interval(rates, s, w)
            row["random_band"] = random_band(s, w)
        rows.append(row)
        print(f"{policy} {scheme} {learner} {kind} {name}: {row['apgr']:.3f}", file=sys.stderr)
    return rows


def selection_score(rows: list[dict]) -> dict[str, float]:
    """Mean held-out APGR per domain and the selection score (mean of the three), over the
    folds whose strong and weak class differ by at least `MIN_GAP` in mean quality."""
    df = pd.DataFrame(rows)
    df = df[(df["strong_mean"] - df["weak_mean"]).abs() >= MIN_GAP]
    per = df.groupby("domain")["apgr"].mean()
    return {**{d: float(v) for d, v in per.items()}, "score": float(per.mean())}


def source_weights(table: pd.DataFrame, mix: str) -> dict[str, float]:
    """'prompts': every labelled prompt weighs 1; 'balanced': every source the same total."""
    counts = table.groupby("source").size()
    if mix == "prompts":
        return {s: 1.0 for s in counts.index}
    return {s: float(counts.max() / n) for s, n in counts.items()}


def main(argv: list[str] | None = None) -> int:
    global ENCODER
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--policies", default="head")
    ap.add_argument("--schemes", default="gap")
    ap.add_argument("--learners", default="lr")
    ap.add_argument("--mix", default="prompts", help="prompts | balanced (source weights)")
    ap.add_argument("--boot", action="store_true", help="bootstrap intervals and random bands")
    ap.add_argument("--full", action="store_true", help="every prompt, not `tables.sample`")
    ap.add_argument("--encoder", default="minilm", help="encoder spec (get_encoder)")
    ap.add_argument("--tag", required=True, help="results/<tag>.json")
    args = ap.parse_args(argv)
    ENCODER = args.encoder
    scores = load_tables()
    table = prompt_table(scores if args.full else sample(scores))
    weights = source_weights(table, args.mix)
    runs = []
    for policy in args.policies.split(","):
        for scheme in args.schemes.split(","):
            for learner in args.learners.split(","):
                rows = run(table, policy, scheme, learner, weights, args.boot)
                runs.append(
                    {"policy": policy, "scheme": scheme, "learner": learner, "mix": args.mix,
                     "encoder": args.encoder,
                     "summary": selection_score(rows), "folds": rows}
                )  # fmt: skip
                print(
                    json.dumps({k: runs[-1][k] for k in ("policy", "scheme", "learner", "summary")})
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.tag}.json").write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
