"""Markdown tables from the protocol's results/*.json: the candidate scan (selection score per
domain) and the per-fold table of the shipped routers (APGR, bootstrap 95% interval, random
band, length baseline); with `--experiments`, the tables of `experiments.py` (results/exp_*.json).

    .venv/bin/python benchmarks/generalisation/report.py \
        > benchmarks/generalisation/results/validation.md
    .venv/bin/python benchmarks/generalisation/report.py --experiments \
        > benchmarks/generalisation/results/experiments.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments import SHIPPED  # noqa: E402
from protocol import MIN_GAP, RESULTS, selection_score  # noqa: E402

DOMAINS = ("chat", "knowledge", "math")
RENAMED = {"difficulty-c": "task-difficulty", "gap-c": "task-gap"}  # first scans' names


def scan_table(paths: list[Path]) -> list[str]:
    lines = [
        "| run | encoder | text policy | labels | learner | chat | knowledge | math | score |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        runs = json.loads(path.read_text())
        for r in runs if isinstance(runs, list) else [runs]:
            s = selection_score(r["folds"])
            name = r.get("router", r.get("learner"))
            params = r.get("params", {})
            policy = r.get("policy", params.get("text_policy", "head"))
            labels = r.get("scheme", params.get("labels", "-"))
            labels = RENAMED.get(labels, labels)
            cells = " | ".join(f"{s.get(d, float('nan')):.3f}" for d in DOMAINS)
            encoder = r.get("encoder", params.get("encoder", "minilm"))
            lines.append(
                f"| {path.stem} | {encoder} | `{policy}` | {labels} | {name} | "
                f"{cells} | **{s['score']:.3f}** |"
            )
    return lines


def fold_table(path: Path) -> list[str]:
    r = json.loads(path.read_text())
    lines = [
        f"### {path.stem}: `{r['router']}` {json.dumps(r['params'])}",
        "",
        "| held out | domain | prompts | strong / weak mean | APGR [95% CI] | random band | "
        "length APGR | above random? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in r["folds"]:
        lo, hi = f.get("ci", (float("nan"),) * 2)
        band = f.get("random_band", (float("nan"),) * 2)
        small = abs(f["strong_mean"] - f["weak_mean"]) < MIN_GAP
        verdict = "gap < 0.05: not scored" if small else ("yes" if f["apgr"] > band[1] else "no")
        lines.append(
            f"| {f['held_out']} | {f['domain']} | {f['n']} | "
            f"{f['strong_mean']:.3f} / {f['weak_mean']:.3f} | {f['apgr']:.3f} [{lo:.3f}, "
            f"{hi:.3f}] | {band[0]:.3f}-{band[1]:.3f} | {f.get('length_apgr', float('nan')):.3f} "
            f"| {verdict} |"
        )
    return lines


def _ci(t) -> str:
    return f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]"


def experiment_tables(paths: list[Path]) -> list[str]:
    """One row per `experiments.py` candidate: per-domain means and the selection score with
    bootstrap 95% intervals, the paired difference to the shipped configuration, and in how
    many domains the interval's lower edge is above 0.5 (random). Then per held-out fold the
    random band, `length`, the shipped configuration and each file's best candidate."""
    runs = {r["candidate"]: r for p in paths for r in json.loads(p.read_text())}
    out = [
        "# Candidates under the protocol: mix, heads, length, item-response labels, kernel",
        "",
        "`python benchmarks/generalisation/report.py --experiments` from "
        + ", ".join(f"`results/{p.name}`" for p in paths)
        + "; the runs' commands are in [`../README.md`](../README.md) (sections Mix, heads and "
        "length; Item-response labels; Locality of the SW kernel). "
        "Candidate: encoder / learner[:kernel base] / labels / mix [/ +len, +len/dom]. "
        "Intervals: bootstrap 95% "
        "over held-out prompts (1,000 seeded resamples per fold, the same resamples for every "
        "candidate, so the difference to the shipped configuration is paired).",
        "",
        "| candidate | chat | knowledge | math | selection score | vs shipped (paired) | "
        "domains above random |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        s = r["summary"]
        cells = " | ".join(_ci(s[d]) for d in (*DOMAINS, "score", "diff_vs_shipped"))
        above = sum(s[d][1] > 0.5 for d in DOMAINS)
        out.append(f"| `{name}` | {cells} | {above}/3 |")
    best = set()
    for p in paths:  # each file's best candidate other than the shipped configuration
        rest = [r for r in json.loads(p.read_text()) if r["candidate"] != SHIPPED]
        best.add(max(rest, key=lambda r: r["summary"]["score"][0])["candidate"])
    cols = ["length", SHIPPED, *sorted(best - {"length", SHIPPED})]
    out += [
        "",
        "Per held-out fold: `length`, the shipped configuration and the best other candidate of "
        "each results file (APGR [bootstrap 95% interval]; every candidate's folds are in the "
        "JSON).",
        "",
        "| held out | domain | prompts | random band | "
        + " | ".join(f"`{c}`" for c in cols)
        + " |",
        "|---|---|---|---|" + "---|" * len(cols),
    ]
    for i, f in enumerate(runs[SHIPPED]["folds"]):
        band = f"{f['random_band'][0]:.3f}-{f['random_band'][1]:.3f}"
        cells = " | ".join(
            _ci((runs[c]["folds"][i]["apgr"], *runs[c]["folds"][i]["ci"])) for c in cols
        )
        out.append(f"| {f['kind']} {f['held_out']} | {f['domain']} | {f['n']} | {band} | {cells} |")
    return out


def main() -> int:
    if "--experiments" in sys.argv[1:]:
        print("\n".join(experiment_tables(sorted(RESULTS.glob("exp_*.json")))))
        return 0
    scans = sorted(RESULTS.glob("scan_*.json")) + sorted(RESULTS.glob("loso_*.json"))
    out = ["## Candidate scan (selection score: mean over domains of held-out APGR)", ""]
    out += scan_table(scans)
    for path in sorted(RESULTS.glob("loso_*.json")):
        out += ["", *fold_table(path)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
