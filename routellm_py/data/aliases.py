"""Explicit model-name alias table: one canonical name per model across data sources.

No fuzzy matching: a name is canonical, a listed alias, or passed through unchanged.
Users extend the table with `register_alias`.
"""

from __future__ import annotations

DEFAULT_STRONG = "gpt-4-1106-preview"
DEFAULT_WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"

# alias -> canonical. Canonical names follow the RouteLLM benchmark CSV headers.
_ALIASES: dict[str, str] = {
    "gpt4_1106_preview": "gpt-4-1106-preview",
    "gpt-4-turbo-1106": "gpt-4-1106-preview",
    "gpt4_0314": "gpt-4-0314",
    "gpt4": "gpt-4-0314",
    "gpt35_turbo_instruct": "gpt-3.5-turbo-instruct",
    "gpt-3.5-turbo-1106": "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0613": "gpt-3.5-turbo",
    "mistralai/mixtral-8x7b-chat": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "Mixtral-8x7B-Instruct-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mixtral-8x7b-instruct-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "Mixtral-8x7B-Instruct-v0.1_hf": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/mistral-7b-chat": "mistralai/Mistral-7B-Instruct-v0.1",
    "Mistral-7B-Instruct-v0.1": "mistralai/Mistral-7B-Instruct-v0.1",
    "mistral-7b-instruct": "mistralai/Mistral-7B-Instruct-v0.1",
    "meta/llama-2-70b-chat": "Llama-2-70b-chat",
    "llama-2-70b-chat": "Llama-2-70b-chat",
    "llama-2-70b-chat-hf": "Llama-2-70b-chat",
    "claude-v1": "claude-1",
    "claude-instant-v1": "claude-instant-1",
    "claude-v2": "claude-2",
    "claude2": "claude-2",
    "text_davinci_003": "text-davinci-003",
    "text_davinci_001": "text-davinci-001",
    # the same model under MMLU-Pro (canonical), AlpacaEval and LLMRouter spellings
    "Mistral-7B-Instruct-v0.2": "mistralai/Mistral-7B-Instruct-v0.2",
    "llama-3.1-8b-instruct": "Meta-Llama-3.1-8B-Instruct",
}
# Deliberately NOT aliased (different models): gpt-4o (MMLU-Pro) vs gpt-4-1106-preview;
# Faithful-CoT's undated gpt-4 vs gpt-4-0314 (AlpacaEval's `gpt4`); base models (gemma-7b,
# Yi-34B, Llama-2-70b-hf, Mixtral-8x7B-v0.1) vs their chat/instruct versions; LLMRouter's
# mistral-7b-instruct-v0.3 vs v0.1/v0.2; Vicuna-bench's chat_gpt, vicuna, wizard and
# llama-2-chat, whose versions and sizes the source does not state.


def canonical_model(name: str) -> str:
    """The canonical spelling of a model name (unknown names pass through unchanged)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model name must be a non-empty string, got {name!r}")
    name = name.strip()
    return _ALIASES.get(name, name)


def register_alias(alias: str, canonical: str) -> None:
    """Add `alias` -> `canonical` to the table; conflicting re-definitions raise."""
    current = _ALIASES.get(alias)
    if current is not None and current != canonical:
        raise ValueError(f"alias {alias!r} already maps to {current!r}")
    _ALIASES[alias] = canonical
