"""A router from another installed package (entry-point group `routellm_py.routers`) works
in `train`, `bench`, `serve` and `load_router` without editing this project.

The test writes a tiny package, installs it with pip (--no-deps, into a temporary target
directory) and puts that directory on sys.path, as site-packages would be.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from routellm_py import available_routers, get_router_class, load_router
from routellm_py.cli import main
from routellm_py.controller import Controller
from routellm_py.server import BackgroundServer, create_app
from tests.upstream import Upstream

REPO = Path(__file__).resolve().parents[2]
PREFS = REPO / "tests" / "fixtures" / "custom_prefs.csv"

PLUGIN = '''
"""A third-party router: strong iff the prompt is longer than the training median."""
import json
import math

from routellm_py.routers.base import Router


class LengthRouter(Router):
    def __init__(self, strong_model="gpt-4-1106-preview",
                 weak_model="mistralai/Mixtral-8x7B-Instruct-v0.1", scale=10.0):
        super().__init__(strong_model, weak_model)
        self.scale = scale
        self.cut = None

    def fit(self, battles, **kwargs):
        lengths = sorted(len(p) for p in battles.frame["prompt"])
        self.cut = float(lengths[len(lengths) // 2])
        return self

    def _win_rate(self, prompts):
        return [1 / (1 + math.exp(-(len(p) - self.cut) / self.scale)) for p in prompts]

    def _save_state(self, directory):
        (directory / "length.json").write_text(json.dumps({"cut": self.cut}))

    def _load_state(self, directory):
        self.cut = json.loads((directory / "length.json").read_text())["cut"]
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "rlp-length-router"
version = "0.0.1"

[project.entry-points."routellm_py.routers"]
length_3p = "rlp_length_router:LengthRouter"
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    (root / "pkg").mkdir()
    (root / "pkg" / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (root / "pkg" / "rlp_length_router.py").write_text(textwrap.dedent(PLUGIN))
    site = root / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*cmd, "--target", str(site), str(root / "pkg")], check=True)
    return site


@pytest.fixture
def plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(plugin_site))
    return plugin_site


def test_entry_point_router_trains_loads_benches_and_serves(plugin: Path, tmp_path: Path) -> None:
    assert "length_3p" in available_routers()
    assert get_router_class("length_3p").__module__ == "rlp_length_router"
    ckpt = tmp_path / "length"
    assert main(["train", "length_3p", "--data", f"csv:{PREFS}", "--out", str(ckpt)]) == 0
    router = load_router(ckpt)
    assert type(router).name == "length_3p" and router.cut is not None
    short, long = "hi", "x" * int(router.cut + 50)
    w = router.win_rate([short, long])
    assert w[0] < 0.5 < w[1]

    out = tmp_path / "bench"
    argv = ["bench", "--routers", str(ckpt), "--benchmarks", "mt-bench", "--out", str(out)]
    argv += ["--no-decontaminate", "--no-progress", "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    table = pd.read_csv(out / "mt-bench.csv")
    assert str(ckpt) in set(table["router"]), "the plug-in router has its row in the table"

    with Upstream() as up:
        controller = Controller(
            ["length_3p"],
            {"model": "openai/strong-m", "api_base": up.base_url, "api_key": "sk-test"},
            {"model": "openai/weak-m", "api_base": up.base_url, "api_key": "sk-test"},
            config={"length_3p": {"checkpoint": str(ckpt)}},
        )
        with BackgroundServer(create_app(controller)) as srv:
            import openai

            client = openai.OpenAI(base_url=srv.base_url, api_key="unused")
            for prompt in (short, long):
                client.chat.completions.create(
                    model="router-length_3p-0.5", messages=[{"role": "user", "content": prompt}]
                )
    assert [r["model"] for r in up.requests] == ["weak-m", "strong-m"]


def test_broken_entry_point_names_itself(plugin: Path, tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "bad"
    info = bad / "rlp_broken-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rlp-broken\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[routellm_py.routers]\nbroken_3p = no_such_mod:X\n")
    monkeypatch.syspath_prepend(str(bad))
    with pytest.raises(ImportError, match=r"router 'broken_3p' from entry point 'no_such_mod:X'"):
        get_router_class("broken_3p")
    assert get_router_class("length_3p").__module__ == "rlp_length_router"  # others still load
