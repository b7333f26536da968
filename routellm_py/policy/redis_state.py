"""Budget state in Redis, shared by server workers and machines (extra `[state]`: redis).

Each budget is a Redis list `<prefix><router>:<target>` of its last `window` decisions, entries
`"<win rate>:<0|1>"` (RPUSH + LTRIM), and a hash `<prefix><key>:counts` with the
decisions and strong decisions since the state was created (HINCRBY), so every worker
routes on the combined traffic. Concurrent workers see each other's decisions one
round trip late; the count feedback absorbs that.

Redis going away does not stop routing: every call has a `timeout` (socket connect and
read; the client's own retries are off), a failure is logged once, and decisions go on
with the local copy (the last window read, plus this process's own decisions). While
Redis is down it is retried at most every `retry_s`; when it answers again, the
decisions made meanwhile are pushed (resync) and routing reads the shared window again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from routellm_py._util import BUDGET_PREFIX_ENV
from routellm_py.policy.budget import LocalState, StateFactory

log = logging.getLogger("routellm_py.policy")

DEFAULT_TIMEOUT_S = 0.05
DEFAULT_RETRY_S = 1.0
DEFAULT_PREFIX = "routellm:budget:"


def _encode(win_rate: float, strong: bool) -> str:
    return f"{win_rate!r}:{int(strong)}"


def _decode(entry: bytes) -> tuple[float, bool]:
    w, _, s = entry.decode().partition(":")
    return float(w), s == "1"


class RedisState:
    """A budget window in Redis with a local fallback (see the module docstring)."""

    def __init__(
        self, client: Any, key: str, window: int, retry_s: float = DEFAULT_RETRY_S
    ) -> None:
        self.client = client
        self.key = key
        self.counts_key = f"{key}:counts"
        self.window = window
        self.retry_s = retry_s
        self.local = LocalState(window)
        self.pending: list[tuple[float, bool]] = []  # decided while Redis was away
        self.down_since: float | None = None
        self.last_try = 0.0
        self.outages = 0
        self._lock = threading.Lock()

    def _available(self) -> bool:
        """False while Redis is down and not due for a retry."""
        return self.down_since is None or time.monotonic() - self.last_try >= self.retry_s

    def _failed(self, e: Exception) -> None:
        self.last_try = time.monotonic()
        if self.down_since is None:
            self.down_since = self.last_try
            self.outages += 1
            log.warning(
                "budget state: Redis unreachable (%s: %s); budget %s routes on local state "
                "and retries every %.1f s",
                type(e).__name__,
                e,
                self.key,
                self.retry_s,
            )

    def _pipeline_push(self, pipe: Any, entries: list[tuple[float, bool]]) -> None:
        pipe.rpush(self.key, *(_encode(w, s) for w, s in entries))
        pipe.ltrim(self.key, -self.window, -1)
        pipe.hincrby(self.counts_key, "decisions", len(entries))
        pipe.hincrby(self.counts_key, "strong", sum(s for _, s in entries))

    def recent(self) -> list[tuple[float, bool]]:
        import redis

        with self._lock:
            if not self._available():
                return self.local.recent()
            try:
                pipe = self.client.pipeline(transaction=False)
                if self.pending:
                    self._pipeline_push(pipe, self.pending)
                pipe.lrange(self.key, -self.window, -1)
                entries = [_decode(e) for e in pipe.execute()[-1]]
            except redis.RedisError as e:
                self._failed(e)
                return self.local.recent()
            if self.down_since is not None:
                log.warning(
                    "budget state: Redis is back after %.1f s; %d local decisions resynced",
                    time.monotonic() - self.down_since,
                    len(self.pending),
                )
                self.down_since = None
            self.pending = []
            self.local.replace(entries)
            return entries

    def push(self, win_rate: float, strong: bool) -> None:
        import redis

        with self._lock:
            self.local.push(win_rate, strong)
            if self.down_since is not None:  # resynced by the next successful `recent`
                self.pending.append((win_rate, strong))
                return
            try:
                pipe = self.client.pipeline(transaction=False)
                self._pipeline_push(pipe, [(win_rate, strong)])
                pipe.execute()
            except redis.RedisError as e:
                self._failed(e)
                self.pending.append((win_rate, strong))

    def describe(self) -> dict[str, Any]:
        """State kind, Redis health and the shared counts (None while unreachable)."""
        import redis

        counts = None
        if self.down_since is None:
            try:
                raw = self.client.hgetall(self.counts_key)
                counts = {k.decode(): int(v) for k, v in raw.items()}
            except redis.RedisError as e:
                with self._lock:
                    self._failed(e)
        return {
            "state": "redis",
            "redis_ok": self.down_since is None,
            "redis_outages": self.outages,
            "shared_counts": counts,
        }


def redis_state_factory(
    url: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    retry_s: float = DEFAULT_RETRY_S,
    prefix: str | None = None,
) -> StateFactory:
    """A `StateFactory` keeping every budget in the Redis at `url` (redis://HOST:PORT/DB),
    under key `prefix` (default: $ROUTELLM_PY_BUDGET_PREFIX, else `routellm:budget:`)."""
    prefix = prefix if prefix is not None else os.environ.get(BUDGET_PREFIX_ENV, DEFAULT_PREFIX)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"state URL must look like redis://HOST:PORT/DB, got {url!r}")
    if not timeout > 0 or retry_s < 0:
        raise ValueError(f"need timeout > 0 and retry_s >= 0, got {timeout} and {retry_s}")
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise ImportError(
            "--state redis:// needs the redis client: pip install 'routellm-py[state]'"
        ) from None
    client = redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )

    def factory(key: str, window: int) -> RedisState:
        return RedisState(client, prefix + key, window, retry_s)

    return factory
