"""Score a large prompt log with a router: parquet in, parquet out, memory flat in the input.

    routellm-py score --router mf --input prompts.parquet --output scores.parquet

Output: one row per input row, in input order: `row` (0-based input row index), the
`--keep` columns copied from the input, and `win_rate` = P(strong beats weak) (RouteLLM
§3). A row whose prompt is null or blank gets a null win rate; their count is reported.

Engines:
  local  batches of `batch_size` rows streamed from the input's row groups
         (`pyarrow.parquet.ParquetFile.iter_batches`); each scored batch is written as an
         atomic part file (tmp + rename) under `<output>.parts/`, so an interrupted run
         resumes at the first missing part. When every part exists they are concatenated
         into `<output>` (atomic too) and the parts are removed.
  ray    Ray Data: `read_parquet` -> `map_batches` with one router per actor (a fixed
         `ActorPoolStrategy` of `concurrency` actors) -> rows streamed back in input order
         to one parquet file (written atomically; a re-run starts over).
         `ray.init(address=...)` points it at a cluster; without an initialised Ray a
         local instance is started.

The two engines give the same rows (tested).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import atomic_path, atomic_write

ENGINES = ("local", "ray")
PARTS_SUFFIX = ".parts"
STATE_FILE = "job.json"


@dataclass(frozen=True)
class ScoreReport:
    """What a scoring job did: rows written, rows without prompt text, batches resumed."""

    output: Path
    n_rows: int
    n_blank: int
    n_resumed_batches: int


class RouterScorer:
    """Callable batch scorer holding one router: a Ray Data actor, or used in-process.

    `__call__` takes a pyarrow Table with the prompt column and returns a Table of the kept
    columns plus `win_rate` (null where the prompt is null or blank)."""

    def __init__(
        self, router: str, column: str, keep: Sequence[str] = (), params: dict | None = None
    ) -> None:
        from routellm_py.routers.base import load_router

        self.router = load_router(router, **(params or {}))
        self.column, self.keep = column, list(keep)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        prompts = batch[self.column].to_pylist()
        ok = [i for i, p in enumerate(prompts) if isinstance(p, str) and p.strip()]
        win = np.zeros(len(prompts))
        if ok:
            win[ok] = self.router.win_rate([prompts[i] for i in ok])
        blank = np.ones(len(prompts), dtype=bool)
        blank[ok] = False
        return batch.select(self.keep).append_column(
            "win_rate", pa.array(win, mask=blank, type=pa.float64())
        )


def score_parquet(
    router: str,
    input_path: str | Path,
    output_path: str | Path,
    column: str = "prompt",
    keep: Sequence[str] = (),
    batch_size: int = 1024,
    engine: str = "local",
    concurrency: int = 2,
    actor_cpus: float = 1.0,
    router_params: dict | None = None,
    progress: bool = True,
) -> ScoreReport:
    """Score every row of `input_path` and write `output_path` (see the module doc)."""
    import pyarrow.parquet as pq

    src, out = Path(input_path), Path(output_path)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if batch_size < 1 or concurrency < 1:
        raise ValueError(
            f"batch_size and concurrency must be >= 1, got {batch_size}, {concurrency}"
        )
    if not src.is_file():
        raise FileNotFoundError(f"input {src} does not exist")
    if out.resolve() == src.resolve():
        raise ValueError(f"--output {out} is the input file; choose another path")
    names = pq.ParquetFile(src).schema_arrow.names
    for c in [column, *keep]:
        if c not in names:
            raise ValueError(f"{src} has no column {c!r}; its columns: {names}")
    if "win_rate" in keep or "row" in keep:
        raise ValueError("--keep must not name 'row' or 'win_rate' (the output columns)")
    job = {
        "router": router,
        "params": router_params or {},
        "input": str(src.resolve()),
        "input_size": src.stat().st_size,
        "input_mtime_ns": src.stat().st_mtime_ns,
        "column": column,
        "keep": list(keep),
        "batch_size": batch_size,
    }
    scorer_args = (router, column, list(keep), router_params or {})
    if engine == "local":
        return _score_local(src, out, job, scorer_args, batch_size, progress)
    return _score_ray(src, out, scorer_args, batch_size, (concurrency, actor_cpus), progress)


# ---- local engine ----------------------------------------------------------------------
def _score_local(
    src: Path, out: Path, job: dict, scorer_args: tuple, batch_size: int, progress: bool
) -> ScoreReport:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    parts = out.with_name(out.name + PARTS_SUFFIX)
    _open_parts_dir(parts, job)
    pf = pq.ParquetFile(src)
    n_rows = pf.metadata.num_rows
    n_batches = -(-n_rows // batch_size)
    done = {k for k in range(n_batches) if _part(parts, k).is_file()}
    scorer: RouterScorer | None = None  # loaded only if something is left to score
    bar = tqdm(total=n_rows, desc=f"scoring ({scorer_args[0]})", unit="row", disable=not progress)
    n_blank, row = 0, 0
    for k, batch in enumerate(_batches(pf, [job["column"], *job["keep"]], batch_size)):
        if k not in done:
            scorer = scorer or RouterScorer(*scorer_args)
            table = _scored_table(scorer(batch), row)
            with atomic_path(_part(parts, k)) as tmp:
                pq.write_table(table, tmp)
        n_blank += _count_blank(batch[job["column"]].to_pylist())
        row += batch.num_rows
        bar.update(batch.num_rows)
    bar.close()
    first = pq.read_schema(_part(parts, 0)) if n_batches else _output_schema(pf, job["keep"])
    with atomic_path(out) as tmp_out, pq.ParquetWriter(tmp_out, first) as writer:
        for k in range(n_batches):
            writer.write_table(pq.read_table(_part(parts, k)))
        if not n_batches:
            writer.write_table(pa.Table.from_pylist([], schema=first))
    shutil.rmtree(parts)
    _report_blank(n_blank, job["column"])
    return ScoreReport(out, n_rows, n_blank, len(done))


def _open_parts_dir(parts: Path, job: dict) -> None:
    """Create `<output>.parts/` with the job description, or check an existing one is the
    same job (same router, input file, column and batch size) before resuming it."""
    state = parts / STATE_FILE
    if state.is_file():
        old = json.loads(state.read_text())
        if old != job:
            diff = sorted(k for k in job if old.get(k) != job[k])
            raise ValueError(
                f"{parts} holds an unfinished job that differs in {diff}; delete {parts} to "
                "start over, or rerun with the same arguments to resume it"
            )
        return
    parts.mkdir(parents=True, exist_ok=True)
    atomic_write(state, json.dumps(job, indent=1))


def _part(parts: Path, k: int) -> Path:
    return parts / f"part-{k:07d}.parquet"


def _batches(pf: Any, columns: list[str], batch_size: int) -> Iterator[Any]:
    """Batches of exactly `batch_size` rows (the last may be shorter), streamed from the
    row groups: pyarrow's own batches end at row-group edges, so they are re-cut here."""
    import pyarrow as pa

    pending: list[Any] = []
    size = 0
    for b in pf.iter_batches(batch_size=batch_size, columns=columns):
        pending.append(b)
        size += b.num_rows
        while size >= batch_size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, batch_size)
            rest = table.slice(batch_size)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield pa.Table.from_batches(pending)


def _scored_table(scored: Any, first_row: int) -> Any:
    """The scorer's Table with the global `row` index in front."""
    import pyarrow as pa

    rows = np.arange(first_row, first_row + scored.num_rows, dtype=np.int64)
    return scored.add_column(0, "row", pa.array(rows))


def _output_schema(pf: Any, keep: list[str]) -> Any:
    import pyarrow as pa

    fields = [pa.field("row", pa.int64())] + [pf.schema_arrow.field(k) for k in keep]
    return pa.schema([*fields, pa.field("win_rate", pa.float64())])


def _count_blank(prompts: list) -> int:
    return sum(1 for p in prompts if not (isinstance(p, str) and p.strip()))


def _report_blank(n_blank: int, column: str) -> None:
    if n_blank:
        print(
            f"score: {n_blank} rows have a null or blank {column!r}: their win_rate is null",
            file=sys.stderr,
        )


# ---- ray engine ------------------------------------------------------------------------
def _score_ray(
    src: Path, out: Path, scorer_args: tuple, batch_size: int, pool: tuple, progress: bool
) -> ScoreReport:
    """Ray Data `map_batches(RouterScorer, compute=ActorPoolStrategy(size=N), num_cpus=c)`:
    N actors, one router each, c CPUs reserved per actor. Leave CPUs free for the read
    tasks: N * c must be below the cluster's CPUs, or reading waits for CPUs the actors hold."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise ImportError("--engine ray needs Ray: pip install 'routellm-py[ray]'") from e
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    if not ray.is_initialized():
        ray.init()
    cpus = ray.cluster_resources().get("CPU", 0.0)
    if pool[0] * pool[1] >= cpus:
        raise ValueError(
            f"{pool[0]} actors x {pool[1]} CPUs would hold all {cpus:g} CPUs of the Ray cluster "
            "and starve the read tasks; lower --concurrency or --actor-cpus"
        )
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # output rows in input order
    column, keep = scorer_args[1], scorer_args[2]
    n_rows = pq.ParquetFile(src).metadata.num_rows
    # Ray splits the input into blocks (per file, and by size within a file); each block is
    # scored by one of the actors, so a small single file keeps only one actor busy
    ds = ray.data.read_parquet(str(src), columns=[column, *keep]).map_batches(
        RouterScorer,
        fn_constructor_args=scorer_args,
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=pool[0]),
        num_cpus=pool[1],
    )
    row, n_blank, writer = 0, 0, None
    bar = tqdm(
        total=n_rows, desc=f"scoring ({scorer_args[0]}, ray)", unit="row", disable=not progress
    )
    with atomic_path(out) as tmp_out:
        try:
            for batch in ds.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
                table = _scored_table(batch, row)
                n_blank += batch["win_rate"].null_count
                writer = writer or pq.ParquetWriter(tmp_out, table.schema)
                writer.write_table(table)
                row += table.num_rows
                bar.update(table.num_rows)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if writer is None:
            pq.write_table(_output_schema(pq.ParquetFile(src), keep).empty_table(), tmp_out)
    _report_blank(n_blank, column)
    return ScoreReport(out, row, n_blank, 0)
