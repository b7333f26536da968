"""Test helpers: tiny, randomly initialised models and a word-level tokenizer, built offline
in seconds, so the training and HF-router code paths run without pretrained weights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
# A minimal ChatML-style template, so chat-template code paths run on the tiny tokenizer.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> "
    "{% endfor %}{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def tiny_tokenizer(words: Iterable[str], chat_template: bool = False) -> Any:
    """A whitespace word-level `PreTrainedTokenizerFast` over `words` (+ [PAD] [UNK] [CLS]
    [SEP]); encodes as [CLS] ... [SEP] like BERT."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    extra = ["<|im_start|>", "<|im_end|>"] if chat_template else []
    vocab = {w: i for i, w in enumerate(dict.fromkeys([*SPECIALS, *extra, *words]))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    core.decoder = None
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        eos_token="[SEP]",
    )
    if chat_template:
        tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_config(arch: str, vocab_size: int) -> Any:
    """A 2-layer, 32-wide config of `arch` in {"bert", "deberta", "llama", "bart"}; the BART
    encoder-decoder starts and ends on the tiny tokenizer's [CLS] and [SEP]."""
    import transformers

    common: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    if arch == "bert":
        return transformers.BertConfig(**common)
    if arch == "deberta":
        return transformers.DebertaV2Config(
            **common, relative_attention=True, pos_att_type=["c2p", "p2c"]
        )
    if arch == "llama":
        return transformers.LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=True)
    if arch == "bart":
        cls, sep = SPECIALS.index("[CLS]"), SPECIALS.index("[SEP]")
        return transformers.BartConfig(
            vocab_size=vocab_size,
            d_model=common["hidden_size"],
            encoder_layers=common["num_hidden_layers"],
            decoder_layers=common["num_hidden_layers"],
            encoder_attention_heads=common["num_attention_heads"],
            decoder_attention_heads=common["num_attention_heads"],
            encoder_ffn_dim=common["intermediate_size"],
            decoder_ffn_dim=common["intermediate_size"],
            max_position_embeddings=common["max_position_embeddings"],
            pad_token_id=common["pad_token_id"],
            bos_token_id=cls,
            eos_token_id=sep,
            decoder_start_token_id=cls,
        )
    raise ValueError(f"unknown tiny architecture {arch!r}; use bert, deberta, llama or bart")


FRUIT = ["apple", "banana", "cherry", "grape"]
VEHICLES = ["car", "truck", "bus", "train"]


def toy_battles(n_prompts: int, strong: str, weak: str, seed: int = 0) -> Any:
    """A learnable strong-vs-weak `Battles` table: the strong model wins every prompt made of
    FRUIT words and loses every prompt made of VEHICLES (written weak-first half the time)."""
    import numpy as np

    from routellm_py.data.battles import Battles

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_prompts):
        fruit = i % 2 == 0
        words = rng.choice(FRUIT if fruit else VEHICLES, size=2 + (i // 2) % 4)  # length ⟂ class
        prompt = " ".join(words) + f" {i}"
        flip = i % 4 >= 2
        a, b = (weak, strong) if flip else (strong, weak)
        outcome = "a_wins" if fruit != flip else "b_wins"
        rows.append(dict(prompt=prompt, model_a=a, model_b=b, outcome=outcome))
    return Battles.from_records(
        dict(r, p_a_wins=float("nan"), source="toy", weight=1.0) for r in rows
    )
