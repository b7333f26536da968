"""The weights of a fine-tuned Hugging Face router inside its checkpoint (RouteLLM §4.1);
running them (tokenizers, batches, softmax) is `routellm_py.hf_text`.

The fine-tuned model and its tokenizer live in `<checkpoint>/model/` (model.safetensors,
HF config, tokenizer files). `<checkpoint>/model_files.json` lists each file's sha256:
the router fingerprint hashes top-level JSON files, so it changes with the weights, and
loading checks the files are intact.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from routellm_py._util import atomic_write, sha256_file
from routellm_py.routers.base import checkpoint_file

MODEL_DIR = "model"
MANIFEST = "model_files.json"


def save_hf(model: Any, tokenizer: Any, directory: Path) -> None:
    """Write model (safetensors) + tokenizer to `directory/model` atomically, then the manifest."""
    final = directory / MODEL_DIR
    tmp = directory / (MODEL_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    manifest = {f.name: sha256_file(f) for f in sorted(tmp.iterdir()) if f.is_file()}
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    out = directory / MANIFEST
    atomic_write(out, json.dumps(manifest, indent=2) + "\n")


def verified_model_dir(directory: Path) -> Path:
    """`directory/model` after checking every file against the manifest (ValueError if not)."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ValueError(f"{manifest_path} is missing; re-save the router")
    manifest = json.loads(manifest_path.read_text())
    if not isinstance(manifest, dict):
        raise ValueError(f"{manifest_path} must map file names to sha256 digests")
    model_dir = directory / MODEL_DIR
    for name, digest in manifest.items():
        f = checkpoint_file(model_dir, name)
        if not f.is_file():
            raise ValueError(f"{f} is missing")
        if sha256_file(f) != digest:
            raise ValueError(f"{f} does not match its sha256 in {MANIFEST}")
    if not any(name.endswith(".safetensors") for name in manifest):
        raise ValueError(f"{model_dir} holds no .safetensors weights")
    return model_dir
