"""Layering: serving code (every router module, the Controller) loads nothing from the lab
(training loops, benchmarks, quality labels, data adapters), and `embeddings` holds encoders
only: every Router subclass lives under `routellm_py.routers`. The import statements
themselves, lazy ones included, run downward only: `training` imports no router, `data`
nothing above it, and the runtime core no lab module at module top.

Each check runs in a fresh interpreter, so modules that other tests imported do not count.
"""

from __future__ import annotations

import ast
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
    "routellm_py.lab",
)
# run after the imports under test: `loaded_lab` lists the lab's modules that are loaded
LOADED_LAB = (
    f"lab = {LAB!r}\n"
    "dotted = tuple(p + '.' for p in lab)\n"
    "loaded_lab = sorted(m for m in sys.modules if m in lab or m.startswith(dotted))\n"
)
PACKAGE = Path(routellm_py.__file__).parent
# The runtime core: what a server loads to answer a request.
CORE = ("routers", "embeddings", "controller", "policy", "server*.py", "feedback/store.py")


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


def _files(*patterns: str) -> list[Path]:
    """The package's .py files under each folder (recursively) or matching each glob."""
    out: list[Path] = []
    for pattern in patterns:
        folder = PACKAGE / pattern
        out += sorted(folder.rglob("*.py")) if folder.is_dir() else sorted(PACKAGE.glob(pattern))
    assert out, f"no files for {patterns}"
    return out


def _imports(source: str, package: str, top_only: bool) -> set[str]:
    """Dotted names a module of `package` imports (`from a import b` names `a` and `a.b`):
    every import statement, or with `top_only` those run at module import (not in
    functions, classes or `if TYPE_CHECKING:` blocks)."""
    tree = ast.parse(source)
    nodes: list[ast.AST] = []
    if top_only:
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            nodes.append(node)
            if isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                stack += [*node.body, *node.orelse]
            elif isinstance(node, ast.Try):
                stack += [*node.body, *node.orelse, *node.finalbody]
                stack += [n for h in node.handlers for n in h.body]
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


def _violations(files: list[Path], banned: tuple[str, ...], top_only: bool) -> list[str]:
    """`file -> module` for every import of a banned package (or one of its submodules)."""
    hits = []
    for f in files:
        rel = f.relative_to(PACKAGE.parent)
        package = ".".join(rel.parts[:-1])
        for name in sorted(_imports(f.read_text(), package, top_only)):
            if name.startswith(tuple(b + "." for b in banned)) or name in banned:
                hits.append(f"{rel} -> {name}")
    return hits


def test_import_statements_run_downward_only() -> None:
    training = _files("training")
    data = _files("data")
    core = _files(*CORE)
    names = {str(f.relative_to(PACKAGE)) for f in training + data + core}
    assert {"training/tables.py", "data/sources.py", "data/adapters/arena.py"} <= names
    assert {"routers/hf.py", "controller/core.py", "server.py", "feedback/store.py"} <= names
    above_data = ("feedback", "controller", "routers", "training", "lab")
    assert _violations(training, ("routellm_py.routers", "routellm_py.lab"), False) == []
    assert _violations(data, tuple(f"routellm_py.{p}" for p in above_data), False) == []
    assert _violations(core, LAB, True) == []


def test_no_module_takes_a_name_from_the_package_root() -> None:
    """The root `__init__` imports `routers.base`, so a name taken from it (`from routellm_py
    import __version__`) ties its module into a cycle; submodules (`from routellm_py import
    metrics`) are fine. `__version__` is `routellm_py._version.__version__`."""
    taken = []
    for f in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "routellm_py":
                names = (a.name for a in node.names)
                rel = f.relative_to(PACKAGE.parent)
                taken += [f"{rel}: {n}" for n in names if not _is_submodule(n)]
    assert taken == []


def _is_submodule(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()


def test_import_reader_sees_lazy_and_relative_imports() -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "from . import tables\n"
        "from ..data.battles import Battles\n"
        "if TYPE_CHECKING:\n    from routellm_py.quality import QualitySamples\n"
        "def fit():\n    from routellm_py.routers.mf import MFRouter\n"
    )
    top = _imports(code, "routellm_py.training", top_only=True)
    assert top == {
        "typing",
        "typing.TYPE_CHECKING",
        "routellm_py.training",
        "routellm_py.training.tables",
        "routellm_py.data.battles",
        "routellm_py.data.battles.Battles",
    }
    every = _imports(code, "routellm_py.training", top_only=False)
    assert every - top == {
        "routellm_py.quality",
        "routellm_py.quality.QualitySamples",
        "routellm_py.routers.mf",
        "routellm_py.routers.mf.MFRouter",
    }


def test_runtime_core_loads_nothing_from_the_lab() -> None:
    core = [
        ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for f in _files(*CORE)
    ]
    assert {"routellm_py.routers.mf", "routellm_py.routers.bert", "routellm_py.server"} <= set(core)
    assert {"routellm_py.controller", "routellm_py.feedback.store"} <= set(core)
    code = (
        f"import importlib, json, sys\nfor m in {core!r}: importlib.import_module(m)\n"
        f"{LOADED_LAB}print(json.dumps(loaded_lab))\n"
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
        f"{LOADED_LAB}out['lab'] = loaded_lab\n"
        "print(json.dumps(out))\n"
    )
    out = _run(code, ROUTELLM_PY_CACHE=str(tmp_path / "cache"))
    assert out.pop("lab") == []
    for name, rates in expected.items():
        assert out[name] == pytest.approx(rates, abs=1e-6)
