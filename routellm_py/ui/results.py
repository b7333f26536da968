"""The last `bench` run, as the benchmark page draws it.

`load_results(dir)` reads every `<dir>/<benchmark>.json` the harness wrote
(`benchmarks.harness.write_result`: `curves` on a 1% strong-fraction grid with the
`oracle`, `random (expected)` and `length` baselines, `random_band_curve`, `rows`, and
`thresholds` where the run recorded them) and adds `cost_per_1k`: the dollars per 1,000
queries at strong fraction 0 and 1. Cost is linear in the strong fraction f,
cost(f) = (1 - f) * cost(0) + f * cost(1) (`metrics.cost_per_1k`, with the run's token
counts), so the page interpolates it exactly. Non-finite numbers become null (JSON has
no NaN).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from routellm_py import metrics as M


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def cost_ends(result: dict[str, Any]) -> list[float] | None:
    """[cost at f = 0, cost at f = 1] per 1,000 queries; None if a price is unknown."""
    try:
        return [
            M.cost_per_1k(
                f,
                result["strong_model"],
                result["weak_model"],
                float(result["input_tokens"]),
                float(result.get("output_tokens", M.DEFAULT_OUTPUT_TOKENS)),
            )
            for f in (0.0, 1.0)
        ]
    except (KeyError, TypeError, ValueError):
        return None


def load_results(results_dir: str | Path) -> list[dict[str, Any]]:
    """The benchmark results under `results_dir`, by name; files without curves (the
    overhead table) are skipped; a file that is not valid JSON is an error naming it."""
    out = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"{path} is not a readable results file ({e}); rerun bench") from e
        if not isinstance(result, dict) or "curves" not in result:
            continue
        result["cost_per_1k"] = cost_ends(result)
        out.append(finite(result))
    return out
