"""Router evaluation metrics: exact cost-quality curves, PGR/APGR/CPT (RouteLLM §5.1),
Hybrid-LLM quality drop and quality-gap difference (Ding et al. 2024 §4), calibration of
win rates (ECE, Brier, log loss) and $ cost.

Pure functions on arrays; nothing here knows about routers.

The routed curve
----------------
A router gives each prompt a win rate w_i (P(strong beats weak)); a threshold t sends
every prompt with w_i >= t to the strong model. Sweeping t over the k distinct win
rates u_1 > ... > u_k gives k + 1 exact operating points (x_j, y_j): x_j = fraction of
prompts with w >= u_j routed strong, y_j = mean score. Tied win rates move together.

Between two consecutive points the curve is the straight line joining them: that line is
the *expected* performance of routing the next tie group's prompts to strong with
probability q (randomised tie-breaking), so every strong fraction in [0, 1] is achievable
and the piecewise-linear curve is exact, not an approximation. It need not be monotone.

PGR(x) = (y(x) - weak) / (strong - weak) with weak = y at x = 0 (all weak) and strong =
y at x = 1 (all strong). PGR is undefined when strong == weak: `pgr` raises ValueError.
APGR = integral_0^1 PGR(x) dx (trapezoids on the exact piecewise-linear curve).
CPT(p) = min{x : PGR(x) >= p}, found by scanning segments in order (correct for
non-monotone curves); NaN when the curve never reaches p.

Significance
------------
Both intervals below use the same exact identity. Write g_i = strong_i - weak_i and
D = sum_i g_i. A routing that sends groups of prompts strong in order j = 1..k, group j
holding m_j prompts with total gain G_j, has points x_j = (m_1 + ... + m_j) / n and
PGR_j = (G_1 + ... + G_j) / D, so APGR = sum_j (x_j - x_{j-1}) (PGR_{j-1} + PGR_j) / 2.
`_apgr_rows` evaluates it for many routings at once (one row each).
- Random band, `percentile_interval(random_apgrs(...))`: a router with continuous random
  win rates routes the prompts in a uniformly random order pi, one prompt per group, so
  APGR(pi) = 1 / (2n) + sum_i (n - i) g_pi(i) / (n D), with mean exactly 1/2. The band is
  the 2.5-97.5 percentile of APGR over R seeded permutations (default 1,000).
- Bootstrap, `percentile_interval(bootstrap_apgrs(...))`: B resamples of the n prompts with
  replacement (seeded); a resample is the original prompts with multiplicities c_i, so the
  routing order (win rates descending, ties grouped) is the original one with m_j = sum c_i and
  G_j = sum c_i g_i over tie group j; the interval is the 2.5-97.5 percentile of the B
  APGRs (percentile bootstrap, Efron & Tibshirani 1993, ch. 13). Resamples whose
  strong and weak means tie (D = 0: PGR undefined) are left out.
Percentiles are numpy's (linear interpolation).

Calibration
-----------
A win rate p_i claims P(strong beats weak | prompt i). Its outcome is
y_i = 1 if strong_i > weak_i, 0 if strong_i < weak_i and 1/2 on a tie (`pairwise_outcome`):
a tie is half a win, the label RouteLLM's routers train on (`ties="half"`), so y_i is the
expected outcome of a coin-flip tie-break. On 0/1 benchmarks most prompts tie (both right
or both wrong); leaving them out would measure a different quantity than the router predicts.
- Brier = (1/n) sum_i (p_i - y_i)^2 (Brier 1950).
- Log loss = -(1/n) sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)], p clipped to
  [1e-12, 1 - 1e-12]; with y_i = 1/2 its minimum is ln 2 at p_i = 1/2.
- ECE = sum_b (n_b / n) |ybar_b - pbar_b| over non-empty bins b (Naeini et al. 2015;
  Guo et al. 2017, eq. 3), pbar_b and ybar_b the mean win rate and outcome in bin b.
  Equal-width bins: b = min(floor(B p), B - 1), i.e. [k/B, (k+1)/B), the last one closed.
  Equal-mass bins: b = floor(B r_i / n) with r_i = #{j : p_j < p_i}, so bins hold n/B
  predictions each up to ties, and equal win rates always share a bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Output tokens per query assumed by cost estimates when no better number is given.
DEFAULT_OUTPUT_TOKENS = 256
CHARS_PER_TOKEN = 4.0
# Canonical model name -> a key of litellm's price map (explicit; no fuzzy matching).
# Mixtral: Together AI's hosted price (the provider RouteLLM's examples use for Mixtral).
LITELLM_PRICE_NAMES: dict[str, str] = {
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.1": "together_ai/mistralai/Mistral-7B-Instruct-v0.1",
}


@dataclass(frozen=True)
class Curve:
    """A cost-quality curve: `x` strong-call fraction (strictly increasing, 0 .. 1),
    `y` mean performance there; `thresholds[j]` (routed curves only) routes exactly the
    prompts counted in x[j] strong: +inf at x = 0, -inf at x = 1, midpoints between
    adjacent distinct win rates otherwise."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        x, y = np.asarray(self.x, dtype=np.float64), np.asarray(self.y, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
            raise ValueError(
                f"curve needs 1-D x and y of equal length >= 2, got {x.shape}, {y.shape}"
            )
        if x[0] != 0.0 or x[-1] != 1.0 or np.any(np.diff(x) <= 0):
            raise ValueError("curve x must increase strictly from 0 to 1")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def weak(self) -> float:
        """Performance with every call on the weak model."""
        return float(self.y[0])

    @property
    def strong(self) -> float:
        """Performance with every call on the strong model."""
        return float(self.y[-1])

    def at(self, strong_fraction: float | np.ndarray) -> np.ndarray | float:
        """Performance at any strong fraction in [0, 1] (linear between exact points)."""
        f = np.asarray(strong_fraction, dtype=np.float64)
        if np.any((f < 0) | (f > 1)) or np.any(np.isnan(f)):
            raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction!r}")
        out = np.interp(f, self.x, self.y)  # x is increasing, so interpolating y(x) is exact
        return float(out) if out.ndim == 0 else out


def _scores(win_rates: Sequence[float], *arrays: Sequence[float]) -> list[np.ndarray]:
    """Validate equal-length, finite, non-empty 1-D arrays."""
    out = [np.asarray(a, dtype=np.float64) for a in (win_rates, *arrays)]
    n = len(out[0])
    for i, a in enumerate(out):
        if a.ndim != 1 or len(a) != n:
            raise ValueError(f"argument {i} has shape {a.shape}; expected ({n},) like argument 0")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"argument {i} holds NaN or inf; scores and win rates must be finite")
    if n == 0:
        raise ValueError("no prompts: metrics need at least one score")
    return out


def _groups(win_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, ends, values): `order` sorts win rates descending (stable); tie group j
    covers order[ends[j-1]:ends[j]] and has win rate values[j]."""
    order = np.argsort(-win_rates, kind="stable")
    w = win_rates[order]
    ends = np.append(np.flatnonzero(np.diff(w) != 0) + 1, len(w))
    return order, ends, w[ends - 1]


def routing_points(win_rates: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, strong_fractions) of the k + 1 distinct routings of these prompts:
    `w >= thresholds[j]` sends exactly `strong_fractions[j]` of them strong. Thresholds are
    +inf (none), midpoints between adjacent distinct win rates, and -inf (all)."""
    (w,) = _scores(win_rates)
    _, ends, values = _groups(w)
    # Strictly between adjacent distinct values; if the midpoint rounds onto the lower
    # value (adjacent floats) use the upper value itself.
    mids = (values[:-1] + values[1:]) / 2
    mids = np.where(mids > values[1:], mids, values[:-1])
    return np.concatenate([[np.inf], mids, [-np.inf]]), np.concatenate([[0.0], ends / len(w)])


def routed_curve(
    win_rates: Sequence[float], strong_scores: Sequence[float], weak_scores: Sequence[float]
) -> Curve:
    """The exact curve of threshold routing: one point per distinct win rate (see module doc).

    y_j = mean(weak) + sum of (strong - weak) over prompts with w >= u_j, divided by n.
    """
    w, s, k = _scores(win_rates, strong_scores, weak_scores)
    order, ends, _ = _groups(w)
    cum_gain = np.cumsum((s - k)[order])
    thresholds, x = routing_points(w)
    y = k.mean() + np.concatenate([[0.0], cum_gain[ends - 1] / len(w)])
    return Curve(x, y, thresholds)


def oracle_curve(strong_scores: Sequence[float], weak_scores: Sequence[float]) -> Curve:
    """The best achievable curve: prompts go strong in order of gain = strong - weak,
    largest first (positive gains, then zero, then negative); equal gains move together.
    It is the routed curve of the 'router' whose win rate is the gain itself."""
    s, k = _scores(strong_scores, weak_scores)
    c = routed_curve(s - k, s, k)
    return Curve(c.x, c.y)


def random_curve(strong_scores: Sequence[float], weak_scores: Sequence[float]) -> Curve:
    """Expected curve of routing a random fraction x strong: the line from
    (0, mean weak) to (1, mean strong). APGR = 0.5 and CPT(p) = p exactly."""
    s, k = _scores(strong_scores, weak_scores)
    return Curve(np.array([0.0, 1.0]), np.array([k.mean(), s.mean()]))


def pgr(curve: Curve) -> np.ndarray:
    """Performance gap recovered at each curve point: (y - weak) / (strong - weak)."""
    gap = curve.strong - curve.weak
    if gap == 0:
        raise ValueError(
            "PGR is undefined: the strong and weak models score the same on average "
            f"({curve.strong}); compare routers by raw performance instead"
        )
    return (curve.y - curve.weak) / gap


def apgr(curve: Curve) -> float:
    """Average PGR: the area under PGR(x) over x in [0, 1] (exact trapezoids)."""
    p = pgr(curve)
    return float(np.sum(np.diff(curve.x) * (p[1:] + p[:-1]) / 2))


def cpt(curve: Curve, pgr_target: float) -> float:
    """Call-performance threshold: the smallest strong-call fraction with PGR >= target.

    Scans the segments in order and solves the linear equation on the first one that
    reaches the target, so dips and plateaus are handled. NaN if never reached.
    """
    target = float(pgr_target)
    if not np.isfinite(target):
        raise ValueError(f"pgr_target must be a finite number, got {pgr_target!r}")
    p = pgr(curve)
    hits = np.flatnonzero(p >= target)
    if len(hits) == 0:
        return float("nan")
    j = int(hits[0])
    if j == 0:
        return float(curve.x[0])
    # p[j-1] < target <= p[j]: the crossing lies on segment (j-1, j).
    frac = (target - p[j - 1]) / (p[j] - p[j - 1])
    return float(curve.x[j - 1] + frac * (curve.x[j] - curve.x[j - 1]))


def _apgr_rows(counts: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """APGR of R routings at once (module doc, Significance): row r sends column groups
    strong left to right, group j holding counts[r, j] prompts of total gain gains[r, j].
    NaN where a row's total gain is 0 (PGR undefined)."""
    zero = np.zeros((counts.shape[0], 1))
    x = np.concatenate([zero, np.cumsum(counts, axis=1, dtype=np.float64)], axis=1)
    c = np.concatenate([zero, np.cumsum(gains, axis=1, dtype=np.float64)], axis=1)
    area = np.sum(np.diff(x, axis=1) * (c[:, 1:] + c[:, :-1]), axis=1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = area / (x[:, -1] * c[:, -1])
    return np.where(c[:, -1] == 0, np.nan, out)


def percentile_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """(low, high): the central `level` interval of `values` (2.5 and 97.5 percentiles at
    0.95), NaN entries left out. The random band is `percentile_interval(random_apgrs(s, w))`;
    a router's bootstrap interval is `percentile_interval(bootstrap_apgrs(rates, s, w))`."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.isnan(v).all():
        raise ValueError("no defined values (all NaN: strong and weak tie on every resample?)")
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.nanpercentile(v, [tail, 100 - tail])
    return float(lo), float(hi)


def _random_orders(n: int, n_routers: int, seed: int, chunk: int = 100):
    """Routing orders of `n_routers` seeded random routers, `chunk` rows at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_routers, chunk):
        yield rng.permuted(np.tile(np.arange(n), (min(chunk, n_routers - start), 1)), axis=1)


def _gains(strong_scores: Sequence[float], weak_scores: Sequence[float]) -> np.ndarray:
    s, k = _scores(strong_scores, weak_scores)
    if s.sum() == k.sum():
        raise ValueError("APGR is undefined: the strong and weak models score the same on average")
    return s - k


def random_apgrs(
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
    n_routers: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Exact APGR of `n_routers` seeded random routers on these prompts (module doc)."""
    g = _gains(strong_scores, weak_scores)
    rows = [_apgr_rows(np.ones(o.shape), g[o]) for o in _random_orders(len(g), n_routers, seed)]
    return np.concatenate(rows)


def random_curve_band(
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
    grid: np.ndarray,
    level: float = 0.95,
    n_routers: int = 1000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise central `level` interval of performance y(x) at each strong fraction of
    `grid`, over the same seeded random routers as `random_apgrs`: the band plots draw."""
    s, k = _scores(strong_scores, weak_scores)
    g, n, x = s - k, len(s), np.asarray(grid, dtype=np.float64) * len(s)
    lo_i, hi_i = np.floor(x).astype(int), np.ceil(x).astype(int)
    frac = x - lo_i
    ys = []
    for order in _random_orders(n, n_routers, seed):
        c = np.concatenate([np.zeros((len(order), 1)), np.cumsum(g[order], axis=1)], axis=1)
        ys.append(k.mean() + (c[:, lo_i] * (1 - frac) + c[:, hi_i] * frac) / n)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(np.concatenate(ys), [tail, 100 - tail], axis=0)
    return lo, hi


def bootstrap_apgrs(
    win_rates: Sequence[float],
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
    n_boot: int = 1000,
    seed: int = 0,
    chunk: int = 100,
) -> np.ndarray:
    """Exact APGR of the router on `n_boot` seeded resamples of the prompts (module doc);
    NaN for a resample whose strong and weak means tie."""
    w, s, k = _scores(win_rates, strong_scores, weak_scores)
    n = len(w)
    order, ends, _ = _groups(w)
    starts = np.concatenate([[0], ends[:-1]])
    g = (s - k)[order]
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n_boot, chunk):
        r = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(r, n)) + n * np.arange(r)[:, None]
        mult = np.bincount(draws.ravel(), minlength=r * n).reshape(r, n)[:, order]
        counts = np.add.reduceat(mult, starts, axis=1)
        gains = np.add.reduceat(mult * g, starts, axis=1)
        parts.append(_apgr_rows(counts, gains))
    return np.concatenate(parts)


def strong_weights(win_rates: Sequence[float], strong_fraction: float) -> np.ndarray:
    """Per-prompt probability of going strong when exactly `strong_fraction` of calls do:
    highest win rates first; the tie group at the boundary is split at random, so its
    prompts each get the same fractional probability (expected value of random tie-breaking)."""
    (w,) = _scores(win_rates)
    f = float(strong_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction!r}")
    n = len(w)
    order, ends, _ = _groups(w)
    starts = np.concatenate([[0], ends[:-1]])
    budget = f * n
    # Fill each tie group in turn: fraction of the group that fits in the remaining budget.
    filled = np.clip((budget - starts) / (ends - starts), 0.0, 1.0)
    out = np.empty(n)
    out[order] = np.repeat(filled, ends - starts)
    return out


def relative_quality_drop(quality: float, reference: float) -> float:
    """(reference - quality) / |reference|: > 0 means worse than the reference."""
    if reference == 0:
        raise ValueError("relative quality drop is undefined when all-strong quality is 0")
    return (reference - quality) / abs(reference)


def quality_drop_at_cost_advantage(
    win_rates: Sequence[float],
    strong_scores: Sequence[float],
    weak_scores: Sequence[float],
    advantages: Sequence[float] = (0.1, 0.2, 0.4),
) -> dict[float, float]:
    """Hybrid LLM Table 1: for each cost advantage a (fraction of queries routed to the
    small/weak model, lowest win rates first), the relative quality drop versus sending
    everything to the large/strong model, (q_all_strong - q_routed) / |q_all_strong|,
    as a fraction (0.01 = 1%). Ties at the boundary are split at random (expected value)."""
    w, s, k = _scores(win_rates, strong_scores, weak_scores)
    out = {}
    for a in advantages:
        p = strong_weights(w, 1.0 - float(a))
        out[float(a)] = relative_quality_drop(float(np.mean(p * s + (1 - p) * k)), float(s.mean()))
    return out


def avg_quality_gap_difference(
    win_rates: Sequence[float], gaps: Sequence[float], advantage: float
) -> float:
    """Hybrid LLM §4.3: with a fraction `advantage` routed small (lowest win rates), the mean
    quality gap H = q(small) - q(large) of the queries routed small minus that of the
    queries routed large. Larger is better (easy queries go small); random routing gives 0."""
    w, h = _scores(win_rates, gaps)
    a = float(advantage)
    if not 0.0 < a < 1.0:
        raise ValueError(f"advantage must be in (0, 1) so both groups are non-empty, got {a}")
    p_weak = 1.0 - strong_weights(w, 1.0 - a)
    return float(
        np.sum(p_weak * h) / np.sum(p_weak) - np.sum((1 - p_weak) * h) / np.sum(1 - p_weak)
    )


# ---- calibration --------------------------------------------------------------------------
BIN_STRATEGIES = ("width", "mass")


def pairwise_outcome(strong_scores: Sequence[float], weak_scores: Sequence[float]) -> np.ndarray:
    """Outcome of P(strong beats weak) per prompt: 1 if strong > weak, 0 if less, 1/2 on a tie
    (module doc, Calibration). Works for 0/1 correctness and graded scores alike."""
    s, k = _scores(strong_scores, weak_scores)
    return 0.5 * (1.0 + np.sign(s - k))


def _probabilities(win_rates: Sequence[float], outcomes: Sequence[float]) -> list[np.ndarray]:
    p, y = _scores(win_rates, outcomes)
    for name, a in (("win rates", p), ("outcomes", y)):
        if a.min() < 0.0 or a.max() > 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got values in [{a.min()}, {a.max()}]")
    return [p, y]


def calibration_bins(
    win_rates: Sequence[float], outcomes: Sequence[float], n_bins: int = 10, strategy: str = "width"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pbar, ybar, count) of each non-empty bin, in bin order (module doc): the points of a
    reliability diagram. `strategy` is "width" (equal-width) or "mass" (equal-mass)."""
    p, y = _probabilities(win_rates, outcomes)
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "width":
        b = np.minimum(np.floor(p * n_bins), n_bins - 1).astype(int)
    elif strategy == "mass":
        b = np.searchsorted(np.sort(p), p, side="left") * int(n_bins) // len(p)
    else:
        raise ValueError(f"strategy must be one of {BIN_STRATEGIES}, got {strategy!r}")
    count = np.bincount(b, minlength=int(n_bins))
    keep = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pbar = np.bincount(b, weights=p, minlength=int(n_bins)) / count
        ybar = np.bincount(b, weights=y, minlength=int(n_bins)) / count
    return pbar[keep], ybar[keep], count[keep]


def expected_calibration_error(
    win_rates: Sequence[float], outcomes: Sequence[float], n_bins: int = 10, strategy: str = "width"
) -> float:
    """ECE = sum_b (n_b / n) |ybar_b - pbar_b| with equal-width or equal-mass bins."""
    pbar, ybar, count = calibration_bins(win_rates, outcomes, n_bins, strategy)
    return float(np.sum(count * np.abs(ybar - pbar)) / count.sum())


def brier_score(win_rates: Sequence[float], outcomes: Sequence[float]) -> float:
    """Mean squared error of the win rates against the outcomes, (1/n) sum (p - y)^2."""
    p, y = _probabilities(win_rates, outcomes)
    return float(np.mean((p - y) ** 2))


def log_loss(win_rates: Sequence[float], outcomes: Sequence[float], eps: float = 1e-12) -> float:
    """Cross-entropy -(1/n) sum [y ln p + (1 - y) ln(1 - p)], p clipped to [eps, 1 - eps]."""
    p, y = _probabilities(win_rates, outcomes)
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def calibration_summary(
    win_rates: Sequence[float], outcomes: Sequence[float], n_bins: int = 10
) -> dict[str, float]:
    """ECE (both binnings), Brier and log loss in one dict, with the number of prompts."""
    return {
        "n": len(np.asarray(win_rates)),
        "ece_width": expected_calibration_error(win_rates, outcomes, n_bins, "width"),
        "ece_mass": expected_calibration_error(win_rates, outcomes, n_bins, "mass"),
        "brier": brier_score(win_rates, outcomes),
        "log_loss": log_loss(win_rates, outcomes),
    }


# ---- cost ---------------------------------------------------------------------------------
def estimate_input_tokens(prompts: Sequence[str]) -> float:
    """Mean input tokens per query, estimated as characters / 4 (OpenAI's rule of thumb)."""
    if not prompts:
        raise ValueError("no prompts to estimate token counts from")
    return float(np.mean([len(p) for p in prompts]) / CHARS_PER_TOKEN)


def price_per_token(model: str) -> tuple[float, float]:
    """(input, output) USD per token from litellm's offline price map."""
    from routellm_py._util import offline_litellm
    from routellm_py.data.aliases import canonical_model

    litellm = offline_litellm()

    name = LITELLM_PRICE_NAMES.get(canonical_model(model), canonical_model(model))
    entry = litellm.model_cost.get(name)
    if entry is None or entry.get("input_cost_per_token") is None:
        raise KeyError(
            f"no price for model {model!r} (looked up as {name!r}) in litellm's price map; "
            "pass a litellm model name (e.g. 'together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1') "
            "or add it to routellm_py.metrics.LITELLM_PRICE_NAMES"
        )
    return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token") or 0.0)


def cost_per_1k(
    strong_fraction: float,
    strong_model: str,
    weak_model: str,
    input_tokens: float,
    output_tokens: float = DEFAULT_OUTPUT_TOKENS,
) -> float:
    """USD per 1,000 queries when `strong_fraction` of them go to the strong model:
    1000 * (f * c_strong + (1 - f) * c_weak), c = in_tokens * in_price + out_tokens * out_price."""
    f = float(strong_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction!r}")
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts must be >= 0")

    def per_query(model: str) -> float:
        p_in, p_out = price_per_token(model)
        return input_tokens * p_in + output_tokens * p_out

    return 1000.0 * (f * per_query(strong_model) + (1 - f) * per_query(weak_model))
