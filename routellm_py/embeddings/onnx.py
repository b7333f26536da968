"""A sentence-transformers model (mean pooling) run by onnxruntime: same encoder, fast path.

The graph is exported once per machine from the local weights (no hub download) into
`<cache root>/onnx/`, then optionally quantised to int8 with onnxruntime's dynamic
quantisation (weights int8 per output channel, activations quantised per call; Jacob et al.
2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference"). Serving then needs onnxruntime and tokenizers only: no torch.

The graph computes the transformer and the attention-mask-weighted mean of the last hidden
states, as sentence-transformers' Pooling(mean) does; `Encoder` L2-normalises the result.
Tokenisation is the folder's `tokenizer.json`, truncated to `max_length` tokens including
[CLS] and [SEP], as sentence-transformers truncates.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import ENCODER_THREADS_ENV, atomic_path

OPSET = 17


def check_mean_pooling(folder: Path) -> None:
    """Refuse folders the graph would not reproduce: the pooling must be a plain mean."""
    cfg = folder / "1_Pooling" / "config.json"
    if not cfg.is_file() or not (folder / "tokenizer.json").is_file():
        raise ValueError(
            f"{folder}: the onnx backend needs 1_Pooling/config.json and tokenizer.json"
        )
    pooling = json.loads(cfg.read_text())
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ValueError(f"{folder}: the onnx backend supports mean pooling only, not {modes}")


def onnx_model_path(folder: Path, quantize: bool) -> Path:
    """The exported (and, if `quantize`, int8) graph of `folder`, built once and cached."""
    from routellm_py.embeddings.cache import cache_root

    check_mean_pooling(folder)
    h = hashlib.sha256((folder / "config.json").read_bytes())
    for f in sorted(folder.glob("*.safetensors")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    out_dir = cache_root() / "onnx" / f"{folder.name}-{h.hexdigest()[:12]}"
    fp32 = out_dir / "model.onnx"
    if not fp32.is_file():
        _export(folder, fp32)
    if not quantize:
        return fp32
    int8 = out_dir / "model-int8.onnx"
    if not int8.is_file():
        _quantize(fp32, int8)
    return int8


def _export(folder: Path, out: Path) -> None:
    """torch -> ONNX (TorchScript exporter; dynamic batch and sequence axes), atomically."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as e:
        raise ImportError("exporting the onnx graph needs torch and transformers") from e

    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            w = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)

    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.ones(2, 8, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with atomic_path(out) as tmp, torch.no_grad():
        torch.onnx.export(
            MeanPooled(),
            (example, example),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize(src: Path, out: Path) -> None:
    """Dynamic int8 quantisation, weights per output channel (per-tensor scales cost MiniLM
    about 0.05 cosine on MMLU prompts; per-channel about 0.008: benchmarks/routing_cost)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ImportError("int8 quantisation needs onnx: pip install 'routellm-py[fast]'") from e
    with atomic_path(out) as tmp:
        quantize_dynamic(
            str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
        )


class OnnxMeanPooler:
    """Tokenise with `tokenizer.json`, run the graph, return mean-pooled (n, dim) float32."""

    def __init__(self, folder: Path, max_length: int, quantize: bool) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.quantized = quantize
        self.path = onnx_model_path(folder, quantize)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        opts = ort.SessionOptions()
        # 0: all cores
        opts.intra_op_num_threads = int(os.environ.get(ENCODER_THREADS_ENV, "0") or 0)
        opts.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: on a busy 2-core host spinning doubled the
        # CPU time of a single-prompt call for no gain in latency (benchmarks/routing_cost).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session: Any = ort.InferenceSession(
            str(self.path), opts, providers=["CPUExecutionProvider"]
        )

    @property
    def dim(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def __call__(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Texts sorted by length and batched, so padding stays small; rows in input order.

        An int8 graph runs one text per call: dynamic quantisation scales activations by the
        whole input tensor, so a batch would make a text's vector depend on its neighbours."""
        if self.quantized:
            batch_size = 1
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = np.argsort([len(i) for i in ids], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[r]) for r in rows)
            tok = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(tok)
            for j, r in enumerate(rows):
                tok[j, : len(ids[r])] = ids[r]
                mask[j, : len(ids[r])] = 1
            out[rows] = self.session.run(None, {"input_ids": tok, "attention_mask": mask})[0]
        return out
