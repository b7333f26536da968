"""N-way bench: quality vs dollars of the N-way policies on a gold source with > 2 models.

For n prompts and m models: gold quality y (n, m) (0/1, or a score in [0, 1]) and realised
cost C (n, m) in USD. A choice k (n,) (one model per prompt) is the point

    quality(k) = (1/n) sum_i y[i, k_i],    usd_per_1k(k) = (1000/n) sum_i C[i, k_i].

Baselines (`baselines`):
- single model j: k_i = j for every prompt.
- random (uniform): k_i ~ U{1..m}, in expectation quality = mean(y), usd = 1000 mean(C).
- random mix: send each prompt to model a with probability p, else b; in expectation the
  segment between the two single-model points. The best such mix at each budget x is the
  frontier f(x) = max {sum_j p_j Q_j : sum_j p_j D_j <= x, p in the simplex} (Q_j, D_j:
  model j's quality and USD/1k), the upper concave envelope of the single-model points,
  flat after the best model (`mix_frontier`). `gain` of a point = its quality - f(its
  cost): > 0 means the router beats every random mix of single models at that price
  (RouterBench's "non-decreasing convex hull", Hu et al. 2024, §3). Its 95% interval: the
  2.5-97.5 percentiles over 1,000 seeded paired resamples of the prompts (`gain_intervals`).
- oracle: k_i = the cheapest among the models with the best y[i] (the cheapest correct
  model for 0/1; the cheapest model when none is correct).

Policies (`routellm_py.policy.nway`): from router scores s (n, m), estimates (q, p_match)
= `estimates_from_scores(s)`; with expected costs E (n, m), k_i = the first model of
`quality_minus_cost_order(q, E, lambda)` or `cheapest_matching_order(p_match, E, t)`.

Costs (`load_nway`): a source's own per-prompt costs (RouterBench `<model>|total_cost`;
E = each model's mean C over the training folds), or prices (`--prices`, else litellm's
offline cost map; unknown price = error naming the model), C = E = prompt_tokens * input
price + expected output tokens (`policy.nway.output_length`) * output price.

Held-out estimates only: scores come from an `mf` router fitted here, never from a
shipped checkpoint (the shipped `mf` was trained on every gold source). Either
cross-fitted (`folds`: each task scored by a router trained on the source's other tasks)
or trained on other sources (`train_sources`, e.g. llmrouter for llmrouter-test); in both
cases evaluation prompts whose normalised text (lowercase, punctuation removed, spaces
collapsed) is in the training prompts are dropped or left out of training.
"""

from __future__ import annotations

import json
import re
import string
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.data.adapters.scores import ScoreTable
from routellm_py.data.aliases import canonical_model
from routellm_py.policy import nway as policy

LAMBDAS = (0.0, 1.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
TS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)
SOURCE_COSTS = {"routerbench"}  # sources with their own per-prompt USD cost
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


# ---- the curve math (pure) ----


def oracle_choice(y: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(n,) the cheapest model among those with the prompt's best quality."""
    best = y >= y.max(axis=1, keepdims=True)
    return np.where(best, cost, np.inf).argmin(axis=1)


def mix_frontier(usd: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (usd, quality) of f, the best random mix of single models at each budget:
    the upper concave envelope of the points, from the cheapest to the best model."""
    order = np.lexsort((-np.asarray(quality), np.asarray(usd)))
    hull: list[tuple[float, float]] = []
    for x, q in zip(np.asarray(usd)[order], np.asarray(quality)[order], strict=True):
        if hull and x == hull[-1][0]:
            continue  # same cost, lower quality (sorted by quality descending within cost)
        while len(hull) >= 2:
            (x1, q1), (x2, q2) = hull[-2], hull[-1]
            if (q2 - q1) * (x - x1) <= (q - q1) * (x2 - x1):  # hull[-1] on or below the chord
                hull.pop()
            else:
                break
        hull.append((float(x), float(q)))
    top = int(np.argmax([q for _, q in hull]))  # past the best model the mix only loses
    xs, qs = zip(*hull[: top + 1], strict=True)
    return np.array(xs), np.array(qs)


def frontier_quality(frontier: tuple[np.ndarray, np.ndarray], usd: float) -> float:
    """f(usd): linear between the vertices, the best quality beyond the last, NaN below
    the cheapest model (no mix is that cheap)."""
    xs, qs = frontier
    if usd < xs[0]:
        return float("nan")
    return float(np.interp(usd, xs, qs))


# ---- data ----


def normalise(text: str) -> str:
    """Lowercase, punctuation removed, whitespace collapsed (the data README's rule)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def routerbench_costs(data_dir: str | Path | None = None) -> pd.DataFrame:
    """RouterBench `<model>|total_cost` (USD): index sample_id, one column per canonical
    model (rows sharing a sample_id: their mean)."""
    from routellm_py.data.adapters.bundled import ROUTERBENCH_DIR
    from routellm_py.data.paths import resolve_data_dir

    parts = []
    for f in sorted((resolve_data_dir(data_dir) / ROUTERBENCH_DIR).glob("*_train.csv")):
        raw = pd.read_csv(f)
        cols = {
            c: canonical_model(c.split("|")[0]) for c in raw.columns if c.endswith("|total_cost")
        }
        parts.append(raw[["sample_id", *cols]].rename(columns=cols))
    return pd.concat(parts).groupby("sample_id").mean()


def resolve_prices(
    models: Sequence[str], prices: Mapping[str, object] | None
) -> list[policy.Price]:
    """Per model: `prices[model]` ({"price_in", "price_out"} USD per token, or a litellm
    cost-map name such as "deepinfra/Qwen/Qwen2.5-7B-Instruct"), else litellm's price of
    the model's own name; unknown prices raise, naming every such model."""
    table = {canonical_model(k): v for k, v in (prices or {}).items()}
    out, missing = [], []
    for m in models:
        given = table.get(m, m)
        if isinstance(given, dict):
            try:
                out.append(policy.Price(float(given["price_in"]), float(given["price_out"])))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"prices: {m!r} needs numeric price_in and price_out") from e
            continue
        try:
            out.append(policy.litellm_price(str(given)))
        except KeyError:
            missing.append(m if given == m else f"{m} (as {given})")
    if missing:
        raise ValueError(
            f"no price for models {missing} in litellm's offline cost map; give each in "
            "--prices as a cost-map name or {price_in, price_out} (USD per token)"
        )
    return out


@dataclass
class NwayData:
    """One source's prompts with every chosen model scored; costs as in the module."""

    source: str
    models: list[str]
    frame: pd.DataFrame  # key, prompt, task
    y: np.ndarray
    cost: np.ndarray  # realised USD (n, m)
    expected: np.ndarray | None  # the policy's expected USD; None: from `cost` per fold
    cost_note: str
    table: ScoreTable  # the whole source, for training on its other tasks
    dropped: dict[str, int] = field(default_factory=dict)

    def subset(self, keep: np.ndarray) -> NwayData:
        exp = None if self.expected is None else self.expected[keep]
        frame = self.frame[keep].reset_index(drop=True)
        return replace(
            self, frame=frame, y=self.y[keep], cost=self.cost[keep], expected=exp,
            dropped=dict(self.dropped),
        )  # fmt: skip


def load_nway(
    source: str,
    models: Sequence[str] | None = None,
    prices: Mapping[str, object] | None = None,
    data_dir: str | Path | None = None,
) -> NwayData:
    """The source's score table restricted to `models` (default: all) and to the prompts
    every one of them has a score (and a cost) for."""
    from routellm_py.data.scores import score_table

    table = score_table(source, data_dir)
    chosen = table.models if models is None else [canonical_model(m) for m in models]
    unknown = sorted(set(chosen) - set(table.models))
    if unknown:
        raise ValueError(f"{source} has no scores for {unknown}; its models: {table.models}")
    if len(set(chosen)) < 3:
        raise ValueError(f"N-way bench needs >= 3 distinct models, got {chosen}")
    frame = table.frame.reset_index(drop=True)
    y = frame[chosen].to_numpy(dtype=np.float64)
    if source in SOURCE_COSTS and prices is None:
        cost = routerbench_costs(data_dir).reindex(frame["key"])[chosen].to_numpy(np.float64)
        expected, note = None, f"{source}'s own per-prompt total_cost"
    else:
        tokens = np.array([policy.estimate_tokens(len(p)) for p in frame["prompt"]])
        lengths = [policy.output_length(m) for m in chosen]
        cost = policy.expected_cost(
            tokens, resolve_prices(chosen, prices), [o.tokens for o in lengths]
        )
        expected = cost
        note = (
            "prompt chars/4 x input price + output tokens ("
            + ", ".join(
                f"{m}: {o.tokens:g} from {o.source}" for m, o in zip(chosen, lengths, strict=True)
            )
            + ") x output price"
        )
    keep = ~np.isnan(y).any(axis=1) & ~np.isnan(cost).any(axis=1)
    meta = frame[["key", "prompt", "task"]]
    data = NwayData(source, list(chosen), meta, y, cost, expected, note, table)
    out = data.subset(keep)
    out.dropped["unscored"] = int((~keep).sum())
    return out


# ---- held-out estimates ----


def _fit_mf(battles, models: list[str], progress: bool):
    from routellm_py.routers.mf import MFRouter

    return MFRouter(models[0], models[1], seed=0).fit(battles, progress=progress)


def cross_fitted_scores(data: NwayData, progress: bool = False) -> np.ndarray:
    """MF scores (n, m), each task scored by a router trained on the source's other tasks
    (their rows whose normalised prompt is also a held-out prompt are left out)."""
    full = data.table.frame
    norm_full = full["prompt"].map(normalise)
    tasks = data.frame["task"].to_numpy()
    if len(np.unique(tasks)) < 2:
        raise ValueError(f"{data.source}: one task, cross-fitting needs >= 2; use --train-sources")
    scores = np.zeros(data.y.shape)
    for task in sorted(np.unique(tasks)):
        held = tasks == task
        held_norm = set(data.frame.loc[held, "prompt"].map(normalise))
        train = full[(full["task"] != task) & ~norm_full.isin(held_norm)]
        battles = replace(data.table, frame=train.reset_index(drop=True)).to_battles(data.models)
        router = _fit_mf(battles, data.models, progress)
        scores[held] = router.model_scores(data.frame.loc[held, "prompt"].tolist(), data.models)
    return scores


def trained_elsewhere_scores(
    data: NwayData,
    train_sources: Sequence[str],
    progress: bool = False,
    data_dir: str | Path | None = None,
) -> tuple[NwayData, np.ndarray]:
    """(data less the prompts seen in training, MF scores) from a router trained on the
    `train_sources` score tables (each must score every one of the models)."""
    from routellm_py.data.battles import Battles
    from routellm_py.data.scores import score_table

    if data.source in train_sources:
        raise ValueError(f"--train-sources must not include the evaluated source {data.source!r}")
    tables = [score_table(s, data_dir) for s in train_sources]
    battles = Battles.concat([t.to_battles(data.models) for t in tables])
    seen = set().union(*(set(t.frame["prompt"].map(normalise)) for t in tables))
    keep = ~data.frame["prompt"].map(normalise).isin(seen).to_numpy()
    held = data.subset(keep)
    held.dropped["in_training"] = int((~keep).sum())
    router = _fit_mf(battles, data.models, progress)
    return held, router.model_scores(held.frame["prompt"].tolist(), data.models)


def fold_expected_cost(cost: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """E (n, m): each prompt's row = every model's mean realised cost on the other folds."""
    out = np.empty_like(cost)
    for f in np.unique(folds):
        out[folds == f] = cost[folds != f].mean(axis=0)
    return out


# ---- the table ----


def gains(quality: np.ndarray, usd: np.ndarray, single: np.ndarray) -> np.ndarray:
    """Each row's quality - f(its USD/1k), f the random-mix frontier of the `single` rows."""
    frontier = mix_frontier(usd[single], quality[single])
    return np.array([q - frontier_quality(frontier, x) for q, x in zip(quality, usd, strict=True)])


def gain_intervals(
    per_q: np.ndarray, per_usd: np.ndarray, single: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> np.ndarray:
    """(rows, 2) 2.5 and 97.5 percentiles of `gains` over `n_boot` seeded resamples of the
    prompts (paired: every row and the frontier on the same resample). `per_q`, `per_usd`:
    (rows, n) each row's per-prompt quality and USD per 1k."""
    rng = np.random.default_rng(seed)
    n = per_q.shape[1]
    boot = np.empty((n_boot, len(per_q)))
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        boot[b] = gains(per_q[:, idx].mean(axis=1), per_usd[:, idx].mean(axis=1), single)
    with warnings.catch_warnings():  # rows cheaper than every model: all NaN, kept NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(boot, [2.5, 97.5], axis=0).T


def evaluate(
    data: NwayData,
    scores: np.ndarray,
    lambdas: Sequence[float] = LAMBDAS,
    ts: Sequence[float] = TS,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """One row per single model, random, oracle and policy setting: quality, USD per 1k
    prompts, gain over the random-mix frontier and its bootstrap 95% interval (see the
    module; random (uniform) is per prompt the mean over the models)."""
    y, cost = data.y, 1000 * data.cost
    expected = data.expected
    if expected is None:
        expected = fold_expected_cost(data.cost, data.frame["task"].to_numpy())
    rows = np.arange(len(y))
    choices = [("single", name, np.full(len(y), j)) for j, name in enumerate(data.models)]
    choices.append(("oracle", "oracle", oracle_choice(y, cost)))
    q, p_match = policy.estimates_from_scores(scores)
    for lam in lambdas:
        k = policy.quality_minus_cost_order(q, expected, lam)[:, 0]
        choices.append(("lambda", f"quality - {lam:g} x cost", k))
    for t in ts:
        k = policy.cheapest_matching_order(p_match, expected, t)[:, 0]
        choices.append(("t", f"cheapest with P(match best) >= {t:g}", k))
    per_q = np.stack([y[rows, k] for *_, k in choices])
    per_usd = np.stack([cost[rows, k] for *_, k in choices])
    at = len(data.models)  # random (uniform) after the singles
    per_q = np.insert(per_q, at, y.mean(axis=1), axis=0)
    per_usd = np.insert(per_usd, at, cost.mean(axis=1), axis=0)
    choices.insert(at, ("random", "random (uniform)", None))
    table = pd.DataFrame([c[:2] for c in choices], columns=["kind", "policy"])
    quality, usd = per_q.mean(axis=1), per_usd.mean(axis=1)
    table["quality"], table["usd_per_1k"] = quality, usd
    single = (table["kind"] == "single").to_numpy()
    table["gain_vs_mix"] = gains(quality, usd, single)
    ci = gain_intervals(per_q, per_usd, single, n_boot)
    table["gain_low"], table["gain_high"] = ci[:, 0], ci[:, 1]
    return table


def plot(table: pd.DataFrame, title: str, path: Path) -> None:
    """Quality vs USD per 1k prompts: single models (x), random mix frontier (line), uniform
    random and oracle (stars), the two policy sweeps (lines)."""
    from routellm_py.benchmarks.plots import axes

    with axes((7.5, 5)) as ax:
        singles = table[table["kind"] == "single"]
        frontier = mix_frontier(singles["usd_per_1k"].to_numpy(), singles["quality"].to_numpy())
        xs = np.geomspace(frontier[0][0], table["usd_per_1k"].max(), 200)  # mixes curve on log x
        qs = [frontier_quality(frontier, x) for x in xs]
        ax.plot(xs, qs, "-", color="grey", lw=1, label="best random mix of single models")
        ax.plot(singles["usd_per_1k"], singles["quality"], "kx", label="single model")
        for _, r in singles.iterrows():
            xy = (r["usd_per_1k"], r["quality"])
            name = r["policy"].split("/")[-1][:24]
            ax.annotate(name, xy, xytext=(3, 3), textcoords="offset points", fontsize=6)
        for kind, style, label in (
            ("lambda", "o-", "quality - lambda x cost"),
            ("t", "s-", "cheapest with P(match best) >= t"),
        ):
            pts = table[table["kind"] == kind]
            ax.plot(pts["usd_per_1k"], pts["quality"], style, ms=4, label=label)
        for kind, style in (("random", "b*"), ("oracle", "r*")):
            r = table[table["kind"] == kind].iloc[0]
            ax.plot(r["usd_per_1k"], r["quality"], style, ms=10, label=r["policy"])
        ax.set_xscale("log")
        ax.set_xlabel("USD per 1,000 prompts")
        ax.set_ylabel("quality (mean gold score)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown (gain: quality over the best random mix at that cost, with its
    bootstrap 95% interval; "–" where no mix is that cheap)."""
    lines = [
        "| policy | quality | USD / 1k prompts | gain vs random mix [95% CI] |",
        "|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        gain = "–"
        if not np.isnan(r["gain_vs_mix"]):
            gain = f"{r['gain_vs_mix']:+.3f} [{r['gain_low']:+.3f}, {r['gain_high']:+.3f}]"
        lines.append(f"| {r['policy']} | {r['quality']:.3f} | {r['usd_per_1k']:.4f} | {gain} |")
    return "\n".join(lines)


def run_nway(
    source: str,
    out: str | Path,
    models: Sequence[str] | None = None,
    train_sources: Sequence[str] = (),
    prices: Mapping[str, object] | None = None,
    data_dir: str | Path | None = None,
    lambdas: Sequence[float] = LAMBDAS,
    ts: Sequence[float] = TS,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Evaluate on `source`, write `nway_<source>.{csv,md,json,png}` under `out`; returns
    (table, meta), meta naming the held-out scheme, the drops and the cost model."""
    data = load_nway(source, models, prices, data_dir)
    if train_sources:
        data, scores = trained_elsewhere_scores(data, train_sources, progress, data_dir)
        held_out = f"mf trained on {', '.join(train_sources)}; evaluated prompts not in them"
    else:
        scores = cross_fitted_scores(data, progress)
        held_out = f"mf cross-fitted leave one task out on {source}"
    table = evaluate(data, scores, lambdas, ts)
    meta = {
        "source": source,
        "models": data.models,
        "prompts": len(data.y),
        "dropped": data.dropped,
        "tasks": data.frame["task"].value_counts().sort_index().to_dict(),
        "held_out": held_out,
        "costs": data.cost_note,
    }
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"nway_{source}"
    table.to_csv(f"{stem}.csv", index=False)
    stem.with_suffix(".md").write_text(markdown(table) + "\n", encoding="utf-8")
    stem.with_suffix(".json").write_text(
        json.dumps({**meta, "rows": table.to_dict("records")}, indent=1) + "\n", encoding="utf-8"
    )
    title = (
        f"N-way routing on {source}: {len(data.models)} models, {len(data.y)} prompts\n{held_out}"
    )
    plot(table, title, stem.with_suffix(".png"))
    return table, meta
