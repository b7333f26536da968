"""Quality scorers q and quality-gap labels for the Hybrid-LLM router (Ding et al. 2024).

Heavy libraries (torch, transformers) load only when a BART scorer is built.
"""

from __future__ import annotations

from pathlib import Path

from routellm_py.quality.base import QualitySamples, QualityScorer
from routellm_py.quality.correctness import CORRECTNESS_SOURCES, Correctness
from routellm_py.quality.judge import JUDGE_SOURCES, JudgeScores
from routellm_py.quality.labels import LABEL_MODES, QualityLabels, make_labels

QUALITY_KINDS = ("bartscore", "judge", "correct")


def quality_source_name(source: str) -> str:
    """A battle source name -> the quality source it was built from ("mmlu-gold" -> "mmlu")."""
    if source.startswith(("jsonl:", "csv:")):
        return source
    name = source
    while name.endswith("-gold"):
        name = name.removesuffix("-gold")
    return name


def get_scorer(
    quality: str,
    source: str,
    data_dir: str | Path | None = None,
    bart_model: str | None = None,
) -> QualityScorer:
    """The scorer for `quality` in QUALITY_KINDS reading `source`.

    judge: "arena-bench-v1" | "mt-bench"; correct: "mmlu" | "gsm8k" | "routerbench";
    bartscore: a responses spec, "gsm8k" | "jsonl:PATH" | "csv:PATH", scored by `bart_model`.
    """
    source = quality_source_name(source)
    if quality == "judge":
        return JudgeScores(source, data_dir)
    if quality == "correct":
        return Correctness(source, data_dir)
    if quality == "bartscore":
        from routellm_py.quality.bartscore import DEFAULT_BART, BartScorer, ResponseQuality

        return ResponseQuality(source, BartScorer(bart_model or DEFAULT_BART), data_dir)
    raise ValueError(f"quality must be one of {QUALITY_KINDS}, got {quality!r}")


__all__ = [
    "CORRECTNESS_SOURCES",
    "JUDGE_SOURCES",
    "LABEL_MODES",
    "QUALITY_KINDS",
    "Correctness",
    "JudgeScores",
    "QualityLabels",
    "QualitySamples",
    "QualityScorer",
    "get_scorer",
    "make_labels",
    "quality_source_name",
]
