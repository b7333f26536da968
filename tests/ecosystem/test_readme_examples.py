"""The README's serving examples, as `benchmarks/server_load/check_readme_examples.py` reads
them from README.md: the blocks it runs are there, the Python compiles, the YAML config is
one `serve` accepts and every `routellm-py serve` line parses with the real CLI. (The
script itself runs them against local upstreams on fixed ports.)"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
from pathlib import Path

from routellm_py.cli import build_parser
from routellm_py.cli.serve import controller_kwargs

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks/server_load/check_readme_examples.py"


def readme_examples() -> dict[str, list[str]]:
    spec = importlib.util.spec_from_file_location("check_readme_examples", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.readme_examples()


def serve_args(block: str) -> argparse.Namespace:
    """The parsed `routellm-py serve ...` command of a shell block (continuations joined)."""
    line = next(x for x in block.replace("\\\n", " ").splitlines() if "routellm-py serve" in x)
    argv = shlex.split(line.split("routellm-py", 1)[1])
    return build_parser().parse_args(argv)


def test_the_readme_holds_the_blocks_the_check_runs() -> None:
    blocks = readme_examples()
    assert {k: len(v) for k, v in blocks.items()} == {"python": 3, "bash": 3, "yaml": 1}
    controller_py, local_py, client_py = blocks["python"]
    assert "Controller(" in controller_py and "127.0.0.1:8000" in local_py
    assert 'base_url="http://127.0.0.1:6060/v1"' in client_py
    for i, source in enumerate(blocks["python"]):
        compile(source, f"README python block {i}", "exec")
    assert "/v1/route" in blocks["bash"][2]


def test_the_readme_serve_commands_and_config_parse(tmp_path, monkeypatch) -> None:
    blocks = readme_examples()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "serve.yaml").write_text(blocks["yaml"][0])
    config_serve, openai_serve, _ = blocks["bash"]
    args = serve_args(config_serve)
    assert (args.config, args.port) == ("serve.yaml", 6060)
    kw = controller_kwargs(args)
    assert kw["routers"] == ["random"] and kw["config"] == {"random": {"seed": 0}}
    assert kw["strong_model"]["api_base"] == "http://127.0.0.1:8000/v1"
    assert kw["weak_model"]["api_key_env"] == "OLLAMA_API_KEY"
    assert (kw["timeout"], kw["num_retries"], kw["fallback"]) == (60, 2, True)
    args = serve_args(openai_serve)
    assert (args.routers, args.strong_model, args.weak_model) == (
        ["random"],
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
    )
