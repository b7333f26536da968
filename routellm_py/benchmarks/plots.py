"""Performance vs % strong calls, every router with the oracle and random baselines, and
the band of 95% of seeded random routers (pointwise 2.5-97.5 percentile)."""

from __future__ import annotations

import io

import numpy as np

from routellm_py.metrics import Curve

STYLES = {
    "oracle": {"color": "black", "ls": "--"},
    "random (expected)": {"color": "grey", "ls": ":"},
}


def plot_curves(
    curves: dict[str, Curve],
    title: str,
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """PNG bytes of the curves (matplotlib Agg backend, imported here so imports stay light);
    `band` = (strong fractions, low, high) is shaded as the random routers' band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    try:
        if band is not None:
            grid, low, high = band
            ax.fill_between(
                grid * 100, low, high, color="grey", alpha=0.2, lw=0, label="random band (95%)"
            )
        for label, c in curves.items():
            ax.plot(c.x * 100, c.y, label=label, lw=1.5, **STYLES.get(label, {}))
        ax.set_xlabel("% calls to the strong model")
        ax.set_ylabel("performance")
        ax.set_title(title)
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()
