"""Logged feedback as training battles: the `feedback:URL` data source, registered with
`routellm_py.data.sources` when this module is imported.

Every battle is the router's pair, model_a = strong, model_b = weak, source "feedback":
- a preference ("strong", "weak", "tie") is the battle's outcome as given;
- a rating r in [0, 1] of the answer of model X (the served model, else the routed one)
  corrects the router's own estimate w (stored with the decision). For 0/1 scores s, k of
  the strong and weak answers, the outcome with ties counted half is y = (1 + s - k) / 2
  exactly, so E[y | q] = (1 + P_s(q) - P_k(q)) / 2, which w estimates. The feedback
  observes one of s, k; the other model's answer is never seen. Replacing the observed
  model's success probability by its observed rating, estimated per model as pi_X (X's
  mean rating over the same feedback; 1/2 if none), gives the soft label
      X = strong:  p_a_wins = w + (r - pi_strong) / 2
      X = weak:    p_a_wins = w - (r - pi_weak) / 2
  clipped to [0, 1]: an answer as good as the model's average leaves w as it was, a bad
  weak answer raises P(strong wins), a bad strong answer lowers it. (Labelling the
  unseen answer with a constant instead teaches the router its own routing split: every
  good strong answer would say "strong wins", every good weak answer "weak wins".)
  outcome is the side p_a_wins favours (a tie at exactly 1/2).
Decisions without feedback are left out; so are decisions stored without prompt text (the
store keeps prompts only with `store_prompts`), counted in the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import Report, note, outcome_from_p
from routellm_py.data.battles import Battles
from routellm_py.data.sources import SourceContext, register_source
from routellm_py.feedback.store import FeedbackStore

SOURCE = "feedback"
HARD = {"strong": "a_wins", "weak": "b_wins", "tie": "tie"}


def rating_label(win_rate: float, rating: float, role: str, mean_rating: float) -> float:
    """p_a_wins (strong beats weak) of a rating of the `role` model's answer (module doc)."""
    sign = 1.0 if role == "strong" else -1.0
    return float(np.clip(win_rate + sign * (rating - mean_rating) / 2, 0.0, 1.0))


def _rated_role(r: dict[str, Any]) -> str:
    return r["served_to"] or r["routed_to"]


def _mean_rating(rated: list[dict[str, Any]], role: str) -> float:
    """pi of a model: the mean rating of its answers (1/2 when none was rated)."""
    ratings = [r["rating"] for r in rated if _rated_role(r) == role]
    return float(np.mean(ratings)) if ratings else 0.5


def feedback_battles(
    records: list[dict[str, Any]], source: str = SOURCE, report: Report | None = None
) -> Battles:
    """Battles from `FeedbackStore.records()` (module doc)."""
    rated = [r for r in records if r["kind"] == "rating"]
    prior = {role: _mean_rating(rated, role) for role in ("strong", "weak")}
    rows, no_prompt = [], 0
    for r in records:
        if r["kind"] is None:
            continue
        if not r["prompt"]:
            no_prompt += 1
            continue
        if r["kind"] == "preference":
            outcome, p = HARD[r["preference"]], np.nan
        else:
            x = _rated_role(r)
            p = rating_label(r["win_rate"], r["rating"], x, prior[x])
            outcome = str(outcome_from_p(np.array([p]))[0])
        rows.append((r["prompt"], r["strong_model"], r["weak_model"], outcome, p, source, 1.0))
    note(report, source, "feedback on decisions stored without prompt text", no_prompt)
    if not rows:
        raise ValueError(
            f"{source}: no feedback with prompt text to train on ({no_prompt} without prompt;"
            " start the server with --store-prompts to keep prompts)"
        )
    columns = ["prompt", "model_a", "model_b", "outcome", "p_a_wins", "source", "weight"]
    return Battles(pd.DataFrame(rows, columns=columns))


def load_feedback(c: SourceContext) -> Battles:
    """The `feedback:URL` source: the battles of every decision with feedback in the store."""
    store = FeedbackStore(c.path or "")
    try:
        return feedback_battles(store.records(), source=c.label, report=c.report)
    finally:
        store.close()


register_source(
    "feedback",
    load_feedback,
    takes_path=True,
    help="logged routing feedback: feedback:sqlite:///PATH or feedback:postgresql://...",
)
