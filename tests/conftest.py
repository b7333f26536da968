"""Shared fixtures: the real data directory (CI: ../shared/data) and small helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


# ---- services --------------------------------------------------------------------------------
# A real PostgreSQL server for the feedback store: ROUTELLM_PY_TEST_POSTGRES (default below).
# Unreachable, its tests skip with the reason, unless ROUTELLM_PY_REQUIRE_SERVICES=1 (set by
# .ci/run), which makes them fail.
POSTGRES_URL = os.environ.get(
    "ROUTELLM_PY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def missing_service(reason: str) -> None:
    """Skip (printing why), or fail when the environment requires services."""
    if os.environ.get("ROUTELLM_PY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (required: ROUTELLM_PY_REQUIRE_SERVICES=1)")
    print(f"SKIP: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped afterwards."""
    import uuid

    try:
        import psycopg
    except ImportError:
        missing_service("psycopg is not installed: pip install 'routellm-py[postgres]'")
    schema = f"routellm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        missing_service(f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(e).strip()}")
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in POSTGRES_URL else "?"
        try:
            yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
