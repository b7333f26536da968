"""Adapters for the public Chatbot Arena human-preference formats (not bundled offline).

- arena-55k: `lmsys/lmsys-arena-human-preference-55k` CSV (Kaggle `train.csv`): id, model_a,
  model_b, prompt, response_a, response_b, winner_model_a, winner_model_b, winner_tie; prompt
  and responses are JSON-encoded lists of turns; exactly one winner flag is 1.
- arena-33k: `lmsys/chatbot_arena_conversations` records: question_id, model_a, model_b,
  winner in {model_a, model_b, tie, tie (bothbad)}, judge, conversation_a/_b (lists of
  {role, content}), turn, anony, language, tstamp, ... as JSON, JSONL or parquet.
- clean-battle: FastChat `clean_battle_data.py --mode conv_release` output: a JSON list of the
  same records. (`--mode simple` drops the conversations, so it cannot train a router.)

RouteLLM routes on the first user turn; `turns=` picks another policy (see `join_turns`).
A path may also be a Hugging Face dataset id, `hf:OWNER/NAME` (e.g.
`hf:lmsys/lmsys-arena-human-preference-55k`, `hf:lmsys/chatbot_arena_conversations`), fetched
with huggingface_hub into its cache; with HF_HUB_OFFLINE=1 only a cached copy is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routellm_py.data.adapters.common import (
    WINNERS,
    AdapterError,
    Report,
    check_rows,
    fail,
    finish,
    join_turns,
    read_jsonl,
    require_columns,
)
from routellm_py.data.battles import Battles

ARENA_55K_FLAGS = ["winner_model_a", "winner_model_b", "winner_tie"]
HUB_PREFIX = "hf:"
CONVERSATION_KEYS = ("model_a", "model_b", "winner", "conversation_a")


def load_arena_55k(
    path: str | Path,
    *,
    turns: str = "first",
    source: str = "arena-55k",
    report: Report | None = None,
) -> Battles:
    """arena-human-preference-55k CSV -> battles (hard outcomes from the one-hot winner flags)."""
    if str(path).startswith(HUB_PREFIX):
        (path,) = hub_files(str(path), "*.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df.columns, ["id", "model_a", "model_b", "prompt", *ARENA_55K_FLAGS], path)
    flags = df[ARENA_55K_FLAGS].apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    one_hot = flags.isin([0, 1]).all(axis=1) & (flags.sum(axis=1) == 1)
    check_rows(path, df, [(~one_hot, f"exactly one of {ARENA_55K_FLAGS} must be 1, others 0")])
    prompts = [_json_turns(s, path, i, turns) for i, s in enumerate(df["prompt"], 1)]
    outcome = np.select(
        [flags["winner_model_a"] == 1, flags["winner_model_b"] == 1], ["a_wins", "b_wins"], "tie"
    )
    frame = pd.DataFrame(
        {
            "prompt": prompts,
            "model_a": df["model_a"],
            "model_b": df["model_b"],
            "outcome": outcome,
            "p_a_wins": np.nan,
        }
    )
    return finish(frame, source, report, path)


def _json_turns(text: str, path: str | Path, row: int, how: str) -> str:
    try:
        turns = json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(path, row, f"prompt is not a JSON list of turns ({e}): {text!r:.80}") from e
    if not isinstance(turns, list):
        raise fail(path, row, f"prompt must be a JSON list of turns, got {text!r:.80}")
    return join_turns(turns, how)


def load_arena_conversations(
    data: str | Path | Iterable[dict[str, Any]],
    *,
    turns: str = "first",
    source: str = "arena-33k",
    report: Report | None = None,
) -> Battles:
    """Arena conversation records (33k dataset or FastChat clean_battle) -> battles.

    `data` is a .json (list of records), .jsonl or .parquet file, or an iterable of dicts
    (e.g. a `datasets` split). The prompt is the user turns of `conversation_a`.
    """
    where, records = _records(data)
    rows = []
    for i, r in enumerate(records, 1):
        missing = [k for k in CONVERSATION_KEYS if k not in r or r[k] is None]
        if missing:
            hint = (
                " (FastChat `--mode simple` exports drop conversations: use the conv_release "
                "file clean_battle_conv_*.json)"
                if "conversation_a" in missing
                else ""
            )
            raise fail(where, i, f"missing {missing}{hint}")
        if r["winner"] not in WINNERS:
            raise fail(where, i, f"winner {r['winner']!r} not in {sorted(WINNERS)}")
        messages = _messages(r["conversation_a"], where, i)
        user = [m["content"] for m in messages if m["role"] == "user"]
        rows.append((join_turns(user, turns), r["model_a"], r["model_b"], WINNERS[r["winner"]]))
    if not rows:
        raise AdapterError(f"{where}: no records")
    frame = pd.DataFrame(rows, columns=["prompt", "model_a", "model_b", "outcome"])
    return finish(frame.assign(p_a_wins=np.nan), source, report, where)


def _messages(conv: Any, where: str, row: int) -> list[dict[str, Any]]:
    """A conversation as a list of {role, content} dicts (parquet gives numpy arrays)."""
    if isinstance(conv, str):
        try:
            conv = json.loads(conv)
        except json.JSONDecodeError as e:
            raise fail(where, row, f"conversation_a is not JSON ({e})") from e
    if not isinstance(conv, list | tuple | np.ndarray) or not all(
        isinstance(m, dict) and "role" in m and "content" in m for m in conv
    ):
        raise fail(where, row, "conversation_a must be a list of {role, content} messages")
    return list(conv)


def hub_files(ref: str, pattern: str) -> list[Path]:
    """Local copies of the files matching `pattern` in Hugging Face dataset `hf:OWNER/NAME`."""
    from huggingface_hub import snapshot_download

    repo_id = ref.removeprefix(HUB_PREFIX)
    try:
        folder = Path(snapshot_download(repo_id, repo_type="dataset", allow_patterns=[pattern]))
    except Exception as e:  # offline, gated, unknown id: say what to do instead
        raise FileNotFoundError(
            f"cannot fetch dataset {repo_id!r} from the Hugging Face hub ({type(e).__name__}: "
            f"{e}); download its {pattern} file yourself and pass the local path instead"
        ) from e
    files = sorted(folder.rglob(pattern))
    if not files:
        raise FileNotFoundError(f"dataset {repo_id!r} has no file matching {pattern!r}")
    return files


def _records(data: str | Path | Iterable[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(data, str | Path):
        return "records", [dict(r) for r in data]
    if str(data).startswith(HUB_PREFIX):
        records = [r for f in hub_files(str(data), "*.parquet") for r in _records(f)[1]]
        return str(data), records
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(f"no such battle file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return str(path), read_jsonl(path)
    if suffix == ".json":
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise AdapterError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise AdapterError(f"{path}: expected a JSON list of battle records")
        return str(path), loaded
    if suffix == ".parquet":
        try:
            return str(path), pd.read_parquet(path).to_dict(orient="records")
        except ImportError as e:
            raise ImportError(f"reading {path} needs pyarrow: pip install pyarrow") from e
    raise AdapterError(f"{path}: unsupported extension {suffix!r}; use .json, .jsonl or .parquet")
