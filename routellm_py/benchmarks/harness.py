"""The benchmark harness: every router on the same prompts, exact curves, one table each.

Routers are resolved only through `load_router` and scored only through `win_rate`
(cached, see `scores`), so any registered router plugs in without harness changes.

Evaluation set per benchmark, in this order (counts of each drop are reported):
1. `gold`: the D_gold prompts held apart for training (`Benchmark.split_gold`; MMLU: 1,500).
2. `routellm_list`: RouteLLM's contamination lists (`load_contaminated`).
3. `train_cosine`: prompts that are training prompts of ANY trained router in the run, by
   what its checkpoint recorded at fit time (`routers.provenance`, never re-loading data):
   exact duplicates by prompt digest, then cosine >= 0.95 to its stored embeddings
   (under the encoder and text policy it routes with); the union keeps all rows on the same
   prompts. A trained router without recorded prompts is warned about and marked
   "NO PROVENANCE" in the `decontamination` column; embeddings under another encoder than
   `encoder_spec` (if given) leaves only the exact check, and the result says so.
4. `limit`: with `limit=N`, a seeded sample of N of the remaining prompts (quick runs).
Steps 2-3 are skipped with `decontaminate=False`.

Significance, per benchmark (`metrics`, section Significance): the random band (2.5-97.5
percentile of APGR over 1,000 seeded random routers on the same prompts) and, per row, a
bootstrap 95% interval of APGR (1,000 seeded resamples of the prompts). A router is
"above band" when its APGR exceeds the band's upper edge.

Calibration, per router row: ECE (10 equal-width bins) and Brier score of its win rates
against the outcome strong > weak (ties 1/2; `metrics`, section Calibration), and a
reliability diagram per benchmark (`<name>_reliability.png`). Oracle and random rows have
no win rates, so no figures. Beside `oracle` and
`random (expected)` (whose interval is the band), every table has the untrained `length`
router as a baseline row: a learned router should beat the coin and the ruler.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py import metrics as M
from routellm_py._util import atomic_write
from routellm_py.benchmarks.scores import default_cache_dir, score_prompts
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.data.benchmarks import BENCHMARKS, Benchmark, load_benchmark, load_contaminated
from routellm_py.data.decontaminate import Removal
from routellm_py.routers.base import Router, load_router
from routellm_py.routers.provenance import PROMPTS_FILE

DEFAULT_OUT = Path("benchmarks/results")
PGR_TARGETS = (0.5, 0.8)
COSINE_THRESHOLD = 0.95
ORACLE, RANDOM, LENGTH = "oracle", "random (expected)", "length"
N_RANDOM = N_BOOT = 1000
CI = ("APGR 2.5%", "APGR 97.5%")
META_FIELDS = (
    "name", "strong_model", "weak_model", "n_total", "n_evaluated", "dropped",
    "cosine_by_router", "decontamination", "strong_mean", "weak_mean", "random_band",
    "input_tokens", "output_tokens", "notes", "reliability",
)  # fmt: skip
RELIABILITY_BINS = 10
Reliability = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # label -> pbar, ybar, n


@dataclass
class BenchmarkResult:
    """One benchmark's evaluation: the prompts kept, every curve and the summary table."""

    name: str
    strong_model: str
    weak_model: str
    n_total: int
    n_evaluated: int
    dropped: dict[str, int]
    cosine_by_router: dict[str, int]
    strong_mean: float
    weak_mean: float
    input_tokens: float
    output_tokens: float
    curves: dict[str, M.Curve]
    table: pd.DataFrame
    prompts: list[str]
    random_band: tuple[float, float] = (float("nan"), float("nan"))
    band_curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # grid, low, high
    notes: list[str] = field(default_factory=list)
    reliability: Reliability = field(default_factory=dict)
    decontamination: dict[str, dict[str, Any]] = field(default_factory=dict)


def resolve_routers(routers: Sequence[str | Router]) -> dict[str, Router]:
    """Label -> Router; strings go through `load_router` (names or checkpoint paths)."""
    out: dict[str, Router] = {}
    for r in routers:
        router = r if isinstance(r, Router) else load_router(r)
        label = r.name if isinstance(r, Router) else str(r)
        if label in out or label in (ORACLE, RANDOM):
            raise ValueError(f"router {label!r} is listed twice; give each router once")
        out[label] = router
    if not out:
        raise ValueError("no routers given; e.g. routers=['random']")
    return out


def training_prompts(router: Router, data_dir: str | Path | None) -> list[str]:
    """The prompt texts of a router's `provenance["data"]` spec, re-loaded from the sources
    (none if absent). For callers that need the texts; decontamination needs only the
    checkpoint's digests (`_train_drops`)."""
    spec = router.provenance.get("data")
    if not spec:
        return []
    data_dir = None if data_dir is None else str(data_dir)
    return list(_source_prompts(spec, data_dir, router.strong_model, router.weak_model))


@functools.lru_cache(maxsize=16)
def _source_prompts(spec: str, data_dir: str | None, strong: str, weak: str) -> tuple[str, ...]:
    """Sorted distinct prompts of a source spec; memoised, since routers often share one."""
    import routellm_py.feedback.battles  # noqa: F401 (registers the feedback: source)
    from routellm_py.data.sources import load_sources

    battles = load_sources(spec, data_dir=data_dir, strong=strong, weak=weak)
    return tuple(sorted(set(battles.frame["prompt"])))


NO_PROVENANCE = "NO PROVENANCE"


def _train_drops(
    prompts: list[str], routers: dict[str, Router], encoder_spec: str | None
) -> tuple[np.ndarray, dict[str, Removal]]:
    """Drop mask (union over routers) and, per trained router, what its recorded training
    prompts removed (`data.decontaminate.against_record`); routers without a record get a
    warning and an origin of NO_PROVENANCE."""
    from routellm_py.data.decontaminate import against_record

    drop = np.zeros(len(prompts), dtype=bool)
    per_router: dict[str, Removal] = {}
    for label, router in routers.items():
        record = getattr(router, "prompt_record", None)
        if record is None and not router.trainable:
            continue  # e.g. random, length: no training prompts
        if record is None:
            where = router.checkpoint_dir or "the router object"
            warnings.warn(
                f"router {label!r} has no recorded training prompts ({where} has no "
                f"{PROMPTS_FILE}), so its training prompts stay in the evaluation set. Train "
                "it with routellm_py.lab.train.train_router (or Router.fit), or record them: "
                "python -m routellm_py.lab.train add-provenance CHECKPOINT",
                stacklevel=3,
            )
            per_router[label] = Removal(NO_PROVENANCE, 0, None, "no recorded training prompts")
            continue
        origin = str(record.path) if record.path is not None else "fit (not saved)"
        near = router.provenance.get("near_duplicates")
        mask, per_router[label] = against_record(
            prompts, record, near, origin, COSINE_THRESHOLD, encoder_spec
        )
        drop |= mask
    return drop, per_router


def evaluation_set(
    name: str | Benchmark,
    routers: dict[str, Router],
    data_dir: str | Path | None = None,
    decontaminate: bool = True,
    limit: int | None = None,
    encoder_spec: str | None = None,
) -> tuple[Benchmark, int, dict[str, int], dict[str, Removal]]:
    """(prompts to evaluate, total before drops, drops by reason, what each trained router's
    training prompts removed).

    `name` is a built-in benchmark or a user's eval set (`data.evalset.load_eval_set`),
    which has no gold split and no RouteLLM list: steps 2 and 4 only."""
    full = name if isinstance(name, Benchmark) else load_benchmark(name, data_dir)
    bench, gold = full.split_gold()
    dropped = {"gold": len(gold)}
    per_router: dict[str, Removal] = {}
    if decontaminate:
        if full.name in BENCHMARKS:
            listed = load_contaminated(full.name, data_dir)
            mask = ~bench.frame["prompt"].isin(listed).to_numpy()
            dropped["routellm_list"] = int((~mask).sum())
            bench = bench.subset(mask)
        drop, per_router = _train_drops(bench.prompts, routers, encoder_spec)
        dropped["train_cosine"] = int(drop.sum())
        bench = bench.subset(~drop)
    if limit is not None and limit < len(bench):
        if limit < 2:
            raise ValueError(f"limit must be >= 2 prompts, got {limit}")
        keep = np.zeros(len(bench), dtype=bool)
        keep[np.random.default_rng(0).choice(len(bench), limit, replace=False)] = True
        dropped["limit"] = len(bench) - limit
        bench = bench.subset(keep)
    return bench, len(full), dropped, per_router


def _cost(f: float, strong: str, weak: str, tokens: tuple[float, float], notes: list[str]) -> float:
    """$ per 1k queries at strong fraction f, NaN (with a note) if a price is unknown."""
    if np.isnan(f):
        return float("nan")
    try:
        return M.cost_per_1k(f, strong, weak, *tokens)
    except KeyError as e:
        note = f"no cost: {e.args[0]}"
        if note not in notes:
            notes.append(note)
        return float("nan")


def _row(
    label: str,
    kind: str,
    curve: M.Curve,
    ci: tuple[float, float],
    band: tuple[float, float],
    models: tuple[str, str],
    tokens,
    notes,
) -> dict:
    apgr = M.apgr(curve)
    row: dict[str, Any] = {"router": label, "kind": kind, "APGR": apgr}
    row.update(zip(CI, ci, strict=True))
    row["above band"] = label != RANDOM and apgr > band[1]
    for p in PGR_TARGETS:
        row[f"CPT({p:.0%})"] = M.cpt(curve, p)
    row[f"$/1k @CPT({PGR_TARGETS[0]:.0%})"] = _cost(
        row[f"CPT({PGR_TARGETS[0]:.0%})"], *models, tokens, notes
    )
    return row


def _calibration(rates: np.ndarray | None, outcomes: np.ndarray) -> dict[str, float]:
    """ECE (equal-width) and Brier of a router's win rates; NaN for rows without any."""
    if rates is None:
        return {"ECE": float("nan"), "Brier": float("nan")}
    return {
        "ECE": M.expected_calibration_error(rates, outcomes, RELIABILITY_BINS, "width"),
        "Brier": M.brier_score(rates, outcomes),
    }


@dataclass
class Evaluation:
    """What `evaluate` returns: curves, the table, notes, mean input tokens, the band."""

    curves: dict[str, M.Curve]
    table: pd.DataFrame
    notes: list[str]
    input_tokens: float
    random_band: tuple[float, float]
    band_curve: tuple[np.ndarray, np.ndarray, np.ndarray]
    reliability: Reliability


def evaluate(
    bench: Benchmark,
    routers: dict[str, Router],
    strong: str = DEFAULT_STRONG,
    weak: str = DEFAULT_WEAK,
    cache_dir: str | Path | None = None,
    batch_size: int = 256,
    output_tokens: float = M.DEFAULT_OUTPUT_TOKENS,
    progress: bool = True,
) -> Evaluation:
    """Curves and the table on the prompts of `bench`: the routers, then the `length`
    baseline (unless listed as a router), oracle and random (expected); with intervals."""
    s, w = bench.scores(strong), bench.scores(weak)
    tokens = (M.estimate_input_tokens(bench.prompts), float(output_tokens))
    band = M.percentile_interval(M.random_apgrs(s, w, N_RANDOM))
    notes: list[str] = []
    rates: dict[str, np.ndarray] = {}
    for label, router in routers.items():
        if (router.strong_model, router.weak_model) != (
            canonical_model(strong),
            canonical_model(weak),
        ):
            notes.append(
                f"{label} was built for {router.strong_model} vs {router.weak_model}, "
                f"evaluated here on {strong} vs {weak}"
            )
        rates[label] = score_prompts(router, bench.prompts, cache_dir, batch_size, progress)
    kinds = dict.fromkeys(rates, "router")
    if LENGTH not in rates:
        length = load_router(LENGTH, strong_model=strong, weak_model=weak)
        rates[LENGTH], kinds[LENGTH] = length.win_rate(bench.prompts), "baseline"
    rates[ORACLE], kinds[ORACLE] = s - w, "baseline"  # the oracle routes by the gain itself
    curves = {label: M.routed_curve(r, s, w) for label, r in rates.items()}
    curves[RANDOM] = M.random_curve(s, w)
    outcomes = M.pairwise_outcome(s, w)
    probs = {k: r for k, r in rates.items() if k != ORACLE}  # the oracle's "rate" is a gain
    rows = []
    for label, r in rates.items():
        ci = M.percentile_interval(M.bootstrap_apgrs(r, s, w, N_BOOT))
        row = _row(label, kinds[label], curves[label], ci, band, (strong, weak), tokens, notes)
        rows.append({**row, **_calibration(probs.get(label), outcomes)})
    row = _row(RANDOM, "baseline", curves[RANDOM], band, band, (strong, weak), tokens, notes)
    rows.append({**row, **_calibration(None, outcomes)})
    grid = np.linspace(0, 1, 101)
    band_curve = (grid, *M.random_curve_band(s, w, grid, n_routers=N_RANDOM))
    reliability = {k: M.calibration_bins(r, outcomes, RELIABILITY_BINS) for k, r in probs.items()}
    return Evaluation(curves, pd.DataFrame(rows), notes, tokens[0], band, band_curve, reliability)


def run_benchmark(
    routers: Sequence[str | Router] | Mapping[str, Router],
    benchmarks: Sequence[str | Benchmark] = BENCHMARKS,
    data_dir: str | Path | None = None,
    strong: str = DEFAULT_STRONG,
    weak: str = DEFAULT_WEAK,
    out: str | Path | None = DEFAULT_OUT,
    decontaminate: bool = True,
    limit: int | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 256,
    output_tokens: float = M.DEFAULT_OUTPUT_TOKENS,
    encoder_spec: str | None = None,
    progress: bool = True,
) -> dict[str, BenchmarkResult]:
    """Evaluate `routers` (names/paths/Routers, or a label -> Router mapping) on `benchmarks`
    (built-in names or eval-set Benchmarks); print nothing, write CSV/JSON/PNG under `out`
    (skipped if `out` is None). Scores are cached under `cache_dir` (default:
    `scores.default_cache_dir(out)`)."""
    unknown = [b for b in benchmarks if not isinstance(b, Benchmark) and b not in BENCHMARKS]
    if unknown:
        raise KeyError(f"unknown benchmarks {unknown}; valid: {', '.join(BENCHMARKS)}")
    names = [b.name if isinstance(b, Benchmark) else b for b in benchmarks]
    if len(set(names)) != len(names):
        raise ValueError(f"benchmarks {names} name one set twice")
    resolved = dict(routers) if isinstance(routers, Mapping) else resolve_routers(routers)
    cache = cache_dir if cache_dir is not None else default_cache_dir(out)
    results = {}
    for name, spec in zip(names, benchmarks, strict=True):
        bench, n_total, dropped, per_router = evaluation_set(
            spec, resolved, data_dir, decontaminate, limit, encoder_spec
        )
        ev = evaluate(bench, resolved, strong, weak, cache, batch_size, output_tokens, progress)
        ev.table["decontamination"] = [
            _decontamination_cell(resolved.get(k), per_router.get(k), decontaminate)
            for k in ev.table["router"]
        ]
        results[name] = BenchmarkResult(
            name=name,
            strong_model=canonical_model(strong),
            weak_model=canonical_model(weak),
            n_total=n_total,
            n_evaluated=len(bench),
            dropped=dropped,
            cosine_by_router={k: r.removed for k, r in per_router.items()},
            strong_mean=ev.curves[RANDOM].strong,
            weak_mean=ev.curves[RANDOM].weak,
            input_tokens=ev.input_tokens,
            output_tokens=float(output_tokens),
            curves=ev.curves,
            table=ev.table,
            prompts=bench.prompts,
            random_band=ev.random_band,
            band_curve=ev.band_curve,
            notes=ev.notes,
            reliability=ev.reliability,
            decontamination={k: {**asdict(r), "removed": r.removed} for k, r in per_router.items()},
        )
        if out is not None:
            write_result(results[name], Path(out))
    return results


def _decontamination_cell(router: Router | None, removal: Removal | None, on: bool) -> str:
    """The table's `decontamination` entry of one row: what the router's recorded training
    prompts removed, NO_PROVENANCE, `untrained`, `off`, or `-` for the baseline rows."""
    if router is None:
        return "-"
    if not on:
        return "off"
    if removal is None:
        return "untrained"
    if removal.origin == NO_PROVENANCE:
        return NO_PROVENANCE
    return f"{removal.removed} removed" + (" (exact only)" if removal.near is None else "")


def format_result(r: BenchmarkResult) -> str:
    """The printed table: header lines with prompt counts and means, then one row each."""
    drops = ", ".join(f"{k} {v}" for k, v in r.dropped.items())
    by_router = "".join(f"; {k}: {v}" for k, v in r.cosine_by_router.items())
    head = [
        f"== {r.name}: {r.n_evaluated} prompts evaluated of {r.n_total} "
        f"(dropped: {drops}{by_router})",
        *(_decontamination_line(k, d) for k, d in r.decontamination.items()),
        f"   strong {r.strong_model} mean {r.strong_mean:.4f} | weak {r.weak_model} mean "
        f"{r.weak_mean:.4f}",
        f"   cost assumes {r.input_tokens:.0f} input tokens (chars/4) and {r.output_tokens:.0f} "
        "output tokens per query; litellm offline prices",
        f"   random band (APGR of {N_RANDOM:,} seeded random routers, 2.5-97.5%): "
        f"{r.random_band[0]:.4f} - {r.random_band[1]:.4f}; 95% CI: bootstrap over prompts "
        f"({N_BOOT:,} resamples); * = above the band",
    ]
    t = r.table.drop(columns=["kind", *CI, "above band", "decontamination"]).copy()
    for c in t.columns:
        if c.startswith("CPT"):
            t[c] = t[c].map(lambda v: "never" if np.isnan(v) else f"{v:.1%}")
        elif c.startswith("$") or c in ("ECE", "Brier"):
            t[c] = t[c].map(lambda v: "n/a" if np.isnan(v) else f"{v:.3f}")
    mark = r.table["above band"].map({True: " *", False: ""})
    t["APGR"] = r.table["APGR"].map(lambda v: f"{v:.4f}") + mark
    ci = [f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(*(r.table[c] for c in CI), strict=True)]
    t.insert(2, "95% CI", ci)
    notes = [f"   note: {n}" for n in r.notes]
    return "\n".join(head + [t.to_string(index=False)] + notes)


def _decontamination_line(label: str, d: dict[str, Any]) -> str:
    """One header line per trained router: what its training prompts removed, and from where."""
    if d["origin"] == NO_PROVENANCE:
        return f"   WARNING {label}: {NO_PROVENANCE}, its training prompts were not removed"
    near = "near duplicates not checked" if d["near"] is None else f"{d['near']} near"
    why = f" ({d['note']})" if d["note"] else ""
    return (
        f"   decontamination {label}: removed {d['removed']} ({d['exact']} exact, {near}{why}; "
        f"digests from {d['origin']})"
    )


def write_result(r: BenchmarkResult, out: Path) -> list[Path]:
    """`<out>/<name>.csv` (the table), `.json` (table, counts, curves and routers' thresholds
    on a 1% grid), `.png` and `<name>_reliability.png` (reliability diagram)."""
    from routellm_py.benchmarks.plots import plot_curves, plot_reliability

    out.mkdir(parents=True, exist_ok=True)
    grid = np.linspace(0, 1, 101)
    meta: dict[str, Any] = {k: getattr(r, k) for k in META_FIELDS}
    meta["reliability"] = {
        k: {"mean_win_rate": p.tolist(), "mean_outcome": y.tolist(), "n": n.tolist()}
        for k, (p, y, n) in r.reliability.items()
    }
    meta["rows"] = json.loads(r.table.to_json(orient="records"))
    meta["curves"] = {"strong_fraction": grid.tolist()}
    meta["curves"].update({k: c.at(grid).tolist() for k, c in r.curves.items()})
    # Per grid point f: the threshold of the largest exact point x <= f (clipped to [0, 1]).
    meta["thresholds"] = {
        k: np.clip(c.thresholds[np.searchsorted(c.x, grid, side="right") - 1], 0, 1).tolist()
        for k, c in r.curves.items()
        if c.thresholds is not None and k != ORACLE
    }
    if r.band_curve is not None:
        band_grid, low, high = r.band_curve
        meta["random_band_curve"] = {
            "strong_fraction": band_grid.tolist(), "low": low.tolist(), "high": high.tolist()
        }  # fmt: skip
    paths = [out / f"{r.name}{ext}" for ext in (".csv", ".json", ".png", "_reliability.png")]
    atomic_write(paths[0], r.table.to_csv(index=False))
    atomic_write(paths[1], json.dumps(meta, indent=1) + "\n")
    title = f"{r.name} ({r.n_evaluated} prompts)"
    atomic_write(paths[2], plot_curves(r.curves, title, r.band_curve))
    atomic_write(paths[3], plot_reliability(r.reliability, title))
    return paths


def print_results(results: dict[str, BenchmarkResult], file=None) -> None:
    for r in results.values():
        print(format_result(r) + "\n", file=file)
