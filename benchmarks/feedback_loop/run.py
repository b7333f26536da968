"""Does a router learn from the traffic it routes? New-domain feedback loop experiment.

    python benchmarks/feedback_loop/run.py [--base routers/mf] [--source routerbench]
        [--strong-scores MODEL] [--weak-scores MODEL]
        [--db sqlite:///PATH | postgresql://...] [--out benchmarks/feedback_loop/results]

1. New traffic: the gold score table `--source` (default routerbench: ARC-Challenge, MBPP,
   Winogrande, scored for the base router's strong and weak models; `--strong-scores` /
   `--weak-scores` name the models whose scores stand for the endpoints). The base router must
   not have trained on it (checked against `provenance["data"]`); prompts it trained on (by
   the digests its checkpoint records) are dropped. Prompts split in half by a seeded hash
   of their text: A = traffic, B = evaluation.
2. Route A through a `Controller` with a feedback store (threshold: the median base win
   rate on A, so half the traffic goes strong), and send each decision's real outcome
   back through `controller.feedback`:
   - `ratings`: the routed model's gold score as a rating (the only thing a deployment
     sees without extra calls; the store's rule turns it into a soft battle);
   - `ratings+pairwise`: both models answered a seeded `--pairwise` share of A (shadow
     calls), fed back as a preference (strong / weak / tie); the rest as ratings;
   - `pairwise`: both models answered all of A (the most a feedback log can hold).
3. Retrain each variant with `routellm-py train mf --data feedback:URL --init BASE`
   (hyperparameters: the base's), and evaluate base and retrained routers on B: APGR with
   a 95% bootstrap interval (1,000 resamples), the paired bootstrap interval of the APGR
   gain over the base (same resamples for both), the random band, ECE and Brier.
Nothing is chosen by looking at B: the rule, the hyperparameters and the split are fixed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from routellm_py import metrics as M
from routellm_py.cli import main as cli
from routellm_py.controller import Controller
from routellm_py.data.digests import contains
from routellm_py.data.scores import score_table
from routellm_py.routers.base import load_router
from routellm_py.training.tables import validation_mask

N_BOOT = 1000


def traffic(
    base,
    source: str,
    pair: tuple[str, str],
    data_dir: str | None,
    task: str | None,
    tail_chars: int,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(prompts, scores of the strong and the weak model of `pair`) of `source` (only
    `task` if given), one row per prompt text, both scored, no base training prompt; with
    `tail_chars`, each prompt's last `tail_chars` characters (see --tail-chars)."""
    spec = str(base.provenance.get("data", ""))
    if source in spec.split(","):
        raise SystemExit(f"the base router trained on {source} ({spec}); pick a new domain")
    t = score_table(source, data_dir)
    t = t.subset(t.frame["task"] == task) if task else t
    f = t.frame.assign(s=t.scores(pair[0]), w=t.scores(pair[1])).dropna(subset=["s", "w"])
    f = f.groupby("prompt", sort=False)[["s", "w"]].mean().reset_index()
    if base.prompt_record is None:
        raise SystemExit(
            "the base router records no training prompts; record them with "
            "python -m routellm_py.lab.train add-provenance CHECKPOINT"
        )
    f = f[~contains(base.prompt_record.digests, f["prompt"].tolist())]
    if tail_chars:
        f = f.assign(prompt=f["prompt"].str[-tail_chars:])
        f = f.groupby("prompt", sort=False)[["s", "w"]].mean().reset_index()
    return f["prompt"].tolist(), f["s"].to_numpy(), f["w"].to_numpy()


def feed(base, prompts, s, w, url: str, pairwise: float, seed: int) -> dict:
    """Route `prompts` with the base router, store the decisions and their outcomes."""
    rates = base.win_rate(prompts)
    threshold = float(np.median(rates))
    both = np.random.default_rng(seed).random(len(prompts)) < pairwise
    counts = {"decisions": len(prompts), "ratings": 0, "preferences": 0, "strong": 0}
    with Controller([base], "strong", "weak", feedback_db=url, store_prompts=True) as c:
        records = c.decide(prompts, base.name, threshold)
        for r, si, wi, shadow in zip(records, s, w, both, strict=True):
            if shadow:
                pref = "strong" if si > wi else "weak" if si < wi else "tie"
                c.feedback(r["id"], preference=pref)
                counts["preferences"] += 1
            else:
                c.feedback(r["id"], rating=float(si if r["routed_to"] == "strong" else wi))
                counts["ratings"] += 1
            counts["strong"] += r["routed_to"] == "strong"
    return {**counts, "threshold": threshold}


def evaluate(router, prompts, s, w, base_boot: np.ndarray | None) -> dict:
    rates = router.win_rate(prompts)
    boot = M.bootstrap_apgrs(rates, s, w, N_BOOT)
    y = M.pairwise_outcome(s, w)
    row = {
        "APGR": M.apgr(M.routed_curve(rates, s, w)),
        "APGR 95% CI": M.percentile_interval(boot),
        "ECE": M.expected_calibration_error(rates, y),
        "Brier": M.brier_score(rates, y),
    }
    if base_boot is not None:
        row["gain 95% CI (paired)"] = M.percentile_interval(boot - base_boot)
    return row, boot


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="routers/mf", help="base checkpoint (an mf router)")
    p.add_argument("--source", default="routerbench", help="gold score table used as traffic")
    p.add_argument("--task", default=None, help="only this task of the source (e.g. math)")
    p.add_argument(
        "--tail-chars",
        type=int,
        default=0,
        help="route on each prompt's last N characters (default 0: the whole prompt)",
    )
    p.add_argument(
        "--strong-scores",
        default=None,
        help="model whose scores stand for the strong endpoint (default: the router's)",
    )
    p.add_argument(
        "--weak-scores",
        default=None,
        help="model whose scores stand for the weak endpoint (default: the router's)",
    )
    p.add_argument("--db", default=None, help="database URL prefix (default: sqlite in --out)")
    p.add_argument("--pairwise", type=float, default=0.25, help="share of A answered by both")
    p.add_argument("--out", default="benchmarks/feedback_loop/results")
    p.add_argument("--work", default=None, help="databases, checkpoints (default OUT/work)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    out = Path(args.out)
    work = Path(args.work) if args.work else out / "work"
    for d in (out, work):
        d.mkdir(parents=True, exist_ok=True)
    base = load_router(args.base)
    pair = (args.strong_scores or base.strong_model, args.weak_scores or base.weak_model)
    prompts, s, w = traffic(base, args.source, pair, args.data_dir, args.task, args.tail_chars)
    in_b = validation_mask(prompts, 0.5, args.seed)
    a, b = np.flatnonzero(~in_b), np.flatnonzero(in_b)
    pb, sb, wb = [prompts[i] for i in b], s[b], w[b]
    print(f"{args.source}: {len(prompts)} prompts; traffic A {len(a)}, evaluation B {len(b)}")
    rows = {"base": evaluate(base, pb, sb, wb, None)}
    base_boot = rows["base"][1]
    fed = {}
    for name, share in [("ratings", 0.0), ("ratings+pairwise", args.pairwise), ("pairwise", 1)]:
        db = work / f"feedback-{name.replace('+', '-')}.db"
        db.unlink(missing_ok=True)
        url = f"sqlite:///{db}" if args.db is None else args.db
        fed[name] = feed(base, [prompts[i] for i in a], s[a], w[a], url, share, args.seed)
        ckpt = work / f"mf-{name.replace('+', '-')}"
        shutil.rmtree(ckpt, ignore_errors=True)
        train = ["train", "mf", "--data", f"feedback:{url}", "--init", args.base]
        if cli([*train, "--out", str(ckpt)]) != 0:
            return 1
        rows[name] = evaluate(load_router(ckpt), pb, sb, wb, base_boot)
    band = M.percentile_interval(M.random_apgrs(sb, wb, N_BOOT))
    table = {k: v[0] for k, v in rows.items()}
    result = {
        "command": " ".join(["python", *sys.argv]),
        "base": args.base,
        "base_data": base.provenance.get("data"),
        "scores_of": {"strong": pair[0], "weak": pair[1]},
        "source": args.source,
        "tail_chars": args.tail_chars,
        "n_traffic": len(a),
        "n_eval": len(b),
        "strong_mean_eval": float(sb.mean()),
        "weak_mean_eval": float(wb.mean()),
        "random_band": band,
        "feedback": fed,
        "rows": table,
    }
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "| router | APGR on B | 95% CI | gain over base, 95% CI (paired) | ECE | Brier |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in table.items():
        gain = r.get("gain 95% CI (paired)")
        g = f"[{gain[0]:+.3f}, {gain[1]:+.3f}]" if gain else "-"
        lo, hi = r["APGR 95% CI"]
        lines.append(
            f"| {name} | {r['APGR']:.4f} | [{lo:.3f}, {hi:.3f}] | {g} | {r['ECE']:.3f} | "
            f"{r['Brier']:.3f} |"
        )
    lines.append(f"\nrandom band (1,000 random routers, 2.5-97.5%): [{band[0]:.3f}, {band[1]:.3f}]")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
