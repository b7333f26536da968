#!/usr/bin/env bash
# Reproduce the classifier-router numbers in README.md (CPU; see README for timings).
# Usage: bash benchmarks/classifier_routers/reproduce.sh [CKPT_ROOT]   (default /tmp/classifier_ckpts)
set -euo pipefail
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ROUTELLM_PY_DATA="${ROUTELLM_PY_DATA:-../shared/data}"
CKPT="${1:-/tmp/classifier_ckpts}"
OUT=benchmarks/classifier_routers/results
DATA=routerbench,arena-bench-v1,alpaca-eval,mmlu-gold
mkdir -p "$OUT"

# 1. BERT router: all-MiniLM-L6-v2 (bundled), full fine-tuning on all bundled strong-vs-weak battles.
/usr/bin/time -v routellm-py train bert --data "$DATA" --out "$CKPT/bert" \
  --max-length 128 --epochs 1 --no-progress 2> "$OUT/train_bert.log"

# 2. Causal-LM router: SmolLM2-135M-Instruct (GGUF, de-quantised), full fine-tuning on a seeded
#    3,200-prompt subsample (--max-examples keeps the CPU run under an hour).
/usr/bin/time -v routellm-py train causal_llm --data "$DATA" --out "$CKPT/causal_llm" \
  --max-examples 3200 --lr 1e-4 --epochs 1 2> "$OUT/train_causal_llm.log"

# 3. Harness table (decontaminated against each router's training prompts), seeded 1,000-prompt samples.
routellm-py bench --routers "random,mf,sw_ranking-with-mmlu-gold,$CKPT/bert,$CKPT/causal_llm" \
  --benchmarks mt-bench,mmlu,gsm8k --limit 1000 --out "$OUT/bench_classifiers" --no-progress

# 4. Latency and throughput on this CPU.
python benchmarks/classifier_routers/latency.py "$CKPT/bert" --n 100 --out "$OUT/latency_bert.json"
python benchmarks/classifier_routers/latency.py "$CKPT/causal_llm" --n 50 \
  --out "$OUT/latency_causal_llm.json"
