"""The Hybrid-LLM quality-gap router (Ding et al. 2024, "Hybrid LLM", §3).

An encoder classifier p_w(x) estimates Pr[H(x) >= -t] with H(x) = q(S(x)) - q(L(x)) the
quality gap between the small (weak) and large (strong) model; queries with a high p_w go
to the small model. To fit the registry contract (win rate = P(strong needed)) the router
returns win_rate(x) = 1 - p_w(x), so thresholds, calibration, the harness and the
Controller work unchanged: strong iff 1 - p_w(x) >= alpha.

Labels (`labels`): r_det (eq. 1), r_prob (eq. 2) or r_trans (eq. 3), see
`routellm_py.quality.labels`. Quality q (`quality`): "judge" (GPT-4 grades), "correct"
(exact match) or "bartscore" (BARTScore of responses). The encoder ("minilm" by default
offline; the paper's `microsoft/deberta-v3-large` by hub id or path) is fine-tuned with the
shared loop `routellm_py.training.classifier.train_classifier` (soft BCE, eq. 2/5).

Training from `Battles` (the train CLI): the battles only name the training prompts and
their sources; the quality samples of the weak and strong model on those prompts are read
from `quality_data` ("auto": the battles' own sources, e.g. arena-bench-v1 judge grades).
`fit_quality` trains directly on quality sample matrices (N, K) and (N, K').
`quality="battles"` needs no scores: y = the share of the prompt's weak-vs-strong battles
where the weak model won or tied, i.e. r_prob with q = the battle outcome (r_det when a
prompt has one battle); r_trans is undefined there, since outcomes carry no gap size.

The encoder, inference and checkpoint (`model/` safetensors + manifest) are those of the
BERT router (`routers.hf.HFClassifierRouter`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.hf_text import load_tokenizer
from routellm_py.routers.base import register
from routellm_py.routers.hf import SequenceClassifierRouter

if TYPE_CHECKING:
    from routellm_py.quality import QualitySamples

CLASS_NAMES = ["large", "small"]  # class 1 = "the small model is good enough" (p_w)
# The router's parameter vocabulary, kept here so that serving never imports the quality
# lab; tests/routers/test_quality_gap.py checks it against `routellm_py.quality`.
LABEL_MODES = ("det", "prob", "trans")  # = routellm_py.quality.labels.LABEL_MODES
ROUTER_QUALITY = ("bartscore", "judge", "correct", "battles")  # QUALITY_KINDS + "battles"
DEFAULT_BART = "facebook/bart-large-cnn"  # = routellm_py.quality.bartscore.DEFAULT_BART


@register("quality_gap")
class QualityGapRouter(SequenceClassifierRouter):
    """win_rate(x) = 1 - p_w(x), p_w an encoder fine-tuned on quality-gap labels; the
    fine-tuning keywords take the `FineTuning` defaults."""

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        labels: str = "trans",
        quality: str = "judge",
        quality_data: str = "auto",
        backbone: str = "minilm",
        bart_model: str = DEFAULT_BART,
        **fine_tuning: Any,
    ) -> None:
        if labels not in LABEL_MODES:
            raise ValueError(f"labels must be one of {LABEL_MODES}, got {labels!r}")
        if quality not in ROUTER_QUALITY:
            raise ValueError(f"quality must be one of {ROUTER_QUALITY}, got {quality!r}")
        if quality == "battles" and labels != "prob":
            raise ValueError(
                "quality='battles' gives one label per prompt, the share of battles the weak "
                "model won or tied: use labels='prob' (r_trans needs numeric quality gaps)"
            )
        self._set_params(dict(locals()))

    @property
    def t_star(self) -> float | None:
        """t* of eq. 3 behind the training labels (0 for r_det / r_prob), kept in config.json
        under provenance.labels; None before training."""
        return self.provenance.get("labels", {}).get("t_star")

    # ---- training ------------------------------------------------------------------------
    def quality_samples(self, battles: Any, data_dir: str | Path | None = None) -> QualitySamples:
        """q(weak) and q(strong) on the battles' prompts, read from `quality_data`."""
        from routellm_py.quality import get_scorer

        prompts = set(battles.frame["prompt"])
        sources = (
            sorted(set(battles.frame["source"]))
            if self.quality_data == "auto"
            else [self.quality_data]
        )
        parts = []
        for src in sources:
            try:
                scorer = get_scorer(self.quality, src, data_dir, self.bart_model)
            except ValueError as e:
                raise ValueError(
                    f"{e}. Battles from {src!r} carry no {self.quality} quality scores: pass "
                    "--quality-data with a source that has them, or another --quality"
                ) from e
            parts.append(scorer.samples(self.weak_model, self.strong_model).restrict(prompts)[0])
        samples = concat_samples(parts)
        unscored = len(prompts - set(samples.prompts))
        if len(samples) == 0:
            raise ValueError(
                f"none of the {len(prompts)} training prompts has {self.quality} scores of both "
                f"{self.weak_model!r} and {self.strong_model!r} in {sources}"
            )
        if unscored:
            print(
                f"quality_gap: {unscored} of {len(prompts)} training prompts have no "
                f"{self.quality} score of both models in {sources}; trained on {len(samples)}",
                file=sys.stderr,
            )
        self.provenance["quality"] = {
            "kind": self.quality,
            "sources": sources,
            "n_scored": len(samples),
            "n_prompts_without_scores": unscored,
            "k_small": int(samples.small.shape[1]),
            "k_large": int(samples.large.shape[1]),
        }
        return samples

    def fit(
        self, battles: Any, data_dir: str | Path | None = None, **kwargs: Any
    ) -> QualityGapRouter:
        """Train on the quality samples of the battles' prompts (see module doc). Quality data
        is read from `data_dir`, else $ROUTELLM_PY_DATA, else ./data."""
        if self.quality == "battles":
            self.provenance["labels"] = {"mode": "prob", "t_star": 0.0, "quality": "battles"}
            return self._fit_rows(*self.training_rows(battles))
        s = self.quality_samples(battles, data_dir)
        return self.fit_quality(s.prompts, s.small, s.large)

    def fit_quality(
        self, prompts: Sequence[str], small: np.ndarray, large: np.ndarray
    ) -> QualityGapRouter:
        """Fine-tune the encoder on labels from q(S(x)) (N, K) and q(L(x)) (N, K')."""
        from routellm_py.quality import make_labels
        from routellm_py.training.labels import subsample

        prompts = list(prompts)
        lab = make_labels(small, large, self.labels)
        if len(lab.y) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(lab.y)} rows of quality samples")
        keep = subsample(len(prompts), self.max_examples or None, self.seed)
        targets = np.stack([1.0 - lab.y, lab.y], axis=1)[keep]
        self.provenance["labels"] = lab.summary()
        return self._fit_rows([prompts[i] for i in keep], targets, np.ones(len(keep)))

    def _battle_targets(self, pair: Any) -> np.ndarray:
        """[P(strong strictly better), P(weak at least as good)] per strong-vs-weak battle."""
        from routellm_py.training.labels import outcome_targets

        t = outcome_targets(pair)
        return np.stack([t[:, 0], t[:, 1] + t[:, 2]], axis=1)

    # ---- model ---------------------------------------------------------------------------
    def _build(self) -> tuple[Any, Any]:
        from routellm_py.training.classifier import build_sequence_classifier

        tok = load_tokenizer(self.backbone)
        model = build_sequence_classifier(
            self.backbone, 2, labels=CLASS_NAMES, pad_token_id=tok.pad_token_id
        )
        return model, tok

    def small_probability(self, prompts: Sequence[str]) -> np.ndarray:
        """p_w(x): the estimated Pr[H(x) >= -t*] that the small model is good enough."""
        return 1.0 - self.win_rate(prompts)

    def _win_from_proba(self, proba: np.ndarray) -> np.ndarray:
        return 1.0 - proba[:, CLASS_NAMES.index("small")]

    def _label_doc(self) -> str:
        lab = self.provenance.get("labels", {})
        return (
            f"Hybrid LLM label mode `r_{self.labels}`, quality `{self.quality}`, "
            f"t* = {lab.get('t_star')}, mean label {lab.get('mean_label')}. Classes "
            "(large, small); win_rate = 1 - p_w(x) with p_w(x) = P(small), the estimated "
            "Pr[q(small) - q(large) >= -t*]."
        )


def concat_samples(parts: Sequence[QualitySamples]) -> QualitySamples:
    """Stack quality samples of the same model pair from several sources (equal K)."""
    from routellm_py.quality import QualitySamples

    if len(parts) == 1:
        return parts[0]
    if len({(p.small.shape[1], p.large.shape[1]) for p in parts}) > 1:
        raise ValueError("sources give different numbers of samples per query; use one source")
    return QualitySamples(
        prompts=[x for p in parts for x in p.prompts],
        small=np.concatenate([p.small for p in parts]),
        large=np.concatenate([p.large for p in parts]),
        small_model=parts[0].small_model,
        large_model=parts[0].large_model,
        source=",".join(p.source for p in parts),
        n_missing=sum(p.n_missing for p in parts),
        keys=[f"{p.source}/{k}" for p in parts for k in p.keys],
    )
