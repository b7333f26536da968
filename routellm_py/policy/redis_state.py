"""Budget state in Redis, shared by server workers and machines (extra `[state]`: redis).

Each budget is a Redis list `<prefix><key>` of its last `window` decisions (RPUSH + LTRIM),
and a hash `<prefix><key>:counts` with totals since the state was created (HINCRBY /
HINCRBYFLOAT), so every worker routes on the combined traffic. A strong-fraction budget
(key `<router>:<target>`) stores entries `"<win rate>:<0|1>"` and counts `decisions` and
`strong`; a dollar budget (key `<router>:usd<target>`) stores JSON `[qualities, costs,
chosen]` and counts `decisions` and `spent_usd` (see `CODECS`). Concurrent workers see
each other's decisions one round trip late; the count feedback absorbs that.

Redis going away does not stop routing: every call has a `timeout` (socket connect and
read; the client's own retries are off), a failure is logged once, and decisions go on
with the local copy (the last window read, plus this process's own decisions). While
Redis is down it is retried at most every `retry_s`; when it answers again, the
decisions made meanwhile are pushed (resync) and routing reads the shared window again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from routellm_py._util import BUDGET_PREFIX_ENV
from routellm_py.policy.budget import LocalState, StateFactory

log = logging.getLogger("routellm_py.policy")

DEFAULT_TIMEOUT_S = 0.05
DEFAULT_RETRY_S = 1.0
DEFAULT_PREFIX = "routellm:budget:"


@dataclass(frozen=True)
class Codec:
    """How a kind of budget entry is stored: `encode` / `decode` one entry, and `tally`
    the totals that entries add to the counts hash."""

    encode: Callable[[Any], str]
    decode: Callable[[bytes], Any]
    tally: Callable[[list[Any]], dict[str, int | float]]


def _decode_pair(entry: bytes) -> tuple[float, bool]:
    w, _, s = entry.decode().partition(":")
    return float(w), s == "1"


def _decode_spend(entry: bytes) -> tuple[list[float], list[float], int]:
    quality, cost, chosen = json.loads(entry)
    return quality, cost, int(chosen)


CODECS = {
    "fraction": Codec(
        lambda e: f"{e[0]!r}:{int(e[1])}",
        _decode_pair,
        lambda entries: {"strong": sum(int(s) for _, s in entries)},
    ),
    "spend": Codec(
        lambda e: json.dumps([list(e[0]), list(e[1]), int(e[2])]),
        _decode_spend,
        lambda entries: {"spent_usd": float(sum(c[j] for _, c, j in entries))},
    ),
}


class RedisLink:
    """A Redis client with outage handling: `available` is False while Redis is down and
    not due for a retry (every `retry_s`); `failed` logs an outage once, `recovered` its
    end. `what`, `fallback` and `unit` name the state in those log lines."""

    what = "state"
    fallback = "local state"
    unit = "entries"

    def __init__(self, client: Any, retry_s: float) -> None:
        self.client = client
        self.retry_s = retry_s
        self.down_since: float | None = None
        self.last_try = 0.0
        self.outages = 0
        self._lock = threading.Lock()

    def _available(self) -> bool:
        return self.down_since is None or time.monotonic() - self.last_try >= self.retry_s

    def _failed(self, e: Exception) -> None:
        self.last_try = time.monotonic()
        if self.down_since is None:
            self.down_since = self.last_try
            self.outages += 1
            log.warning(
                "%s: Redis unreachable (%s: %s); %s and retries every %.1f s",
                self.what,
                type(e).__name__,
                e,
                self.fallback,
                self.retry_s,
            )

    def _recovered(self, resynced: int) -> None:
        if self.down_since is not None:
            log.warning(
                "%s: Redis is back after %.1f s; %d local %s resynced",
                self.what,
                time.monotonic() - self.down_since,
                resynced,
                self.unit,
            )
            self.down_since = None


class RedisState(RedisLink):
    """A budget window in Redis with a local fallback (see the module docstring)."""

    what = "budget state"
    unit = "decisions"

    def __init__(
        self,
        client: Any,
        key: str,
        window: int,
        retry_s: float = DEFAULT_RETRY_S,
        codec: Codec = CODECS["fraction"],
    ) -> None:
        super().__init__(client, retry_s)
        self.codec = codec
        self.key = key
        self.fallback = f"budget {key} routes on local state"
        self.counts_key = f"{key}:counts"
        self.window = window
        self.local = LocalState(window)
        self.pending: list[Any] = []  # decided while Redis was away

    def _pipeline_push(self, pipe: Any, entries: list[Any]) -> None:
        pipe.rpush(self.key, *(self.codec.encode(e) for e in entries))
        pipe.ltrim(self.key, -self.window, -1)
        pipe.hincrby(self.counts_key, "decisions", len(entries))
        for field, total in self.codec.tally(entries).items():
            if isinstance(total, int):
                pipe.hincrby(self.counts_key, field, total)
            else:
                pipe.hincrbyfloat(self.counts_key, field, total)

    def recent(self) -> list[Any]:
        import redis

        with self._lock:
            if not self._available():
                return self.local.recent()
            try:
                pipe = self.client.pipeline(transaction=False)
                if self.pending:
                    self._pipeline_push(pipe, self.pending)
                pipe.lrange(self.key, -self.window, -1)
                entries = [self.codec.decode(e) for e in pipe.execute()[-1]]
            except redis.RedisError as e:
                self._failed(e)
                return self.local.recent()
            self._recovered(len(self.pending))
            self.pending = []
            self.local.replace(entries)
            return entries

    def push(self, entry: Any) -> None:
        import redis

        with self._lock:
            self.local.push(entry)
            if self.down_since is not None:  # resynced by the next successful `recent`
                self.pending.append(entry)
                return
            try:
                pipe = self.client.pipeline(transaction=False)
                self._pipeline_push(pipe, [entry])
                pipe.execute()
            except redis.RedisError as e:
                self._failed(e)
                self.pending.append(entry)

    def describe(self) -> dict[str, Any]:
        """State kind, Redis health and the shared counts (None while unreachable)."""
        import redis

        counts = None
        if self.down_since is None:
            try:
                raw = self.client.hgetall(self.counts_key)
                counts = {k.decode(): _number(v) for k, v in raw.items()}
            except redis.RedisError as e:
                with self._lock:
                    self._failed(e)
        return {
            "state": "redis",
            "redis_ok": self.down_since is None,
            "redis_outages": self.outages,
            "shared_counts": counts,
        }


def _number(raw: bytes) -> int | float:
    value = float(raw)
    return int(value) if value.is_integer() else value


def redis_client(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """A client of the Redis at `url` (redis://HOST:PORT/DB) whose every call gives up
    after `timeout` s (connect and read), without retries of its own."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"state URL must look like redis://HOST:PORT/DB, got {url!r}")
    if not timeout > 0:
        raise ValueError(f"need a state timeout > 0, got {timeout}")
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise ImportError(
            "--state redis:// needs the redis client: pip install 'routellm-py[state]'"
        ) from None
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def state_prefix(prefix: str | None = None) -> str:
    """`prefix`, else $ROUTELLM_PY_BUDGET_PREFIX, else `routellm:budget:`."""
    return prefix if prefix is not None else os.environ.get(BUDGET_PREFIX_ENV, DEFAULT_PREFIX)


def redis_state_factory(
    url: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    retry_s: float = DEFAULT_RETRY_S,
    prefix: str | None = None,
) -> StateFactory:
    """A `StateFactory` keeping every budget in the Redis at `url` (redis://HOST:PORT/DB),
    under key `prefix` (default: $ROUTELLM_PY_BUDGET_PREFIX, else `routellm:budget:`)."""
    if retry_s < 0:
        raise ValueError(f"need retry_s >= 0, got {retry_s}")
    client = redis_client(url, timeout)
    prefix = state_prefix(prefix)

    def factory(key: str, window: int, kind: str = "fraction") -> RedisState:
        return RedisState(client, prefix + key, window, retry_s, CODECS[kind])

    return factory
