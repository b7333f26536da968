"""Adapters from every supported preference format into the canonical `Battles` table.

Each adapter validates its input at the boundary (errors name the file, the row and the
problem) and never drops rows silently: whatever it leaves out or merges is logged at
WARNING and, when the caller passes a `report` dict, counted there as
`report[source][reason] = n`.
"""

from routellm_py.data.adapters.arena import load_arena_55k, load_arena_conversations
from routellm_py.data.adapters.bundled import (
    alpaca_eval_prompts,
    arena_bench_questions,
    load_alpaca_eval,
    load_arena_bench,
    load_routerbench,
    load_vicuna_bench,
    load_vicuna_pairwise,
    routerbench_scores,
    routerbench_table,
    vicuna_bench_questions,
)
from routellm_py.data.adapters.common import AdapterError, Report, join_turns
from routellm_py.data.adapters.generic import load_table
from routellm_py.data.adapters.gold import faithful_cot_table, llmrouter_table, mmlu_pro_table
from routellm_py.data.adapters.scores import ScoreTable

__all__ = [
    "AdapterError",
    "Report",
    "ScoreTable",
    "alpaca_eval_prompts",
    "arena_bench_questions",
    "faithful_cot_table",
    "join_turns",
    "llmrouter_table",
    "load_alpaca_eval",
    "load_arena_55k",
    "load_arena_bench",
    "load_arena_conversations",
    "load_routerbench",
    "load_table",
    "load_vicuna_bench",
    "load_vicuna_pairwise",
    "mmlu_pro_table",
    "routerbench_scores",
    "routerbench_table",
    "vicuna_bench_questions",
]
