"""Loading treats a checkpoint as untrusted input: every malformed one raises CheckpointError,
NaN weights are refused, named files stay inside it, a remote encoder needs an opt-in."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file, save_file

from routellm_py import load_router
from routellm_py.data.battles import Battles
from routellm_py.routers.base import CheckpointError, Router
from routellm_py.routers.hf_models import MANIFEST, MODEL_DIR, verified_model_dir
from routellm_py.routers.mf import MFRouter

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ROUTELLM_PY_ALLOW_REMOTE_ENCODER", raising=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real (tiny) mf checkpoint on the hashing encoder."""
    rows = [(f"integral {i}", STRONG, WEAK, "a_wins") for i in range(8)]
    rows += [(f"poem {i}", STRONG, WEAK, "b_wins") for i in range(8)]
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    battles = Battles(frame.assign(p_a_wins=np.nan, source="synthetic", weight=1.0))
    out = tmp_path_factory.mktemp("ckpt") / "mf"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTELLM_PY_CACHE", str(out.parent / "cache"))
        router = MFRouter(encoder="hashing:64", dim=8, max_epochs=3, val_fraction=0.0)
        router.fit(battles, progress=False).save(out)
    return out


@pytest.fixture
def ckpt(saved, tmp_path):
    d = tmp_path / "mf"
    shutil.copytree(saved, d)
    return d


def edit_json(path, fn):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(fn(data)))


def test_the_intact_checkpoint_loads(ckpt):
    assert load_router(ckpt).win_rate(["integral 1"]).shape == (1,)


def test_nan_weights_are_refused(ckpt):
    tensors = load_file(str(ckpt / "mf.safetensors"))
    tensors["text_proj"][0, 0] = np.nan
    save_file(tensors, str(ckpt / "mf.safetensors"))
    with pytest.raises(CheckpointError, match="'text_proj' holds NaN"):
        load_router(ckpt)


def test_nan_in_bfloat16_is_found(tmp_path):
    """bfloat16 is read from its bits (numpy has no bfloat16): 0x7FC0 is NaN, 0x7F80 is inf."""
    from routellm_py.routers.base import _nan_tensor

    def write(bits):
        raw = np.array(bits, dtype=np.uint16).tobytes()
        header = json.dumps(
            {"w": {"dtype": "BF16", "shape": [len(bits)], "data_offsets": [0, len(raw)]}}
        )
        path = tmp_path / "w.safetensors"
        path.write_bytes(len(header).to_bytes(8, "little") + header.encode() + raw)
        return path

    assert _nan_tensor(write([0x3F80, 0x7F80, 0xFF80])) is None  # 1.0, +inf, -inf
    assert _nan_tensor(write([0x3F80, 0x7FC0])) == "w"


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "mf.safetensors").write_bytes((d / "mf.safetensors").read_bytes()[:40]),
        lambda d: (d / "mf.safetensors").write_bytes(b"\xff" * 8 + b"{}"),
        lambda d: edit_json(d / "mf.json", lambda m: {**m, "encoder": ["hashing:64"]}),
        lambda d: edit_json(d / "mf.json", lambda m: {**m, "models": 5}),
        lambda d: edit_json(d / "mf.json", lambda m: [m]),
        lambda d: edit_json(d / "config.json", lambda c: {**c, "format_version": "1"}),
        lambda d: edit_json(d / "config.json", lambda c: [c]),
        lambda d: edit_json(d / "config.json", lambda c: {**c, "params": ["x"]}),
        lambda d: edit_json(d / "config.json", lambda c: {**c, "router": 3}),
        lambda d: (d / "config.json").write_bytes(b'{"router": "\xff"}'),
        lambda d: edit_json(
            d / "config.json", lambda c: {**c, "params": {**c["params"], "encoder": 7}}
        ),
    ],
    ids=[
        "truncated-weights",
        "huge-header",
        "encoder-not-a-dict",
        "models-not-a-list",
        "state-not-an-object",
        "format-version-string",
        "config-a-list",
        "params-a-list",
        "router-not-a-string",
        "config-not-utf8",
        "encoder-not-a-string",
    ],
)
def test_every_malformed_checkpoint_raises_checkpoint_error(ckpt, damage):
    damage(ckpt)
    with pytest.raises(CheckpointError):
        load_router(ckpt)


def test_a_remote_encoder_needs_an_explicit_opt_in(ckpt, monkeypatch):
    spec, enc_id = "openai:text-embedding-3-small", "api:text-embedding-3-small|max_chars=16000"
    edit_json(ckpt / "config.json", lambda c: {**c, "params": {**c["params"], "encoder": spec}})
    edit_json(ckpt / "mf.json", lambda m: {**m, "encoder": {**m["encoder"], "id": enc_id}})
    with pytest.raises(CheckpointError, match="allow_remote_encoder=True"):
        load_router(ckpt)
    assert load_router(ckpt, allow_remote_encoder=True).encoder == spec
    monkeypatch.setenv("ROUTELLM_PY_ALLOW_REMOTE_ENCODER", "1")
    assert Router.load(ckpt).encoder == spec


def test_manifest_paths_stay_inside_the_checkpoint(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not a weight")
    ckpt = tmp_path / "ckpt"
    (ckpt / MODEL_DIR).mkdir(parents=True)
    (ckpt / MODEL_DIR / "model.safetensors").write_bytes(b"x")
    digest = hashlib.sha256(b"not a weight").hexdigest()
    for name in ["../../secret.txt", str(outside)]:
        manifest = {"model.safetensors": hashlib.sha256(b"x").hexdigest(), name: digest}
        (ckpt / MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(CheckpointError, match="outside the checkpoint"):
            verified_model_dir(ckpt)
    (ckpt / MODEL_DIR / "link.txt").symlink_to(outside)
    (ckpt / MANIFEST).write_text(json.dumps({"link.txt": digest}))
    with pytest.raises(CheckpointError, match="links outside"):
        verified_model_dir(ckpt)
