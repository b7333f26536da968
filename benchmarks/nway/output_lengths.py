"""Build the per-model expected output length table shipped with the N-way policy.

    python benchmarks/nway/output_lengths.py   # writes routellm_py/policy/output_lengths.json

Sources, in priority order (a model's default is its first source's value; every source's
value is kept under `by_source`):

1. `alpaca-eval`: AlpacaEval's response lengths (`output_1_chars`, `output_2_chars` of
   `preferences/alpaca_eval/judgments.csv.gz`), one length per model and prompt (805
   open-ended instructions), tokens = mean chars / CHARS_PER_TOKEN. Prompting variants
   that are not models (`*_concise`, `*_verbose`, `gpt4_gamed`, `example`) are skipped.
2. `routerbench`: RouterBench's per-prompt `<model>|total_cost` (USD) with the model's
   litellm price (exact canonical name only, no provider guess): output tokens =
   max(0, (total_cost - prompt_tokens * input price) / output price), prompt_tokens =
   ceil(prompt chars / CHARS_PER_TOKEN); mean over prompts. Zero-shot multiple choice and
   code answers, so much shorter than chat answers: kept as a second opinion.

Not used: `benchmarks/gsm8k/gsm8k_responses.csv` (GSM8K test answers; benchmark prompts
never set defaults here). The gold sources other than RouterBench hold no responses.
Model names are alias-canonical (`routellm_py.data.aliases.canonical_model`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from routellm_py.benchmarks.nway import routerbench_costs
from routellm_py.data.aliases import canonical_model
from routellm_py.data.paths import resolve_data_dir
from routellm_py.data.scores import score_table
from routellm_py.policy.nway import (
    CHARS_PER_TOKEN,
    OUTPUT_LENGTHS_FILE,
    estimate_tokens,
    litellm_price,
)

OUT = Path(__file__).resolve().parents[2] / "routellm_py" / "policy" / OUTPUT_LENGTHS_FILE
NOT_MODELS = ("gpt4_gamed", "example")


def _commits(data: Path) -> dict[str, str]:
    return json.loads((data / "SOURCES.json").read_text(encoding="utf-8"))


def alpaca_eval_lengths(data: Path) -> dict[str, tuple[float, int]]:
    """Canonical model -> (mean output tokens, responses) from AlpacaEval's `*_chars`."""
    j = pd.read_csv(data / "preferences/alpaca_eval/judgments.csv.gz")
    long = pd.concat(
        [
            j[["prompt_id", f"model_{k}", f"output_{k}_chars"]].set_axis(
                ["prompt_id", "model", "chars"], axis=1
            )
            for k in (1, 2)
        ]
    )
    long = long.dropna().drop_duplicates(["model", "prompt_id"])
    skip = long["model"].str.endswith(("_concise", "_verbose")) | long["model"].isin(NOT_MODELS)
    long = long[~skip].assign(model=lambda f: f["model"].map(canonical_model))
    # runs under two aliases of one model (gpt4, gpt4_0314) are pooled
    stats = long.groupby("model")["chars"].agg(["mean", "count"])
    return {
        str(m): (float(r["mean"]) / CHARS_PER_TOKEN, int(r["count"])) for m, r in stats.iterrows()
    }


def routerbench_lengths(data: Path) -> dict[str, tuple[float, int]]:
    """Canonical model -> (mean implied output tokens, prompts); see the module."""
    table = score_table("routerbench", data)
    costs = routerbench_costs(data)
    frame = table.frame.drop_duplicates("key").set_index("key")
    tokens = np.array([estimate_tokens(len(p)) for p in frame["prompt"]], dtype=np.float64)
    out: dict[str, tuple[float, int]] = {}
    for model in costs.columns:
        try:
            price = litellm_price(model)
        except KeyError:
            continue
        usd = costs.loc[frame.index, model].to_numpy(dtype=np.float64)
        ok = ~np.isnan(usd)
        implied = (usd[ok] - tokens[ok] * price.input_per_token) / price.output_per_token
        out[model] = (float(np.maximum(implied, 0.0).mean()), int(ok.sum()))
    return out


def build(data: Path) -> dict:
    """The table (see `routellm_py.policy.nway.output_length` for how it is read)."""
    commits = _commits(data)
    sources = {
        "alpaca-eval": {
            "file": "preferences/alpaca_eval/judgments.csv.gz (output_1_chars, output_2_chars)",
            "repository": "tatsu-lab/alpaca_eval",
            "commit": commits["tatsu-lab+alpaca_eval"],
            "licence": "code Apache-2.0; AlpacaEval outputs CC BY-NC 4.0 (research and "
            "evaluation use; only lengths are shipped here)",
            "statistic": f"mean response chars / {CHARS_PER_TOKEN} over AlpacaEval's 805 prompts",
            "lengths": alpaca_eval_lengths(data),
        },
        "routerbench": {
            "file": "gold/routerbench/*_train.csv (<model>|total_cost)",
            "repository": "shuhao02/RouterDC (RouterBench zero-shot splits)",
            "commit": commits["shuhao02+RouterDC"],
            "licence": "no licence file in the repository (RouterBench data)",
            "statistic": "mean max(0, (total_cost - prompt_tokens * input price) / output "
            "price), litellm prices, prompt_tokens = ceil(chars / 4)",
            "lengths": routerbench_lengths(data),
        },
    }
    models: dict[str, dict] = {}
    for src, info in sources.items():
        for model, (tokens, n) in sorted(info.pop("lengths").items()):
            entry = models.setdefault(
                model, {"output_tokens": round(tokens, 1), "source": src, "n": n, "by_source": {}}
            )
            entry["by_source"][src] = round(tokens, 1)
    return {
        "format_version": 1,
        "what": "expected output tokens per model, the N-way policy's default "
        "(routellm_py.policy.nway.output_length); built by benchmarks/nway/output_lengths.py",
        "chars_per_token": CHARS_PER_TOKEN,
        "chars_per_token_rule": "tokens = chars / 4, the usual English estimate for BPE "
        "tokenizers (OpenAI's rule of thumb); the same rule counts prompt tokens",
        "priority": list(sources),
        "sources": sources,
        "models": dict(sorted(models.items())),
    }


def main() -> None:
    table = build(resolve_data_dir(None))
    OUT.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    n = {s: sum(m["source"] == s for m in table["models"].values()) for s in table["priority"]}
    print(f"wrote {OUT}: {len(table['models'])} models, default source counts {n}")


if __name__ == "__main__":
    main()
