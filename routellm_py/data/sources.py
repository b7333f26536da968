"""Named training sources and the `--data` spec: `name[:PATH][@WEIGHT],...` -> one Battles table.

Examples: `arena-bench-v1,alpaca-eval@0.5`, `routerbench,mmlu-gold@2`, `csv:my_prefs.csv`,
`arena-55k:train.csv,clean-battle:clean_battle_conv_20240814.json`.
`@WEIGHT` multiplies that source's row weights (> 0). A path may not contain a comma, and a
trailing `@NUMBER` is always read as a weight. Adding a source is one `register_source` call:
packages above this layer register theirs when imported (`REGISTERED_ELSEWHERE`: `feedback:URL`,
the logged feedback, by `routellm_py.feedback.battles`), and the commands that resolve specs
import them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from routellm_py.data.adapters import (
    Report,
    alpaca_eval_prompts,
    arena_bench_questions,
    load_alpaca_eval,
    load_arena_55k,
    load_arena_bench,
    load_arena_conversations,
    load_routerbench,
    load_table,
    load_vicuna_bench,
    load_vicuna_pairwise,
    routerbench_table,
)
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.data.battles import Battles
from routellm_py.data.benchmarks import load_benchmark
from routellm_py.data.scores import score_table


@dataclass(frozen=True)
class SourceContext:
    """What a source loader may use: the data dir, the strong/weak pair, its PATH, a report."""

    data_dir: str | Path | None
    strong: str
    weak: str
    path: str | None
    label: str
    report: Report | None


@dataclass(frozen=True)
class Source:
    load: Callable[[SourceContext], Battles]
    takes_path: bool
    help: str


@dataclass(frozen=True)
class SourceSpec:
    name: str
    path: str | None = None
    weight: float = 1.0


def _mmlu_gold(c: SourceContext) -> Battles:
    gold = load_benchmark("mmlu", c.data_dir).split_gold()[1]
    return gold.battles(c.strong, c.weak, source=c.label)


SOURCES: dict[str, Source] = {}
# sources that a package above this layer registers when imported: name -> that module
REGISTERED_ELSEWHERE = {"feedback": "routellm_py.feedback.battles"}


def register_source(
    name: str, load: Callable[[SourceContext], Battles], *, takes_path: bool, help: str
) -> None:
    """Make `name` usable in specs; `load(ctx)` returns the source's Battles."""
    if name in SOURCES:
        raise ValueError(f"source {name!r} is already registered")
    SOURCES[name] = Source(load, takes_path, help)


# Adapter sources: (name, loader, help). Those of `_FILE_LOADERS` read the file named in
# the spec (`name:PATH`); the others read the bundled data directory.
_ADAPTERS = [
    ("arena-bench-v1", load_arena_bench, "GPT-4 grades of 14 models on 300 Arena prompts"),
    ("alpaca-eval", load_alpaca_eval, "108k AlpacaEval judgments (CC BY-NC 4.0: research only)"),
    ("routerbench", load_routerbench, "0/1 correctness of 11 models on ARC, MBPP, Winogrande"),
    ("vicuna-bench", load_vicuna_bench, "GPT-4 rubric grades (1-5) of 4 models on 78 chat prompts"),
    ("vicuna-pairwise", load_vicuna_pairwise, "312 GPT-4 pairwise reviews vs vicuna-13b"),
    ("arena-55k", load_arena_55k, "lmsys arena-human-preference-55k CSV (or hf:ID)"),
    ("arena-33k", load_arena_conversations, "chatbot_arena_conversations .json/.jsonl/.parquet"),
    ("clean-battle", load_arena_conversations, "FastChat clean_battle_conv_*.json"),
    ("csv", load_table, "your csv: prompt, model_a, model_b + outcome/winner/p_a_wins"),
    ("jsonl", load_table, "your jsonl: prompt, model_a, model_b + outcome/winner/p_a_wins"),
]
_FILE_LOADERS = (load_arena_55k, load_arena_conversations, load_table)
# gold score tables (`routellm_py.data.scores`): every pair of models scored on a prompt
_GOLD = [
    ("mmlu-pro", "0/1 correctness of 31 models on 5,222 MMLU-Pro questions (2.4M battles)"),
    ("faithful-cot", "0/1 correctness of 6 OpenAI models on 3,947 math word problems"),
    ("llmrouter", "scores in [0, 1] of 9 open models on 5,385 prompts from 13 tasks"),
    ("llmrouter-test", "scores in [0, 1] of 9 open models on LLMRouter's 350 test prompts"),
]


def _adapter(load: Callable[..., Battles], takes_path: bool) -> Callable[[SourceContext], Battles]:
    """The source loader of an adapter: it reads the spec's PATH, or the data directory."""
    if takes_path:
        return lambda c: load(c.path, source=c.label, report=c.report)
    return lambda c: load(c.data_dir, report=c.report)


for _name, _loader, _help in _ADAPTERS:
    _takes_path = _loader in _FILE_LOADERS
    register_source(_name, _adapter(_loader, _takes_path), takes_path=_takes_path, help=_help)
for _name, _help in _GOLD:
    register_source(
        _name,
        lambda c, n=_name: score_table(n, c.data_dir, report=c.report).to_battles(report=c.report),
        takes_path=False,
        help=_help,
    )
register_source(
    "mmlu-gold",
    _mmlu_gold,
    takes_path=False,
    help="the held-apart MMLU D_gold split (1,500 prompts) as strong-vs-weak gold battles",
)


def parse_spec(spec: str) -> list[SourceSpec]:
    """`name[:PATH][@WEIGHT],...` -> SourceSpecs, checked against the registry."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty data spec; valid sources: {valid_sources()}")
    out: list[SourceSpec] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            raise ValueError(f"empty item in data spec {spec!r}")
        weight = 1.0
        head, _, tail = item.rpartition("@")
        if head and _is_number(tail):
            item, weight = head, float(tail)
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"{item}@{tail}: weight must be a finite number > 0")
        name, _, path = item.partition(":")
        if name not in SOURCES:
            if name in REGISTERED_ELSEWHERE:
                raise ValueError(
                    f"data source {name!r} is registered by {REGISTERED_ELSEWHERE[name]}: "
                    "import it before resolving the spec"
                )
            raise ValueError(f"unknown data source {name!r}; valid: {valid_sources()}")
        if SOURCES[name].takes_path and not path:
            raise ValueError(f"source {name!r} needs a file: write {name}:PATH")
        if not SOURCES[name].takes_path and path:
            raise ValueError(f"source {name!r} is bundled and takes no path (got {path!r})")
        out.append(SourceSpec(name, path or None, weight))
    keys = [(s.name, s.path) for s in out]
    if len(set(keys)) != len(keys):
        raise ValueError(f"data spec {spec!r} names a source twice; use @WEIGHT to up-weight it")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def valid_sources() -> str:
    return ", ".join(f"{n}:PATH" if s.takes_path else n for n, s in SOURCES.items())


def load_sources(
    spec: str,
    data_dir: str | Path | None = None,
    strong: str = DEFAULT_STRONG,
    weak: str = DEFAULT_WEAK,
    report: Report | None = None,
) -> Battles:
    """All sources of `spec` as one Battles table, each source's weights scaled by its @WEIGHT.

    Path sources are labelled `name:FILENAME` in the `source` column. Rows left out by the
    adapters are logged and, if `report` is given, counted there per source.
    """
    parts = []
    for s in parse_spec(spec):
        label = f"{s.name}:{Path(s.path).name}" if s.path else s.name
        ctx = SourceContext(data_dir, strong, weak, s.path, label, report)
        battles = SOURCES[s.name].load(ctx)
        if s.weight != 1.0:
            battles = Battles(battles.frame.assign(weight=battles.frame["weight"] * s.weight))
        parts.append(battles)
    return Battles.concat(parts)


def bundled_prompts(data_dir: str | Path | None = None) -> list[str]:
    """Every bundled training prompt (arena-bench-v1, alpaca-eval, routerbench), deduplicated
    in first-seen order: the default calibration set."""
    texts = [
        *arena_bench_questions(data_dir).values(),
        *alpaca_eval_prompts(data_dir).values(),
        *routerbench_table(data_dir)["prompt"],
    ]
    return list(dict.fromkeys(t for t in texts if t.strip()))
