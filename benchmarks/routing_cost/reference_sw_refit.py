"""The reference RouteLLM 0.2.0 SW router's per-query refit, timed on a battle table of the
size of its first default dataset (lmsys-arena-human-preference-55k; its default config adds
a second one). Per query the reference embeds the prompt through the OpenAI API (a network
round trip, not timed here: offline) and then refits a weighted Bradley-Terry model over
every battle with `compute_elo_mle_with_tie` (scikit-learn LogisticRegression); this times
that refit alone, on synthetic battles between its 10 tiers.

Run with the Python of the reference's venv (benchmarks/server_load/README.md):
    OPENAI_API_KEY=unused /tmp/ref-venv/bin/python benchmarks/routing_cost/reference_sw_refit.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from routellm.routers.similarity_weighted.utils import compute_elo_mle_with_tie


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--battles", type=int, default=55_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tiers = np.array([f"tier{i}" for i in range(10)])
    a = rng.integers(0, 10, args.battles)
    b = (a + rng.integers(1, 10, args.battles)) % 10
    outcomes = ["model_a", "model_b", "tie", "tie (bothbad)"]
    df = pd.DataFrame(
        {"model_a": tiers[a], "model_b": tiers[b], "winner": rng.choice(outcomes, args.battles)}
    )
    times = []
    for _ in range(args.repeats):
        weights = 10 * 10 ** rng.random(args.battles)  # the reference's 10 * 10 ** (sim / max)
        t0 = time.perf_counter()
        compute_elo_mle_with_tie(df, sample_weight=weights)
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"{args.battles} battles: refit per query median {np.median(times):.0f} ms")


if __name__ == "__main__":
    main()
