"""Data layer: data-dir resolution, benchmark loaders, the Battles table and its adapters."""

from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model, register_alias
from routellm_py.data.battles import Battles, BattlesSchemaError
from routellm_py.data.benchmarks import Benchmark, load_benchmark, load_contaminated
from routellm_py.data.paths import DataDirError, resolve_data_dir

__all__ = [
    "DEFAULT_STRONG",
    "DEFAULT_WEAK",
    "Battles",
    "BattlesSchemaError",
    "Benchmark",
    "DataDirError",
    "canonical_model",
    "load_benchmark",
    "load_contaminated",
    "register_alias",
    "resolve_data_dir",
]
