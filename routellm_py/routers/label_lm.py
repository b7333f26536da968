"""A causal LM as a classifier over label tokens, by next-token prediction (RouteLLM §4.1).

The query is wrapped in an instruction and the model's chat template (generation prompt
included); the class scores are the LM logits of the label tokens [[1]]..[[K]] at the
answer position (the last prompt token). One forward pass, no generation loop, no new head.

Training ("label-token loss only") is the full-vocabulary next-token cross-entropy at the
answer position: the module returns K + 1 logits, the K label logits and
log sum_{v not a label} exp(z_v), so softmax over them is exactly the vocabulary softmax
with all non-label tokens pooled. At inference only the K label logits are returned and
the softmax runs over them alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import torch

DEFAULT_INSTRUCTION = (
    "How much would a stronger AI assistant beat a weaker one on the question below? Reply "
    "[[1]] (the weaker one is just as good) to [[{n}]] (the stronger one is clearly better)."
    "\n\nQuestion:\n{query}"
)


class LabelTokenLM(torch.nn.Module):
    """Wraps an `AutoModelForCausalLM`; forward(input_ids, attention_mask).logits is (B, K+1)
    while `include_rest` (training) and (B, K) otherwise. Padding must be on the right."""

    def __init__(self, lm: Any, label_ids: Sequence[int], include_rest: bool) -> None:
        super().__init__()
        self.lm = lm
        self.include_rest = include_rest
        self.register_buffer("label_ids", torch.tensor(list(label_ids)), persistent=False)

    @property
    def hf_device_map(self) -> Any:
        return getattr(self.lm, "hf_device_map", None)

    def forward(self, input_ids: Any, attention_mask: Any) -> SimpleNamespace:
        out = self.lm(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=True,
            logits_to_keep=1,
            use_cache=False,
        )
        last = attention_mask.sum(dim=1) - 1
        hidden = out.hidden_states[-1][torch.arange(len(last), device=last.device), last]
        vocab = self.lm.get_output_embeddings()(hidden).float()
        ids = self.label_ids.to(vocab.device)
        logits = vocab[:, ids]
        if self.include_rest:
            rest = vocab.index_fill(1, ids, float("-inf")).logsumexp(dim=1, keepdim=True)
            logits = torch.cat([logits, rest], dim=1)
        return SimpleNamespace(logits=logits)


class ChatPromptTokenizer:
    """Tokenises queries as full instruction prompts ending at the answer position.

    Truncation cuts the query (to about `max_length` minus the template's length), never the
    template, so the answer position is always the last token. A tokenizer without a chat
    template gets the plain instruction followed by "\\nAnswer: ".
    """

    def __init__(self, tokenizer: Any, instruction: str, n_labels: int) -> None:
        self.tokenizer = tokenizer
        self.instruction = instruction
        self.n_labels = n_labels

    @property
    def pad_token_id(self) -> int | None:
        return self.tokenizer.pad_token_id

    def render(self, query: str) -> str:
        text = self.instruction.format(query=query, n=self.n_labels)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
        return text + "\nAnswer: "

    def _ids(self, texts: list[str]) -> list[list[int]]:
        return [list(x) for x in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def __call__(
        self, texts: Sequence[str], truncation: bool = True, max_length: int = 256
    ) -> dict[str, list[list[int]]]:
        texts = list(texts)
        budget = max(1, max_length - len(self._ids([self.render("")])[0]))
        queries = [
            self.tokenizer.decode(q[:budget]) if truncation and len(q) > budget else t
            for t, q in zip(texts, self._ids(texts), strict=True)
        ]
        return {"input_ids": self._ids([self.render(q) for q in queries])}
