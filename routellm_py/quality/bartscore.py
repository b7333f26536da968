"""BARTScore (Yuan et al. 2021), the quality metric q of Hybrid LLM (Ding et al. 2024 §4.1).

    BARTScore(x, y) = (1/|y|) sum_t log p_BART(y_t | y_<t, x)

the mean token log-likelihood of response y given query x under a BART seq2seq model
(`BartForConditionalGeneration`; default `facebook/bart-large-cnn`, as in the BARTScore
paper). Scores are <= 0; higher is better. Batched with padding masked out.

BART weights are not bundled: offline, pass a local path. `ResponseQuality` applies a
scorer to a table of model responses (e.g. GSM8K's, or a jsonl/csv file of your own).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.aliases import canonical_model
from routellm_py.data.battles import first_flagged
from routellm_py.quality.base import TABLE_COLUMNS, QualityScorer

DEFAULT_BART = "facebook/bart-large-cnn"
RESPONSE_COLUMNS = ["key", "prompt", "model", "sample", "response"]


class BartScorer:
    """Mean token log-likelihood of targets given sources under a BART model.

    `model` is a hub id or local path; tests pass a ready `bart` module and `tokenizer`.
    """

    def __init__(
        self,
        model: str = DEFAULT_BART,
        batch_size: int = 8,
        max_length: int = 1024,
        device: str | None = None,
        *,
        bart: Any = None,
        tokenizer: Any = None,
    ) -> None:
        if batch_size < 1 or max_length < 2:
            raise ValueError("batch_size must be >= 1 and max_length >= 2")
        self.model_id, self.batch_size, self.max_length = model, batch_size, max_length
        if bart is None or tokenizer is None:
            from transformers import AutoTokenizer, BartForConditionalGeneration

            try:
                tokenizer = AutoTokenizer.from_pretrained(model)
                bart = BartForConditionalGeneration.from_pretrained(model)
            except OSError as e:
                raise FileNotFoundError(
                    f"cannot load BART weights {model!r} ({e}). They are not bundled: download "
                    "them once (e.g. `hf download facebook/bart-large-cnn`) or pass a local path"
                ) from e
        self.bart = bart.to(device) if device else bart
        self.bart.eval()
        self.tokenizer = tokenizer

    def score(self, sources: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """BARTScore(sources[i], targets[i]) for every i, shape (N,)."""
        import torch

        sources, targets = list(sources), list(targets)
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
        for name, texts in (("sources", sources), ("targets", targets)):
            bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
            if bad:
                raise TypeError(f"{name}[{bad[0]}] is not a string")
        order = np.argsort([-len(t) for t in targets], kind="stable")
        out = np.empty(len(targets))
        device = next(self.bart.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                out[idx] = self._batch([sources[i] for i in idx], [targets[i] for i in idx], device)
        return out

    def _batch(self, sources: list[str], targets: list[str], device: Any) -> np.ndarray:
        import torch

        kw = {"truncation": True, "max_length": self.max_length, "padding": True}
        enc = self.tokenizer(sources, return_tensors="pt", **kw).to(device)
        dec = self.tokenizer(targets, return_tensors="pt", **kw).to(device)
        mask = dec["attention_mask"].bool()
        labels = dec["input_ids"].masked_fill(~mask, -100)
        # With `labels`, BART feeds shift_right(labels) (start token first) to the decoder.
        logits = self.bart(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=labels
        ).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        tok = logp.gather(-1, dec["input_ids"].unsqueeze(-1)).squeeze(-1) * mask
        return (tok.sum(dim=1) / mask.sum(dim=1)).cpu().numpy()


class ResponseQuality(QualityScorer):
    """q(x, model) = BARTScore(x, response) for every response in a responses table.

    `responses` is "gsm8k" (GSM8K's bundled responses of both models), "jsonl:PATH" or
    "csv:PATH" (columns prompt, model, response; optional key, sample for K > 1).
    """

    kind = "bartscore"

    def __init__(
        self, responses: str, scorer: BartScorer, data_dir: str | Path | None = None
    ) -> None:
        self.source = responses
        self.scorer = scorer
        self.data_dir = data_dir

    def table(self, models: Iterable[str]) -> pd.DataFrame:
        wanted = [canonical_model(m) for m in models]
        r = load_responses(self.source, self.data_dir)
        absent = sorted(set(wanted) - set(r["model"]))
        if absent:
            raise KeyError(f"{self.source} has no responses of {absent}")
        r = r[r["model"].isin(wanted)].reset_index(drop=True)
        r["score"] = self.scorer.score(r["prompt"].tolist(), r["response"].tolist())
        return r[TABLE_COLUMNS]


def load_responses(spec: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Responses in the long format RESPONSE_COLUMNS (see `ResponseQuality`)."""
    if spec == "gsm8k":
        df, where = _gsm8k_responses(data_dir), "gsm8k responses"
    else:
        kind, _, path = spec.partition(":")
        if kind not in ("jsonl", "csv") or not path:
            raise ValueError(f"responses must be 'gsm8k', 'jsonl:PATH' or 'csv:PATH', got {spec!r}")
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"responses file {p} does not exist")
        if kind == "csv":
            df = pd.read_csv(p)
        else:
            df = pd.DataFrame([json.loads(line) for line in p.open() if line.strip()])
        where = str(p)
    missing = [c for c in ("prompt", "model", "response") if c not in df.columns]
    if missing:
        raise ValueError(f"{where} lacks columns {missing}; needs prompt, model, response")
    if "key" not in df.columns:
        df["key"] = df["prompt"]
    if "sample" not in df.columns:
        df["sample"] = 0
    if (i := first_flagged(~df["response"].map(lambda v: isinstance(v, str)))) is not None:
        raise ValueError(f"{where} row {i}: response not text")
    df["model"] = df["model"].map(canonical_model)
    df["key"] = df["key"].astype(str)
    return df[RESPONSE_COLUMNS]


def _gsm8k_responses(data_dir: str | Path | None) -> pd.DataFrame:
    """GSM8K's `<model>_response` columns, keyed like `load_benchmark("gsm8k")` (row index)."""
    from routellm_py.data.paths import require_file, resolve_data_dir

    path = require_file(
        resolve_data_dir(data_dir) / "benchmarks/gsm8k/gsm8k_responses.csv", "GSM8K"
    )
    df = pd.read_csv(path)
    cols = [c for c in df.columns if c.endswith("_response")]
    long = df.reset_index(names="key").melt(
        ["key", "prompt"], cols, var_name="model", value_name="response"
    )
    long["model"] = long["model"].str.removesuffix("_response")
    return long
