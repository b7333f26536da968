"""Shared fixtures: the real data directory (CI: ../shared/data) and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory: $ROUTELLM_PY_DATA, else ../shared/data beside the repo."""
    path = Path(os.environ.get("ROUTELLM_PY_DATA", REPO.parent / "shared" / "data"))
    if not (path / "benchmarks").is_dir():
        pytest.fail(f"real data not found at {path}; set ROUTELLM_PY_DATA")
    return path
