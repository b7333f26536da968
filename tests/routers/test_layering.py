"""Layering: serving code (every router module, the Controller) loads nothing from the lab
(training loops, benchmarks, quality labels, data adapters), and `embeddings` holds encoders
only: every Router subclass lives under `routellm_py.routers`.

Each check runs in a fresh interpreter, so modules that other tests imported do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import routellm_py

LAB = (
    "routellm_py.training",
    "routellm_py.benchmarks",
    "routellm_py.quality",
    "routellm_py.data.adapters",
)
PACKAGE = Path(routellm_py.__file__).parent


def _modules(package: str) -> list[str]:
    """Dotted names of the package's own modules (files, not subpackages)."""
    folder = PACKAGE / package.split(".", 1)[1]
    return [f"{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__"]


def _run(code: str, **env_vars: str) -> Any:
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent), **env_vars}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_router_modules_and_controller_import_nothing_from_the_lab() -> None:
    serving = [*_modules("routellm_py.routers"), "routellm_py.controller"]
    assert "routellm_py.routers.mf" in serving and "routellm_py.routers.bert" in serving
    code = (
        "import importlib, json, sys\n"
        f"for m in {serving!r}: importlib.import_module(m)\n"
        f"lab = {LAB!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(lab))))\n"
    )
    assert _run(code) == []


def test_embeddings_defines_no_router() -> None:
    code = (
        "import importlib, inspect, json\n"
        "from routellm_py.routers.base import Router\n"
        "found = []\n"
        f"for name in {_modules('routellm_py.embeddings')!r}:\n"
        "    mod = importlib.import_module(name)\n"
        "    found += [f'{name}.{k}' for k, v in vars(mod).items()\n"
        "              if inspect.isclass(v) and issubclass(v, Router)]\n"
        "print(json.dumps(found))\n"
    )
    assert _run(code) == []


def test_saved_routers_serve_without_the_lab(tmp_path, monkeypatch) -> None:
    """A fine-tuned (BERT) and an embedding (MF) router, trained and saved here, load and
    score in a fresh process with the same win rates and no lab module loaded."""
    import torch
    import transformers

    from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
    from routellm_py.routers.bert import BertRouter
    from routellm_py.routers.mf import MFRouter
    from tests.tiny_models import (
        FRUIT,
        VEHICLES,
        tiny_config,
        tiny_tokenizer,
        toy_battles,
    )

    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))
    backbone = tmp_path / "tiny_bert"
    tok = tiny_tokenizer(FRUIT + VEHICLES)
    torch.manual_seed(0)
    transformers.BertModel(tiny_config("bert", len(tok))).save_pretrained(backbone)
    tok.save_pretrained(backbone)
    battles = toy_battles(16, DEFAULT_STRONG, DEFAULT_WEAK)
    fast = {"epochs": 1, "batch_size": 8, "max_length": 16, "progress": False}
    bert = BertRouter(backbone=str(backbone), **fast).fit(battles)
    mf = MFRouter(encoder="hashing:64", dim=8, max_epochs=2).fit(battles, progress=False)
    prompts = ["apple banana", "car truck"]
    expected = {}
    for name, router in (("bert", bert), ("mf", mf)):
        router.save(tmp_path / name)
        expected[name] = router.win_rate(prompts).tolist()
    code = (
        "import json, sys\n"
        "from routellm_py.routers.base import load_router\n"
        f"out = {{n: load_router({str(tmp_path)!r} + '/' + n).win_rate({prompts!r}).tolist()\n"
        "       for n in ('bert', 'mf')}\n"
        f"out['lab'] = sorted(m for m in sys.modules if m.startswith({LAB!r}))\n"
        "print(json.dumps(out))\n"
    )
    out = _run(code, ROUTELLM_PY_CACHE=str(tmp_path / "cache"))
    assert out.pop("lab") == []
    for name, rates in expected.items():
        assert out[name] == pytest.approx(rates, abs=1e-6)
