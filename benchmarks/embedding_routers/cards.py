"""Append the harness results and the out-of-domain validation to the model cards of the
shipped embedding-router checkpoints.

Reads benchmarks/results/<benchmark>.json (written by `BENCH_CMD`) and
benchmarks/generalisation/results/loso_<router>.json (`benchmarks/generalisation/routers.py`)
and rewrites everything from "## Benchmark results" on in routers/<name>/README.md.

Usage: .venv/bin/python benchmarks/embedding_routers/cards.py routers/mf routers/sw_ranking
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "results"
LOSO = ROOT / "benchmarks" / "generalisation" / "results"
HEADER = "## Benchmark results"
BENCH_CMD = (
    "routellm-py bench --routers random,length,mf,sw_ranking --benchmarks mt-bench,mmlu,gsm8k"
)


def bench_section(label: str) -> list[str]:
    lines = [
        HEADER,
        "",
        f"`{BENCH_CMD}` (decontaminated harness; strong gpt-4-1106-preview, weak Mixtral-8x7B; "
        "APGR with its bootstrap 95% interval, the random band = 2.5-97.5 percentile of 1,000 "
        "seeded random routers, and the untrained `length` baseline).",
        "",
        "| benchmark | prompts evaluated (dropped) | APGR [95% CI] | random band | length | "
        "CPT(50%) | CPT(80%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench in ("mt-bench", "mmlu", "gsm8k"):
        d = json.loads((BENCH / f"{bench}.json").read_text())
        rows = {r["router"]: r for r in d["rows"]}
        r, band = rows[label], d["random_band"]
        lines.append(
            f"| {bench} | {d['n_evaluated']} of {d['n_total']} ({d['dropped']}) | "
            f"{r['APGR']:.3f} [{r['APGR 2.5%']:.3f}, {r['APGR 97.5%']:.3f}] | "
            f"{band[0]:.3f}-{band[1]:.3f} | {rows['length']['APGR']:.3f} | "
            f"{r['CPT(50%)']:.1%} | {r['CPT(80%)']:.1%} |"
        )
    return lines


def loso_section(label: str) -> list[str]:
    d = json.loads((LOSO / f"loso_{label}.json").read_text())
    lines = [
        "",
        "## Out-of-domain validation (leave one training source out)",
        "",
        "Each row: trained on the other sources, evaluated on the held-out one's strong-class "
        "vs weak-class quality (benchmarks/generalisation/README.md).",
        "",
        "| held out | domain | prompts | APGR [95% CI] | random band |",
        "|---|---|---|---|---|",
    ]
    for f in d["folds"]:
        lo, hi = f["ci"]
        b0, b1 = f["random_band"]
        lines.append(
            f"| {f['held_out']} | {f['domain']} | {f['n']} | {f['apgr']:.3f} [{lo:.3f}, "
            f"{hi:.3f}] | {b0:.3f}-{b1:.3f} |"
        )
    return lines


def main() -> int:
    for name in sys.argv[1:]:
        card = Path(name) / "README.md"
        label = Path(name).name
        text = card.read_text().split(HEADER)[0].rstrip() + "\n\n"
        body = bench_section(label) + loso_section(label)
        card.write_text(text + "\n".join(body) + "\n")
        print(f"updated {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
