"""The durable store of routing decisions and the feedback on them, in SQL.

`sqlite:///PATH` (the embedded default: one file, WAL journal so several worker processes
on one machine read and write it at once, 30 s busy wait) or `postgresql://...` (many
machines; needs the `[postgres]` extra, psycopg 3). Three tables:

    routellm_decisions  id (the routing record's id), created_at (unix s), router,
                        strong_model, weak_model (the router's pair), routed_to, routed_model,
                        served_to (strong/weak once an answer was served), win_rate,
                        threshold, prompt (NULL unless the operator stores prompts)
    routellm_candidates decision_id, rank (0 = the routed model, then the fallback order),
                        model, quality, p_match_best, expected_cost_usd, output_tokens,
                        output_tokens_source: every candidate of an N-way decision, with its
                        estimates, expected cost and the answer length the cost assumed
    routellm_feedback   decision_id (one feedback per decision), created_at, kind
                        ("rating" | "preference"), rating (in [0, 1]; good = 1, bad = 0),
                        preference ("strong" | "weak" | "tie")

An N-way decision's row has routed_to "nway", strong_model / weak_model the candidates of
best estimated quality and of least expected cost, win_rate the routed model's quality
estimate, threshold its policy's lambda (or t), served_to the name of the model that
answered. `records()` lists strong/weak decisions (training battles), `nway_records()`
the N-way ones with their candidates.

Feedback on an unknown id is a 404, a second feedback on the same decision a 409, a bad
value a 400 (`FeedbackError`, a `RoutingError` so the server answers it as JSON).
Retention: `purge(days)` deletes decisions older than `days` and their feedback.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from routellm_py.errors import RoutingError

RATINGS = {"good": 1.0, "bad": 0.0}
CANDIDATE_COLUMNS = (
    "model",
    "quality",
    "p_match_best",
    "expected_cost_usd",
    "output_tokens",
    "output_tokens_source",
)
PREFERENCES = ("strong", "weak", "tie")
DECISION_COLUMNS = (
    "id", "created_at", "router", "strong_model", "weak_model", "routed_to", "routed_model",
    "served_to", "win_rate", "threshold", "prompt",
)  # fmt: skip
INSERT_DECISION = (
    f"INSERT INTO routellm_decisions ({', '.join(DECISION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(DECISION_COLUMNS))})"
)
INSERT_CANDIDATE = (
    f"INSERT INTO routellm_candidates (decision_id, rank, {', '.join(CANDIDATE_COLUMNS)}) "
    f"VALUES (?, ?{', ?' * len(CANDIDATE_COLUMNS)})"
)
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS routellm_decisions (
        id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, router TEXT NOT NULL,
        strong_model TEXT NOT NULL, weak_model TEXT NOT NULL, routed_to TEXT NOT NULL,
        routed_model TEXT NOT NULL, served_to TEXT, win_rate DOUBLE PRECISION NOT NULL,
        threshold DOUBLE PRECISION NOT NULL, prompt TEXT)""",
    "CREATE INDEX IF NOT EXISTS routellm_decisions_created ON routellm_decisions (created_at)",
    """CREATE TABLE IF NOT EXISTS routellm_candidates (
        decision_id TEXT NOT NULL REFERENCES routellm_decisions (id), rank INTEGER NOT NULL,
        model TEXT NOT NULL, quality DOUBLE PRECISION NOT NULL,
        p_match_best DOUBLE PRECISION NOT NULL, expected_cost_usd DOUBLE PRECISION NOT NULL,
        output_tokens DOUBLE PRECISION NOT NULL, output_tokens_source TEXT NOT NULL,
        PRIMARY KEY (decision_id, rank))""",
    """CREATE TABLE IF NOT EXISTS routellm_feedback (
        decision_id TEXT PRIMARY KEY REFERENCES routellm_decisions (id),
        created_at DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL,
        rating DOUBLE PRECISION, preference TEXT)""",
)


class FeedbackError(RoutingError):
    """Feedback that cannot be accepted; `status` 400 (malformed), 404 (unknown id) or 409
    (the decision already has feedback)."""


def parse_feedback(rating: Any = None, preference: Any = None) -> tuple[str, float | None, Any]:
    """(kind, rating, preference) from exactly one of a rating ("good", "bad" or a number in
    [0, 1]) and a preference ("strong", "weak" or "tie")."""
    if (rating is None) == (preference is None):
        raise FeedbackError(
            "give exactly one of rating ('good', 'bad' or a number in [0, 1]) and "
            "preference ('strong', 'weak' or 'tie')",
            param="rating",
        )
    if preference is not None:
        if preference not in PREFERENCES:
            raise FeedbackError(
                f"preference must be one of {', '.join(PREFERENCES)}, got {preference!r}",
                param="preference",
            )
        return "preference", None, preference
    if isinstance(rating, str) and rating in RATINGS:
        return "rating", RATINGS[rating], None
    number = isinstance(rating, int | float) and not isinstance(rating, bool)
    if not number or not math.isfinite(rating) or not 0.0 <= rating <= 1.0:
        raise FeedbackError(
            f"rating must be 'good', 'bad' or a number in [0, 1], got {rating!r}", param="rating"
        )
    return "rating", float(rating), None


class FeedbackStore:
    """Decisions and feedback in SQLite or PostgreSQL (module doc); thread-safe (one
    connection behind a lock), and several processes may share one database."""

    def __init__(self, url: str, store_prompts: bool = False) -> None:
        self.url = url
        self.store_prompts = store_prompts
        self._lock = threading.Lock()
        if url.startswith("sqlite:///"):
            self.backend = "sqlite"
            self._conn, self._integrity = _sqlite(url[len("sqlite:///") :])
        elif url.startswith(("postgresql://", "postgres://")):
            self.backend = "postgresql"
            self._conn, self._integrity = _postgres(url)
        else:
            raise ValueError(
                f"feedback database URL {url!r} is not sqlite:///PATH or postgresql://..."
            )

    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.backend == "postgresql":
            sql = sql.replace("?", "%s")
        with self._lock:
            if self.backend == "postgresql":  # autocommit: each statement is its own
                cur = self._conn.execute(sql, params)
                return cur.fetchall() if cur.description else []
            with self._conn:  # commit, or roll back so no write lock outlives an error
                cur = self._conn.execute(sql, params)
                return cur.fetchall() if cur.description else []

    def _transaction(self, statements: list[tuple[str, list[tuple]]]) -> list[int]:
        """Run each (sql, rows) with every row, all in one transaction; rows changed each."""
        if self.backend == "postgresql":
            statements = [(sql.replace("?", "%s"), rows) for sql, rows in statements]
        counts = []
        with self._lock:
            if self.backend == "postgresql":
                with self._conn.transaction(), self._conn.cursor() as cur:
                    for sql, rows in statements:
                        cur.executemany(sql, rows)
                        counts.append(cur.rowcount)
            else:
                with self._conn:
                    for sql, rows in statements:
                        counts.append(self._conn.executemany(sql, rows).rowcount)
        return counts

    def record_decision(
        self, routing: dict[str, Any], strong_model: str, weak_model: str, prompt: str | None
    ) -> None:
        """Store one routing record (`routing["id"]`); the prompt only if `store_prompts`."""
        row = (
            routing["id"], time.time(), routing["router"], strong_model, weak_model,
            routing["routed_to"], routing["routed_model"], None, float(routing["win_rate"]),
            float(routing["threshold"]), prompt if self.store_prompts else None,
        )  # fmt: skip
        self._execute(INSERT_DECISION, row)

    def record_nway(self, routing: dict[str, Any], prompt: str | None) -> None:
        """Store one N-way routing record and its candidates (module doc), together."""
        ranked = routing["candidates"]
        best = max(ranked, key=lambda c: c["quality"])["model"]
        cheapest = min(ranked, key=lambda c: c["expected_cost_usd"])["model"]
        param = routing.get("lambda", routing.get(routing["policy"]))
        row = (
            routing["id"], time.time(), routing["router"], best, cheapest, routing["routed_to"],
            routing["routed_model"], None, float(ranked[0]["quality"]), float(param),
            prompt if self.store_prompts else None,
        )  # fmt: skip
        rows = [
            (routing["id"], rank, *(c[k] for k in CANDIDATE_COLUMNS))
            for rank, c in enumerate(ranked)
        ]
        self._transaction([(INSERT_DECISION, [row]), (INSERT_CANDIDATE, rows)])

    def mark_served(self, decision_id: str, served_to: str) -> None:
        """Record which model ("strong" / "weak"; N-way: its name) answered the decision."""
        self._execute(
            "UPDATE routellm_decisions SET served_to = ? WHERE id = ?", (served_to, decision_id)
        )

    def add_feedback(
        self, decision_id: Any, rating: Any = None, preference: Any = None
    ) -> dict[str, Any]:
        """Store the outcome of a decision (see `parse_feedback`); returns what was stored."""
        if not isinstance(decision_id, str) or not decision_id:
            raise FeedbackError("id must be the routing record's id (a string)", param="id")
        kind, value, pref = parse_feedback(rating, preference)
        found = self._execute("SELECT 1 FROM routellm_decisions WHERE id = ?", (decision_id,))
        if not found:
            raise FeedbackError(
                f"unknown routing id {decision_id!r}: no decision with this id is stored "
                "(ids come from the `routing.id` of a response; old ones may be purged)",
                param="id",
                status=404,
                code="unknown_id",
            )
        try:
            self._execute(
                "INSERT INTO routellm_feedback (decision_id, created_at, kind, rating, preference)"
                " VALUES (?, ?, ?, ?, ?)",
                (decision_id, time.time(), kind, value, pref),
            )
        except self._integrity as e:
            raise FeedbackError(
                f"routing id {decision_id!r} already has feedback; each decision takes one",
                param="id",
                status=409,
                code="duplicate_feedback",
            ) from e
        return {"id": decision_id, "kind": kind, "rating": value, "preference": pref}

    def records(self, nway: bool = False) -> list[dict[str, Any]]:
        """Every strong/weak decision (`nway`: every N-way one instead) with its feedback
        (kind, rating, preference; None without)."""
        cols = ", ".join(f"d.{c}" for c in DECISION_COLUMNS)
        rows = self._execute(
            f"SELECT {cols}, f.kind, f.rating, f.preference FROM routellm_decisions d "
            "LEFT JOIN routellm_feedback f ON f.decision_id = d.id "
            f"WHERE d.routed_to {'=' if nway else '<>'} 'nway' ORDER BY d.created_at, d.id"
        )
        names = (*DECISION_COLUMNS, "kind", "rating", "preference")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def nway_records(self) -> list[dict[str, Any]]:
        """Every N-way decision as `records` has it, plus `candidates`: each candidate's
        model, quality, p_match_best, expected_cost_usd and output tokens (with their
        source), routed model first."""
        found = self.records(nway=True)
        rows = self._execute(
            f"SELECT decision_id, {', '.join(CANDIDATE_COLUMNS)} FROM routellm_candidates "
            "ORDER BY decision_id, rank"
        )
        by_id: dict[str, list[dict[str, Any]]] = {}
        for decision_id, *values in rows:
            by_id.setdefault(decision_id, []).append(
                dict(zip(CANDIDATE_COLUMNS, values, strict=True))
            )
        return [{**r, "candidates": by_id.get(r["id"], [])} for r in found]

    def purge(self, older_than_days: float, now: float | None = None) -> int:
        """Delete decisions (and their feedback) created more than `older_than_days` ago;
        returns how many decisions were deleted."""
        if not (math.isfinite(older_than_days) and older_than_days >= 0):
            raise ValueError(f"older_than_days must be >= 0, got {older_than_days}")
        cutoff = (time.time() if now is None else now) - older_than_days * 86400.0
        old = "SELECT id FROM routellm_decisions WHERE created_at < ?"
        # One transaction: nothing left pointing at a deleted decision.
        counts = self._transaction(
            [
                (f"DELETE FROM routellm_feedback WHERE decision_id IN ({old})", [(cutoff,)]),
                (f"DELETE FROM routellm_candidates WHERE decision_id IN ({old})", [(cutoff,)]),
                ("DELETE FROM routellm_decisions WHERE created_at < ?", [(cutoff,)]),
            ]
        )
        return int(counts[-1])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite(path: str) -> tuple[Any, type[Exception]]:
    import sqlite3

    if not path:
        raise ValueError("sqlite:/// URL needs a file path, e.g. sqlite:///feedback.db")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across process crashes
    with conn:
        for statement in SCHEMA:
            conn.execute(statement)
    return conn, sqlite3.IntegrityError


def _postgres(url: str) -> tuple[Any, type[Exception]]:
    try:
        import psycopg
    except ImportError as e:
        raise ImportError(
            "a postgresql:// feedback store needs psycopg 3: pip install 'routellm-py[postgres]'"
        ) from e
    conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    with conn.transaction():  # one schema creation at a time across processes
        conn.execute("SELECT pg_advisory_xact_lock(74261501)")
        for statement in SCHEMA:
            conn.execute(statement)
    return conn, psycopg.IntegrityError
