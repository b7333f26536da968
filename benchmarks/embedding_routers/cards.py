"""Append the harness results to the model cards of the shipped embedding-router checkpoints.

Reads results/bench/<benchmark>.json (written by the `routellm-py bench` command in
README.md) and rewrites the "## Benchmark results" section of routers/<name>/README.md.

Usage: .venv/bin/python benchmarks/embedding_routers/cards.py routers/mf-judge-gold \\
       routers/sw_ranking=routers/sw_ranking-with-mmlu-gold ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import RESULTS

HEADER = "## Benchmark results"
BENCH_CMD = (
    "routellm-py bench --routers random,routers/sw_ranking-judge-gold,"
    "routers/sw_ranking-with-mmlu-gold,routers/mf-judge-gold,routers/mf-with-mmlu-gold,"
    "routers/mf --benchmarks mmlu,mt-bench,gsm8k --out benchmarks/embedding_routers/results/bench"
)


def section(name: str, same_as: str) -> str:
    lines = [
        HEADER,
        "",
        f"`{BENCH_CMD}` (strong gpt-4-1106-preview, weak Mixtral-8x7B; APGR is the area "
        "under the PGR curve, CPT(p) the strong-call fraction reaching PGR p).",
        "",
        "| benchmark | prompts evaluated (dropped) | APGR | CPT(50%) | CPT(80%) | random APGR |",
        "|---|---|---|---|---|---|",
    ]
    for bench in ("mt-bench", "mmlu", "gsm8k"):
        d = json.loads((RESULTS / "bench" / f"{bench}.json").read_text())
        rows = {r["router"]: r for r in d["rows"]}
        r = rows[same_as]
        lines.append(
            f"| {bench} | {d['n_evaluated']} of {d['n_total']} ({d['dropped']}) | "
            f"{r['APGR']:.3f} | {r['CPT(50%)']:.1%} | {r['CPT(80%)']:.1%} | "
            f"{rows['random']['APGR']:.3f} |"
        )
    lines.append("")
    if same_as != name:
        lines.append(f"Rows of `{same_as}`: the same command and seed give identical weights.")
    lines.append("More: benchmarks/embedding_routers/README.md (protocol, ablation, overhead).")
    return "\n".join(lines) + "\n"


def main() -> int:
    for arg in sys.argv[1:]:  # CHECKPOINT or CHECKPOINT=BENCHMARKED_TWIN
        name, _, twin = arg.partition("=")
        card = Path(name) / "README.md"
        text = card.read_text().split(HEADER)[0].rstrip() + "\n\n"
        card.write_text(text + section(name, twin or name))
        print(f"updated {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
