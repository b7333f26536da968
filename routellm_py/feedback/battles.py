"""Logged feedback as training battles (the `feedback:URL` data source).

Every battle is the router's pair, model_a = strong, model_b = weak, source "feedback":
- a preference ("strong", "weak", "tie") is the battle's outcome as given;
- a rating r in [0, 1] of the answer of model X (the served model, else the routed one)
  is a soft label. X's answer is good with probability r; the other model's answer was
  never seen and is taken as good or bad with probability 1/2 each; a tie counts half (the
  RouteLLM training label). So P(X beats other) = r (1/2 + 1/4) + (1 - r) (1/4 + 0)
  = 1/4 + r/2: good (1) -> 3/4, bad (0) -> 1/4.
  p_a_wins = that for X = strong, 1 minus it for X = weak; outcome is the side it favours.
Decisions without feedback are left out; so are decisions stored without prompt text (the
store keeps prompts only with `store_prompts`), counted in the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import Report, note
from routellm_py.data.battles import Battles

SOURCE = "feedback"
HARD = {"strong": ("a_wins", 1.0), "weak": ("b_wins", 0.0), "tie": ("tie", 0.5)}


def rating_p_wins(rating: float) -> float:
    """P(rated model beats the unseen one) = 1/4 + rating/2 (module doc)."""
    return 0.25 + 0.5 * float(rating)


def feedback_battles(
    records: list[dict[str, Any]], source: str = SOURCE, report: Report | None = None
) -> Battles:
    """Battles from `FeedbackStore.records()` (module doc)."""
    rows, no_prompt = [], 0
    for r in records:
        if r["kind"] is None:
            continue
        if not r["prompt"]:
            no_prompt += 1
            continue
        if r["kind"] == "preference":
            outcome, p = HARD[r["preference"]][0], np.nan
        else:
            p = rating_p_wins(r["rating"])
            p = p if (r["served_to"] or r["routed_to"]) == "strong" else 1.0 - p
            outcome = "a_wins" if p > 0.5 else "b_wins"
        rows.append((r["prompt"], r["strong_model"], r["weak_model"], outcome, p, source, 1.0))
    note(report, source, "feedback on decisions stored without prompt text", no_prompt)
    if not rows:
        raise ValueError(
            f"{source}: no feedback with prompt text to train on ({no_prompt} without prompt;"
            " start the server with --store-prompts to keep prompts)"
        )
    columns = ["prompt", "model_a", "model_b", "outcome", "p_a_wins", "source", "weight"]
    return Battles(pd.DataFrame(rows, columns=columns))
