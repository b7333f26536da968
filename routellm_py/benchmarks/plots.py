"""Performance vs % strong calls, every router with the oracle and random baselines, and
the band of 95% of seeded random routers (pointwise 2.5-97.5 percentile); reliability
diagrams of win rates (mean outcome vs mean win rate per bin)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from routellm_py.metrics import Curve

STYLES = {
    "oracle": {"color": "black", "ls": "--"},
    "random (expected)": {"color": "grey", "ls": ":"},
}


@contextmanager
def axes(size: tuple[float, float]) -> Iterator[Any]:
    """One matplotlib Axes on the Agg backend (imported here, so imports stay light); the
    figure is closed when the block ends."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    try:
        yield ax
    finally:
        plt.close(fig)


def _png(ax: Any, xlabel: str, ylabel: str, title: str, xmax: float) -> bytes:
    """Label, grid and legend the axes (x from 0 to `xmax`); the figure as PNG bytes."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_xlim(0, xmax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def plot_curves(
    curves: dict[str, Curve],
    title: str,
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """PNG bytes of the curves; `band` = (strong fractions, low, high) is shaded as the
    random routers' band."""
    with axes((6.4, 4.4)) as ax:
        if band is not None:
            grid, low, high = band
            ax.fill_between(
                grid * 100, low, high, color="grey", alpha=0.2, lw=0, label="random band (95%)"
            )
        for label, c in curves.items():
            ax.plot(c.x * 100, c.y, label=label, lw=1.5, **STYLES.get(label, {}))
        return _png(ax, "% calls to the strong model", "performance", title, 100)


def plot_reliability(
    bins: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], title: str
) -> bytes:
    """PNG bytes of a reliability diagram: per router, the mean outcome (strong beats weak,
    ties 1/2) against the mean win rate of each non-empty bin, marker area ~ prompts."""
    with axes((4.8, 4.8)) as ax:
        ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1, label="perfectly calibrated")
        for label, (pbar, ybar, n) in bins.items():
            line = ax.plot(pbar, ybar, marker=None, lw=1.2, label=label)[0]
            ax.scatter(pbar, ybar, s=8 + 200 * n / n.sum(), color=line.get_color(), alpha=0.8)
        ax.set_ylim(0, 1)
        return _png(
            ax,
            "mean win rate in bin (P(strong beats weak))",
            "mean outcome (strong > weak; tie = 1/2)",
            f"reliability: {title}",
            1,
        )
