"""Micro-batching of concurrent routing calls, off the event loop.

Requests that arrive while a router is busy are queued and scored together in the next
`win_rate` call (one forward pass for a whole batch of prompts in the neural routers).
A lone request is scored at once, so batching adds no latency when idle.

Scoring runs in a worker thread, so a slow router never blocks the event loop. The one
exception is a router measured to be trivially cheap: once `warmup` batches (in threads)
have all cost so little that the next batch is predicted to take under `inline_budget_s`
(by the slowest per-prompt cost seen in the last `window` batches), it runs inline, which
saves a thread hop that under CPU contention costs more than the scoring; a lone request
for such a router is then scored in its own task, without queueing. A batch that turns out
slow moves the router back to threads at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np


class WinRateBatcher:
    """Queue prompts for one scoring function on one event loop; score in batches."""

    def __init__(
        self,
        score: Callable[[Sequence[str]], np.ndarray],
        executor: Executor,
        max_batch: int = 64,
        on_batch: Callable[[int], Any] | None = None,
        inline_budget_s: float = 0.001,
        warmup: int = 3,
        window: int = 16,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.score = score
        self.executor = executor
        self.max_batch = max_batch
        self.on_batch = on_batch
        self.inline_budget_s = inline_budget_s
        self.warmup = warmup
        self.pending: list[tuple[str, asyncio.Future[float]]] = []
        self.per_prompt_s: deque[float] = deque(maxlen=window)
        self.n_batches = 0
        self.n_inline = 0
        self._draining = False

    async def win_rate(self, prompt: str) -> float:
        """P(strong wins) for one prompt, scored together with concurrent requests."""
        if not self._draining and self.inline(1):
            # Cheap router, nothing queued: score now, in this task. Going through the queue
            # would cost a full event-loop iteration, long when the loop is busy.
            self._count(1, inline=True)
            return float(self._timed([prompt])[0])
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self.pending.append((prompt, future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    def inline(self, n: int) -> bool:
        """Whether a batch of `n` prompts is predicted cheap enough to score on the loop."""
        return (
            self.n_batches >= self.warmup
            and bool(self.per_prompt_s)
            and max(self.per_prompt_s) * n < self.inline_budget_s
        )

    def _count(self, n: int, inline: bool) -> None:
        self.n_batches += 1
        self.n_inline += inline
        if self.on_batch is not None:
            self.on_batch(n)

    def _timed(self, prompts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        rates = self.score(prompts)
        self.per_prompt_s.append((time.perf_counter() - start) / len(prompts))
        return rates

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch = self.pending[: self.max_batch]
                del self.pending[: self.max_batch]
                prompts = [p for p, _ in batch]
                inline = self.inline(len(prompts))
                self._count(len(prompts), inline)
                try:
                    if inline:
                        rates = self._timed(prompts)
                    else:
                        rates = await loop.run_in_executor(self.executor, self._timed, prompts)
                except Exception as e:  # every waiter gets the router's error
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                for (_, fut), r in zip(batch, rates, strict=True):
                    if not fut.done():
                        fut.set_result(float(r))
        finally:
            self._draining = False
