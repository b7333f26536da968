"""The controller's request counters (`Controller.stats`), in-process by default.

Counters are named groups of integer counts: `routed:<router>` (routed model -> n),
`served`, `failed`, `failed_attempts` (model -> n) and `cancelled` (`""` -> n).
`RedisCounters` keeps them in Redis instead (`serve --state redis://...`), so that every
server worker reports the combined counts; a Redis outage is handled as for budgets
(`policy.redis_state`): local counts go on, logged once, added to Redis when it is back.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Protocol

from routellm_py.policy.redis_state import DEFAULT_RETRY_S, RedisLink, state_prefix


class Counters(Protocol):
    """Named groups of counts shared by whoever serves with them."""

    def incr(self, group: str, key: str, n: int = 1) -> None:
        """Add `n` to `group[key]`."""

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every group's counts."""

    def describe(self) -> dict[str, Any]:
        """Where the counters live and their health (for /stats)."""


class LocalCounters:
    """Counters of this process."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def incr(self, group: str, key: str, n: int = 1) -> None:
        with self._lock:
            self.groups[group][key] += n

    def add(self, groups: dict[str, dict[str, int]]) -> None:
        """Add every count of `groups`."""
        with self._lock:
            for group, counts in groups.items():
                for key, n in counts.items():
                    self.groups[group][key] += n

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {g: dict(c) for g, c in self.groups.items()}

    def describe(self) -> dict[str, Any]:
        return {"state": "local"}


class RedisCounters(RedisLink):
    """The controller's request counters in Redis (`client`: `redis_client(url, timeout)`),
    shared by every worker: a hash `<prefix>stats:<group>` per group (HINCRBY) and a set
    `<prefix>stats` of the groups (prefix: as `redis_state_factory`). While Redis is away,
    counts go on locally (`pending`), `snapshot` shows the last shared counts plus them,
    and they are added to Redis when it answers again."""

    what = "counters"
    fallback = "/stats counts this process only"
    unit = "counts"

    def __init__(
        self, client: Any, prefix: str | None = None, retry_s: float = DEFAULT_RETRY_S
    ) -> None:
        super().__init__(client, retry_s)
        self.groups_key = f"{state_prefix(prefix)}stats"
        self.pending = LocalCounters()  # counted while Redis was away
        # The last counts read from Redis, plus this process's own since.
        self.shared: dict[str, dict[str, int]] = {}

    def _pipeline_incr(self, pipe: Any, groups: dict[str, dict[str, int]]) -> None:
        for group, counts in groups.items():
            pipe.sadd(self.groups_key, group)
            for key, n in counts.items():
                pipe.hincrby(f"{self.groups_key}:{group}", key, n)

    def incr(self, group: str, key: str, n: int = 1) -> None:
        import redis

        with self._lock:
            if self.down_since is not None:  # added by the next successful `snapshot`
                self.pending.incr(group, key, n)
                return
            try:
                pipe = self.client.pipeline(transaction=False)
                self._pipeline_incr(pipe, {group: {key: n}})
                pipe.execute()
            except redis.RedisError as e:
                self._failed(e)
                self.pending.incr(group, key, n)
                return
            counts = self.shared.setdefault(group, {})
            counts[key] = counts.get(key, 0) + n

    def snapshot(self) -> dict[str, dict[str, int]]:
        import redis

        with self._lock:
            pending = self.pending.snapshot()
            if self._available():
                try:
                    pipe = self.client.pipeline(transaction=False)
                    self._pipeline_incr(pipe, pending)
                    pipe.execute()
                    self.pending = LocalCounters()
                    groups = sorted(g.decode() for g in self.client.smembers(self.groups_key))
                    pipe = self.client.pipeline(transaction=False)
                    for group in groups:
                        pipe.hgetall(f"{self.groups_key}:{group}")
                    self.shared = {
                        g: {k.decode(): int(v) for k, v in raw.items()}
                        for g, raw in zip(groups, pipe.execute(), strict=True)
                    }
                    self._recovered(sum(sum(c.values()) for c in pending.values()))
                    return {g: dict(c) for g, c in self.shared.items()}
                except redis.RedisError as e:
                    self._failed(e)
            combined = LocalCounters()
            combined.add(self.shared)
            combined.add(self.pending.snapshot())
            return combined.snapshot()

    def describe(self) -> dict[str, Any]:
        return {
            "state": "redis",
            "redis_ok": self.down_since is None,
            "redis_outages": self.outages,
        }


def summarise(groups: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The /stats view of counter groups: routed per router and model, served, failed and
    failed attempts per model, cancelled requests, and per router the realised share of
    each routed model (`routed_fraction`)."""
    routed = {g.split(":", 1)[1]: c for g, c in groups.items() if g.startswith("routed:")}
    return {
        "routed": routed,
        "routed_fraction": {
            r: {m: n / sum(c.values()) for m, n in c.items()} for r, c in routed.items() if c
        },
        "served": groups.get("served", {}),
        "failed": groups.get("failed", {}),
        "failed_attempts": groups.get("failed_attempts", {}),
        "cancelled": groups.get("cancelled", {}).get("", 0),
    }
