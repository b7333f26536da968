"""Load lm-sys RouteLLM's released routers (Ong et al. 2024) as this project's routers, so the
same weights and the same embeddings give the same win rate as RouteLLM's code.

Published formats (read from RouteLLM's `routellm/routers/`):

mf   `routellm/mf_gpt4_augmented`: `MFModel` (PyTorchModelHubMixin): config.json
     {dim, num_models, text_dim, num_classes, use_proj}, model.safetensors with `P.weight`
     (num_models, dim), `text_proj.0.weight` (dim, text_dim), `classifier.0.weight` (1, dim).
     Model ids: `MF_MODELS` (RouteLLM's MODEL_IDS, in id order). Prompt embedding: OpenAI
     `text-embedding-3-small`. win = sigmoid(s_strong - s_weak),
     s_m = classifier(normalize(P_m) * text_proj(e)); identical to `MFRouter`.
bert `routellm/bert_gpt4_augmented`: an `AutoModelForSequenceClassification` with 3 labels
     (0 = strong wins, 1 = tie, 2 = weak wins); win = 1 - p_1 - p_2 = p_0 (`tie_share=0`);
     the tokenizer truncates at its `model_max_length`.

The SW router is in `routellm_py.compat.routellm_sw`, the causal-LLM router in
`routellm_py.compat.routellm_causal`. MF and SW embed with `openai:text-embedding-3-small`
(`APIEncoder`, cached): set OPENAI_API_KEY. OpenAI's vectors have unit norm, which this
project's encoders also enforce, so the scores are RouteLLM's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import json_object
from routellm_py.data.aliases import canonical_model
from routellm_py.routers.base import HUB_PREFIX, CheckpointError

ROUTELLM_STRONG = "gpt-4-1106-preview"
ROUTELLM_WEAK = "mixtral-8x7b-instruct-v0.1"
EMBEDDING_ENCODER = "openai:text-embedding-3-small"
MF_REPO = f"{HUB_PREFIX}routellm/mf_gpt4_augmented"
BERT_REPO = f"{HUB_PREFIX}routellm/bert_gpt4_augmented"
# RouteLLM's MODEL_IDS (routellm/routers/matrix_factorization/model.py), index = model id.
MF_MODELS = [
    "RWKV-4-Raven-14B",
    "alpaca-13b",
    "chatglm-6b",
    "chatglm2-6b",
    "chatglm3-6b",
    "claude-1",
    "claude-2.0",
    "claude-2.1",
    "claude-instant-1",
    "codellama-34b-instruct",
    "deepseek-llm-67b-chat",
    "dolly-v2-12b",
    "dolphin-2.2.1-mistral-7b",
    "falcon-180b-chat",
    "fastchat-t5-3b",
    "gemini-pro",
    "gemini-pro-dev-api",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0314",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-4-0125-preview",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-1106-preview",
    "gpt4all-13b-snoozy",
    "guanaco-33b",
    "koala-13b",
    "llama-13b",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
    "llama-2-7b-chat",
    "llama2-70b-steerlm-chat",
    "mistral-7b-instruct",
    "mistral-7b-instruct-v0.2",
    "mistral-medium",
    "mixtral-8x7b-instruct-v0.1",
    "mpt-30b-chat",
    "mpt-7b-chat",
    "nous-hermes-2-mixtral-8x7b-dpo",
    "oasst-pythia-12b",
    "openchat-3.5",
    "openchat-3.5-0106",
    "openhermes-2.5-mistral-7b",
    "palm-2",
    "pplx-70b-online",
    "pplx-7b-online",
    "qwen-14b-chat",
    "qwen1.5-4b-chat",
    "qwen1.5-72b-chat",
    "qwen1.5-7b-chat",
    "solar-10.7b-instruct-v1.0",
    "stablelm-tuned-alpha-7b",
    "starling-lm-7b-alpha",
    "stripedhyena-nous-7b",
    "tulu-2-dpo-70b",
    "vicuna-13b",
    "vicuna-33b",
    "vicuna-7b",
    "wizardlm-13b",
    "wizardlm-70b",
    "yi-34b-chat",
    "zephyr-7b-alpha",
    "zephyr-7b-beta",
]


def local_dir(source: str | Path, revision: str | None = None, repo_type: str = "model") -> Path:
    """A local directory for `source`: a path as is, `hf:OWNER/NAME[@REV]` via the Hub cache."""
    if isinstance(source, str) and source.startswith(HUB_PREFIX):
        from routellm_py.hub import download_snapshot

        return download_snapshot(source, revision, repo_type=repo_type)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a path or {HUB_PREFIX}OWNER/NAME")
    return path


# ---- matrix factorisation ----------------------------------------------------------------
def load_routellm_mf(
    source: str | Path = MF_REPO,
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    encoder: str = EMBEDDING_ENCODER,
    revision: str | None = None,
) -> Any:
    """RouteLLM's `MFModel` checkpoint (directory or hub id) as an `MFRouter`."""
    from safetensors.numpy import load_file

    from routellm_py.routers.mf import MFRouter

    d, cfg = _source_config(source, revision)
    weights = d / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{d} has no model.safetensors (RouteLLM's MFModel layout)")
    t = load_file(str(weights))
    need = {"P.weight", "classifier.0.weight"} | (
        {"text_proj.0.weight"} if cfg["use_proj"] else set()
    )
    if need - set(t):
        raise CheckpointError(f"{weights} lacks tensors {sorted(need - set(t))}; has {sorted(t)}")
    if cfg.get("num_classes", 1) != 1:
        raise CheckpointError(f"{d}: num_classes={cfg['num_classes']}; RouteLLM's MF uses 1")
    n_models, dim = t["P.weight"].shape
    if n_models > len(MF_MODELS):
        raise CheckpointError(
            f"{d}: {n_models} models, RouteLLM's MODEL_IDS names {len(MF_MODELS)}"
        )
    proj = t["text_proj.0.weight"] if cfg["use_proj"] else np.eye(dim, dtype=np.float32)
    models = [canonical_model(m) for m in MF_MODELS[:n_models]]
    if len(set(models)) != len(models):
        raise CheckpointError("two RouteLLM model names map to one canonical name; see aliases")
    router = MFRouter(strong_model, weak_model, encoder=encoder, dim=int(dim))
    router.models = models
    router._set_weights(t["P.weight"], proj, t["classifier.0.weight"])
    attach_encoder(router, int(proj.shape[1]))
    for m in (router.strong_model, router.weak_model):
        router._column(m)  # unknown model names raise, listing the known ones
    router.provenance = {"converted_from": f"RouteLLM MFModel {source}", "revision": revision}
    return router


def attach_encoder(router: Any, dim: int) -> None:
    """Record the encoder an embedding router was trained with (its spec, with dim `dim`)."""
    enc = router.get_encoder()
    router.encoder_config = {
        "spec": enc.spec,
        "id": enc.id,
        "dim": dim,
        "truncation": enc.truncation,
    }


def _source_config(source: str | Path, revision: str | None) -> tuple[Path, dict[str, Any]]:
    """The local directory of a RouteLLM checkpoint and its config.json."""
    d = local_dir(source, revision)
    path = d / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    return d, json_object(path.read_bytes(), str(path), CheckpointError)


# ---- BERT classifier ---------------------------------------------------------------------
def load_routellm_bert(
    source: str | Path = BERT_REPO,
    strong_model: str = ROUTELLM_STRONG,
    weak_model: str = ROUTELLM_WEAK,
    revision: str | None = None,
) -> Any:
    """RouteLLM's BERT router (a 3-label sequence classifier folder) as a `BertRouter`."""
    from routellm_py.routers.bert import BertRouter

    d, cfg = _source_config(source, revision)
    if len(cfg.get("id2label", {0: 0, 1: 1, 2: 2})) != 3:
        raise CheckpointError(
            f"{d}: RouteLLM's BERT router has 3 labels, config has {cfg['id2label']}"
        )
    router = BertRouter(strong_model, weak_model, backbone=str(d), tie_share=0.0, progress=False)
    router._model, router._tokenizer = router._load_hf(d)
    router._model.eval()
    limit = int(getattr(router._tokenizer, "model_max_length", 512))
    router.max_length = limit if limit <= 100_000 else 512  # tokenizer(truncation=True)
    router.provenance = {"converted_from": f"RouteLLM BERTRouter {source}", "revision": revision}
    return router
