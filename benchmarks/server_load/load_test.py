"""Bounded load test of an OpenAI-compatible chat endpoint, driven by the official client.

Sends `n` requests, at most `concurrency` in flight, each with a unique marker as its
user message (with `prompts`, the marker followed by a prompt: an MMLU-length message
the router has never seen, so an embedding router pays its encoder on every request).
Against an echo upstream (`tests/upstream.py`) every answer must be
`"echo: <its own marker>"`: a missing answer is *lost*, an answer carrying another
request's marker is *mismatched*, a marker answered twice is *duplicated*.

    python benchmarks/server_load/load_test.py --base-url http://127.0.0.1:6060/v1 \
        --model router-random-0.5 -n 200 -c 32 [--stream] [--out result.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class LoadResult:
    base_url: str
    model: str
    n: int
    concurrency: int
    stream: bool
    intact: int
    lost: int
    mismatched: int
    duplicated: int
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0

    def summary(self) -> str:
        mode = " (stream)" if self.stream else ""
        return (
            f"{self.n} requests, {self.concurrency} concurrent{mode}: "
            f"{self.intact} intact, {self.lost} lost, {self.mismatched} mismatched, "
            f"{self.duplicated} duplicated; {self.requests_per_s:.1f} req/s, "
            f"p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, max {self.max_ms:.0f} ms"
            + (f"; errors {self.errors}" if self.errors else "")
        )


async def _one(client: object, model: str, marker: str, stream: bool) -> str:
    messages = [{"role": "user", "content": marker}]
    if not stream:
        r = await client.chat.completions.create(model=model, messages=messages)  # type: ignore[attr-defined]
        return r.choices[0].message.content or ""
    parts = []
    chunks = await client.chat.completions.create(model=model, messages=messages, stream=True)  # type: ignore[attr-defined]
    async for chunk in chunks:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
    return "".join(parts)


async def run_load_async(
    base_url: str,
    model: str = "router-random-0.5",
    n: int = 200,
    concurrency: int = 32,
    *,
    api_key: str = "none",
    stream: bool = False,
    timeout: float = 60.0,
    prompts: list[str] | None = None,
) -> LoadResult:
    """Send `n` requests with at most `concurrency` in flight; check every answer."""
    from openai import AsyncOpenAI

    if n < 1 or concurrency < 1:
        raise ValueError("n and concurrency must be >= 1")
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
    run = uuid.uuid4().hex[:8]
    markers = [f"load-{run}-{i}" for i in range(n)]
    if prompts:
        markers = [f"{m}: {prompts[i % len(prompts)]}" for i, m in enumerate(markers)]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    answers: list[str | None] = [None] * n
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}

    async def task(i: int) -> None:
        async with gate:
            t0 = time.perf_counter()
            try:
                answers[i] = await _one(client, model, markers[i], stream)
            except Exception as e:  # counted by type: a load test reports, it does not stop
                key = f"{type(e).__name__}:{getattr(e, 'status_code', '')}"
                errors[key] += 1
                cause = e.__cause__ or e.__context__
                examples.setdefault(key, f"{e} (cause: {cause!r})"[:300])
                return
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(task(i) for i in range(n)))
    finally:
        await client.close()
    wall = time.perf_counter() - start
    answered = Counter(a.removeprefix("echo: ") for a in answers if a is not None)
    intact = sum(1 for m, a in zip(markers, answers, strict=True) if a == f"echo: {m}")
    lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
    return LoadResult(
        base_url=base_url,
        model=model,
        n=n,
        concurrency=concurrency,
        stream=stream,
        intact=intact,
        lost=sum(a is None for a in answers),
        mismatched=sum(1 for m, a in zip(markers, answers, strict=True) if a and a != f"echo: {m}"),
        duplicated=sum(c - 1 for c in answered.values() if c > 1),
        errors=dict(errors),
        error_examples=examples,
        wall_s=round(wall, 3),
        requests_per_s=round(n / wall, 2),
        p50_ms=round(float(np.percentile(lat, 50)), 1),
        p90_ms=round(float(np.percentile(lat, 90)), 1),
        p99_ms=round(float(np.percentile(lat, 99)), 1),
        max_ms=round(float(lat.max()), 1),
    )


def run_load(*args: object, **kwargs: object) -> LoadResult:
    """Synchronous wrapper of `run_load_async`."""
    return asyncio.run(run_load_async(*args, **kwargs))  # type: ignore[arg-type]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:6060/v1")
    p.add_argument("--model", default="router-random-0.5")
    p.add_argument("-n", type=int, default=200, help="number of requests")
    p.add_argument("-c", "--concurrency", type=int, default=32)
    p.add_argument("--api-key", default="none")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--out", default=None, help="write the result as JSON here")
    args = p.parse_args()
    result = run_load(
        args.base_url,
        args.model,
        args.n,
        args.concurrency,
        api_key=args.api_key,
        stream=args.stream,
    )
    print(result.summary())
    if args.out:
        Path(args.out).write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
