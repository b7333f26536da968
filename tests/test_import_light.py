"""`import routellm_py` and the CLI's help load no heavy library: each check runs in a fresh
interpreter and lists which of HEAVY it has imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "pyarrow", "torch", "transformers", "litellm", "fastapi", "scipy")


def loaded_after(code: str) -> tuple[list[str], str]:
    """(the HEAVY modules a fresh interpreter holds after `code`, what `code` printed)."""
    probe = (
        "import sys\n"
        f"{code}\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    head, _, tail = out.rpartition("LOADED=")
    return [m for m in tail.strip().split(",") if m], head


def test_import_routellm_py_loads_no_heavy_library() -> None:
    loaded, _ = loaded_after("import routellm_py\nassert routellm_py.Router")
    assert loaded == []


def test_data_package_names_load_on_first_use() -> None:
    loaded, printed = loaded_after(
        "from routellm_py.data import canonical_model, DEFAULT_STRONG\n"
        "print(canonical_model('gpt4'), DEFAULT_STRONG)"
    )
    assert loaded == [] and printed.split() == ["gpt-4-0314", "gpt-4-1106-preview"]
    loaded, _ = loaded_after("from routellm_py.data import Battles")
    assert "pandas" in loaded  # the table itself does need pandas
    with pytest.raises(subprocess.CalledProcessError):
        loaded_after("from routellm_py.data import no_such_name")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["--help"], "select-threshold"), (["serve", "--help"], "--max-concurrency")],
)
def test_cli_help_loads_no_heavy_library_nor_the_server(argv: list[str], expected: str) -> None:
    code = (
        "from routellm_py.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "assert 'routellm_py.server' not in sys.modules\n"
        "assert 'routellm_py.controller' not in sys.modules"
    )
    loaded, printed = loaded_after(code)
    assert loaded == []
    assert expected in printed
