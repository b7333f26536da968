"""Data layer: data-dir resolution, benchmark loaders, the Battles table and its adapters.

Names load lazily (PEP 562) so that runtime code importing `routellm_py.data.aliases` does
not pull pandas in through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_STRONG": "aliases",
    "DEFAULT_WEAK": "aliases",
    "canonical_model": "aliases",
    "register_alias": "aliases",
    "Battles": "battles",
    "BattlesSchemaError": "battles",
    "Benchmark": "benchmarks",
    "load_benchmark": "benchmarks",
    "load_contaminated": "benchmarks",
    "DataDirError": "paths",
    "resolve_data_dir": "paths",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'routellm_py.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"routellm_py.data.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
