"""The controller's request counters (`Controller.stats`), in-process by default.

Counters are named groups of integer counts: `routed:<router>` (routed model -> n),
`served`, `failed`, `failed_attempts` (model -> n) and `cancelled` (`""` -> n).
`routellm_py.policy.redis_state.RedisCounters` keeps them in Redis instead, so that every
server worker reports the combined counts.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol


class Counters(Protocol):
    """Named groups of counts shared by whoever serves with them."""

    def incr(self, group: str, key: str, n: int = 1) -> None:
        """Add `n` to `group[key]`."""

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every group's counts."""

    def describe(self) -> dict[str, Any]:
        """Where the counters live and their health (for /stats)."""


CountersFactory = Callable[[], Counters]


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
