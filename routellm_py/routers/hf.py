"""Base class of the fine-tuned Hugging Face routers (BERT, causal LM, quality gap): battles ->
per-prompt targets -> fine-tune -> batched inference -> safetensors checkpoint (RouteLLM §4.1).

Serving needs `routellm_py.hf_text` and `routers.hf_models` only; `fit` imports the
training loop (`routellm_py.training.classifier`) when it runs.

Subclasses define the label space (`_battle_targets`), how a fresh model is built
(`_build`), what network the loop trains (`_trainable`), and how class probabilities
become P(strong wins) (`_win_from_proba`).
"""

from __future__ import annotations

import inspect
import json
from abc import abstractmethod
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from routellm_py.hf_text import default_device, predict_proba
from routellm_py.routers.base import Router, with_keywords
from routellm_py.routers.hf_models import save_hf, verified_model_dir


@dataclass(frozen=True)
class FineTuning:
    """The fine-tuning and inference parameters every HF router takes, as plain constructor
    keywords (and `get_params` keys); a router class holds its defaults in `fine_tuning`.

    lr, epochs, batch_size, max_length, val_fraction, patience, optimizer, class_weighting,
    seed, precision, progress: `routellm_py.training.classifier.train_classifier`;
    max_examples: a seeded subsample of that many training prompts (0 = all);
    infer_batch_size: prompts per forward pass in `win_rate`.
    """

    lr: float = 3e-5
    epochs: int = 3
    batch_size: int = 16
    max_length: int = 256
    val_fraction: float = 0.1
    patience: int = 1
    optimizer: str = "adamw"
    class_weighting: bool = True
    seed: int = 0
    max_examples: int = 0
    infer_batch_size: int = 32
    precision: str = "auto"
    progress: bool = True


FINE_TUNING_KEYS = tuple(f.name for f in fields(FineTuning))
# the keywords of `train_classifier` among them
TRAIN_KEYS = tuple(k for k in FINE_TUNING_KEYS if k not in ("max_examples", "infer_batch_size"))


class HFClassifierRouter(Router):
    """Base of the fine-tuned transformer routers; not registered itself.

    A subclass's `__init__` lists its own parameters and ends in `**fine_tuning`; its
    signature (what `get_params`, `save` and `routellm-py train` read) is completed here with
    every `FineTuning` field at the class's `fine_tuning` default."""

    fine_tuning: ClassVar[FineTuning] = FineTuning()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            tuning = [
                inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
                for k, v in asdict(cls.fine_tuning).items()
            ]
            cls.__init__.__signature__ = with_keywords(cls.__init__, tuning)

    def _set_params(self, params: dict[str, Any]) -> None:
        """Store every constructor argument under its own name (the `get_params` contract):
        the subclass's own, then the `fine_tuning` keywords over the class defaults."""
        super().__init__(params.pop("strong_model"), params.pop("weak_model"))
        params.pop("self", None)
        params.pop("__class__", None)
        tuning = params.pop("fine_tuning")
        unknown = sorted(set(tuning) - set(FINE_TUNING_KEYS))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword arguments {unknown}; "
                f"fine-tuning parameters are {list(FINE_TUNING_KEYS)}"
            )
        params.update(asdict(replace(self.fine_tuning, **tuning)))
        if params["max_examples"] < 0:
            raise ValueError(f"max_examples must be >= 0 (0 = all), got {params['max_examples']}")
        for k, v in params.items():
            setattr(self, k, v)
        self._model: Any = None
        self._tokenizer: Any = None
        self.train_report: dict[str, Any] | None = None

    # ---- subclass hooks --------------------------------------------------------------------
    @abstractmethod
    def _battle_targets(self, pair: Any) -> np.ndarray:
        """(n_battles, C) targets for strong-vs-weak battles (strong = model_a)."""

    @abstractmethod
    def _build(self) -> tuple[Any, Any]:
        """(HF model, tokenizer) for a fresh fine-tune from `self.backbone`."""

    @abstractmethod
    def _load_hf(self, model_dir: Path) -> tuple[Any, Any]:
        """(HF model, tokenizer) from a saved `model/` folder."""

    @abstractmethod
    def _win_from_proba(self, proba: np.ndarray) -> np.ndarray:
        """P(strong wins) from the (N, C) class probabilities."""

    def _fit_targets(self, targets: np.ndarray) -> np.ndarray:
        """The targets the training network's outputs are scored against (default: as is)."""
        return targets

    def _trainable(self, training: bool = False) -> tuple[Any, Any]:
        """(network, tokenizer) handed to `train_classifier` (training) or `predict_proba`."""
        return self._model, self._tokenizer

    # ---- training --------------------------------------------------------------------------
    def training_rows(self, battles: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Per-prompt (prompts, targets, weights) from the strong-vs-weak battles, bounded by
        `max_examples` (a seeded subsample of prompts; 0 = all)."""
        from routellm_py.training import labels as L

        pair = L.strong_weak_battles(battles, self.strong_model, self.weak_model)
        prompts, targets, weights = L.aggregate_by_prompt(
            pair.frame["prompt"].tolist(),
            self._battle_targets(pair),
            pair.frame["weight"].to_numpy(),
        )
        keep = L.subsample(len(prompts), self.max_examples or None, self.seed)
        return [prompts[i] for i in keep], targets[keep], weights[keep]

    def fit(self, battles: Any, **kwargs: Any) -> HFClassifierRouter:
        """Fine-tune a fresh model on the strong-vs-weak battles (see `training.labels`)."""
        return self._fit_rows(*self.training_rows(battles))

    def _fit_rows(
        self, prompts: list[str], targets: np.ndarray, weights: np.ndarray
    ) -> HFClassifierRouter:
        """Fine-tune a fresh model from `self.backbone` on per-prompt targets and weights.

        The seed is set before the model is built: a new head and new label-token embedding
        rows are drawn from torch's global generator."""
        import torch

        from routellm_py.training.classifier import train_classifier

        torch.manual_seed(self.seed)
        self._model, self._tokenizer = self._build()
        net, tok = self._trainable(training=True)
        report = train_classifier(
            net,
            tok,
            prompts,
            self._fit_targets(targets),
            sample_weight=weights,
            **{k: getattr(self, k) for k in TRAIN_KEYS},
        )
        self.train_report = report.to_dict()
        self.provenance["training"] = {
            "n_prompts": len(prompts),
            "label_mass": targets.sum(axis=0).round(3).tolist(),
            **self.train_report,
        }
        return self

    # ---- inference -------------------------------------------------------------------------
    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        if self._model is None:
            raise RuntimeError(
                f"{self.name} router has no weights: call fit(battles) or load a checkpoint"
            )
        net, tok = self._trainable()
        proba = predict_proba(net, tok, prompts, self.infer_batch_size, self.max_length)
        return np.clip(self._win_from_proba(proba), 0.0, 1.0)

    # ---- checkpoints -----------------------------------------------------------------------
    def save(self, directory: str | Path, card: str | None = None) -> Path:
        """As `Router.save`; under DDP only rank 0 writes and every rank waits for it."""
        from routellm_py.training import distributed as D

        if D.rank_and_world()[0] == 0:
            super().save(directory, card)
        D.barrier()
        self.checkpoint_dir = Path(directory)
        return self.checkpoint_dir

    def _save_state(self, directory: Path) -> None:
        if self._model is None:
            raise RuntimeError(f"{self.name} router has no weights to save; fit it first")
        save_hf(self._model, self._tokenizer, directory)

    def _load_state(self, directory: Path) -> None:
        self._model, self._tokenizer = self._load_hf(verified_model_dir(directory))
        self._model.eval()

    def model_card(self) -> str:
        report = json.dumps(self.provenance.get("training", {}), indent=2, default=str)
        return (
            super().model_card()
            + f"\n## Labels\n{self._label_doc()}\n\n## Training run\n```json\n{report}\n```\n"
            + "\nWeights: `model/` (safetensors + Hugging Face config + tokenizer), checked "
            "against `model_files.json` on load.\n"
        )

    @abstractmethod
    def _label_doc(self) -> str:
        """Markdown: the battle -> label mapping and how P(strong wins) is read out."""


class SequenceClassifierRouter(HFClassifierRouter):
    """An `HFClassifierRouter` whose network is an `AutoModelForSequenceClassification`."""

    def _load_hf(self, model_dir: Path) -> tuple[Any, Any]:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
        return model.to(default_device()), AutoTokenizer.from_pretrained(model_dir)
