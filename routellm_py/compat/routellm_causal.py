"""RouteLLM's causal-LLM router (`routellm/causal_llm_gpt4_augmented`, Ong et al. 2024 §4.1)
with RouteLLM's own read-out, which differs from this project's `causal_llm` router.

Published format (RouteLLM `routellm/routers/causal_llm/` and `routers.py`): a causal LM
(Llama-3-8B) fine-tuned with label tokens [[1]]..[[5]] appended to the vocabulary; [[k]]
is the predicted quality of the weak model's answer. The checkpoint repository also holds
`system_ft_v5.txt` and `classifier_ft_v5.txt` (with a `{question}` slot). The prompt is
RouteLLM's Llama-3 `PromptFormat` with no trailing assistant header:

    <|start_header_id|>system<|end_header_id|>\\n\\n{system}<|eot_id|>
    <|start_header_id|>user<|end_header_id|>\\n\\n{classifier with the question}<|eot_id|>

(each message stripped), tokenised with `tokenizer.encode` (its BOS included). The model
generates greedily up to 6 tokens; at the first generated label token the logits of the
label tokens (the ids after the original vocabulary) give q = softmax, and

    win rate = 1 - sum_{k >= score_threshold} q_k      (score_threshold = 4: 1 - q_4 - q_5)

If no label token is generated the router answers 1 (route to the strong model), as
RouteLLM does. Prompts are scored one at a time, as RouteLLM does, so padding never
changes a score. The checkpoint written by `save` records where the weights are (it does
not copy 16 GB of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from routellm_py.compat.routellm import ROUTELLM_STRONG, ROUTELLM_WEAK, local_dir
from routellm_py.routers.base import HUB_PREFIX, CheckpointError, Router, register

CAUSAL_REPO = f"{HUB_PREFIX}routellm/causal_llm_gpt4_augmented"
SYSTEM_FILE, CLASSIFIER_FILE = "system_ft_v5.txt", "classifier_ft_v5.txt"
LLAMA3_SYSTEM = "<|start_header_id|>system<|end_header_id|>\n\n{instruction}<|eot_id|>"
LLAMA3_USER = "<|start_header_id|>user<|end_header_id|>\n\n{instruction}<|eot_id|>"


@register("routellm_causal_llm")
class RouteLLMCausalRouter(Router):
    """RouteLLM's released causal-LLM router (see the module doc); not trainable here."""

    trainable = False

    def __init__(
        self,
        strong_model: str = ROUTELLM_STRONG,
        weak_model: str = ROUTELLM_WEAK,
        checkpoint: str = "",
        tokenizer: str = "",
        score_threshold: int = 4,
        n_labels: int = 5,
        max_new_tokens: int = 6,
        dtype: str = "float32",
    ) -> None:
        super().__init__(strong_model, weak_model)
        if not checkpoint:
            raise ValueError("checkpoint is required: the RouteLLM causal-LLM model folder")
        if not 1 <= score_threshold <= n_labels:
            raise ValueError(f"score_threshold must be in [1, {n_labels}], got {score_threshold}")
        self.checkpoint, self.tokenizer = checkpoint, tokenizer
        self.score_threshold, self.n_labels = score_threshold, n_labels
        self.max_new_tokens, self.dtype = max_new_tokens, dtype
        self._model: Any = None
        self._tok: Any = None
        self._messages: tuple[str, str] | None = None

    def labels(self) -> list[str]:
        return [f"[[{k}]]" for k in range(1, self.n_labels + 1)]

    def _load(self) -> None:
        """Model, tokenizer (label tokens appended if missing) and the two message files."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        d = Path(self.checkpoint)
        files = [d / SYSTEM_FILE, d / CLASSIFIER_FILE]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise CheckpointError(f"{d} lacks {missing}: RouteLLM's checkpoint holds both files")
        self._messages = (files[0].read_text(), files[1].read_text())
        tok = AutoTokenizer.from_pretrained(self.tokenizer or d, truncation_side="left")
        if any(t not in tok.get_vocab() for t in self.labels()):
            tok.add_tokens(self.labels(), special_tokens=True)
        self._orig_vocab = len(tok) - self.n_labels
        ids = tok.convert_tokens_to_ids(self.labels())
        if ids != list(range(self._orig_vocab, len(tok))):
            raise CheckpointError(f"label tokens must be the last {self.n_labels} ids, got {ids}")
        model = AutoModelForCausalLM.from_pretrained(d, dtype=getattr(torch, self.dtype))
        if model.get_output_embeddings().weight.shape[0] != len(tok):
            raise CheckpointError(
                f"{d}: the model has {model.get_output_embeddings().weight.shape[0]} output "
                f"tokens, the tokenizer {len(tok)}; pass the tokenizer it was trained with"
            )
        self._model, self._tok = model.eval(), tok

    def prompt_text(self, prompt: str) -> str:
        """RouteLLM's Llama-3 prompt: system, then the classifier message with the question."""
        if self._messages is None:
            self._load()
        system, classifier = self._messages
        user = classifier.format(question=prompt).strip()
        return LLAMA3_SYSTEM.format(instruction=system.strip()) + LLAMA3_USER.format(
            instruction=user
        )

    def label_probs(self, prompt: str) -> np.ndarray | None:
        """q over the label tokens at the first generated label token; None if none came."""
        import torch

        if self._model is None:
            self._load()
        ids = torch.tensor([self._tok.encode(self.prompt_text(prompt))])
        with torch.inference_mode():
            out = self._model.generate(
                ids,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=self._tok.eos_token_id,
                output_scores=True,
                return_dict_in_generate=True,
            )
        generated = out.sequences[0, ids.shape[1] :].tolist()
        step = next((i for i, t in enumerate(generated) if t >= self._orig_vocab), None)
        if step is None:
            return None
        logits = out.scores[step][0, self._orig_vocab :].double()
        return torch.softmax(logits, dim=-1).numpy()

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        out = np.empty(len(prompts))
        for i, p in enumerate(prompts):
            q = self.label_probs(p)
            out[i] = 1.0 if q is None else 1.0 - q[self.score_threshold - 1 :].sum()
        return np.clip(out, 0.0, 1.0)


def load_routellm_causal(
    source: str | Path = CAUSAL_REPO,
    tokenizer: str = "",
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    revision: str | None = None,
    dtype: str = "float32",
) -> RouteLLMCausalRouter:
    """RouteLLM's causal-LLM router from a folder or hub id; `tokenizer` defaults to the
    checkpoint's own (RouteLLM loads meta-llama/Meta-Llama-3-8B's and appends the labels)."""
    d = local_dir(source, revision)
    router = RouteLLMCausalRouter(
        strong_model, weak_model, checkpoint=str(d), tokenizer=tokenizer, dtype=dtype
    )
    router.provenance = {"converted_from": f"RouteLLM CausalLLMRouter {source}"}
    return router
