"""BERT classifier router (RouteLLM §4.1): a fine-tuned encoder classifies a prompt into
{strong wins, tie, weak wins}; P(strong wins) is read from the softmax.

    P_theta(win_strong | q) = softmax(W h_CLS(q) + b)_strong + tie_share * softmax(...)_tie

`tie_share` = 0 (default) follows RouteLLM's released router, which scores
1 - P(tie) - P(weak wins): a tie means the weak model was good enough. 0.5 counts a tie
as half a win, as `Battles.soft_label` does. Any `AutoModelForSequenceClassification`
backbone works; the default is the bundled all-MiniLM-L6-v2 (`backbone="minilm"`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.hf_text import load_tokenizer
from routellm_py.routers.base import register
from routellm_py.routers.hf import FineTuning, SequenceClassifierRouter


@register("bert")
class BertRouter(SequenceClassifierRouter):
    """Full fine-tuning of an encoder with a 3-way head (see module doc); the fine-tuning
    keywords and their defaults: `FineTuning` and `fine_tuning` below."""

    fine_tuning = FineTuning(lr=5e-5, max_length=128)

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        backbone: str = "minilm",
        tie_share: float = 0.0,
        **fine_tuning: Any,
    ) -> None:
        if not 0.0 <= tie_share <= 1.0:
            raise ValueError(f"tie_share must be in [0, 1], got {tie_share}")
        self._set_params(dict(locals()))

    def _battle_targets(self, pair: Any) -> np.ndarray:
        from routellm_py.training.labels import outcome_targets

        return outcome_targets(pair)

    def _build(self) -> tuple[Any, Any]:
        from routellm_py.training.classifier import build_sequence_classifier
        from routellm_py.training.labels import OUTCOME_LABELS

        tok = load_tokenizer(self.backbone)
        model = build_sequence_classifier(
            self.backbone, 3, labels=OUTCOME_LABELS, pad_token_id=tok.pad_token_id
        )
        return model, tok

    def _win_from_proba(self, proba: np.ndarray) -> np.ndarray:
        return proba[:, 0] + self.tie_share * proba[:, 1]

    def _label_doc(self) -> str:
        return (
            "Classes (strong_wins, tie, weak_wins). A strong-vs-weak battle with P(strong wins)"
            " = p becomes the target (p, 0, 1-p); a tie becomes (0, 1, 0); battles on the same "
            "prompt are weight-averaged. Win rate = P(strong_wins) + tie_share * P(tie), "
            f"tie_share = {self.tie_share}."
        )
