"""`routellm-py score`: streamed, resumable batch scoring of a parquet prompt log, locally
and on Ray Data (a local Ray instance with 2 CPUs); both give the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from routellm_py.cli import main
from routellm_py.routers.base import register
from routellm_py.routers.random import RandomRouter
from routellm_py.scoring import score_parquet

N = 2300


def write_log(path: Path, n: int = N, row_group: int = 700) -> list:
    """A prompt log with an id column, one null and one blank prompt, small row groups."""
    prompts: list = [f"user question {i}: how do I do thing {i % 13}?" for i in range(n)]
    prompts[5], prompts[n * 53 // 100] = None, "   "
    table = pa.table({"id": [f"q{i}" for i in range(n)], "prompt": prompts, "other": range(n)})
    pq.write_table(table, path, row_group_size=row_group)
    return prompts


def expected(prompts: list) -> np.ndarray:
    ok = [i for i, p in enumerate(prompts) if isinstance(p, str) and p.strip()]
    want = np.full(len(prompts), np.nan)
    want[ok] = RandomRouter().win_rate([prompts[i] for i in ok])
    return want


def test_local_scores_every_row_in_order(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    prompts = write_log(tmp_path / "log.parquet")
    argv = ["score", "--router", "random", "--input", str(tmp_path / "log.parquet")]
    argv += ["--output", str(tmp_path / "scores.parquet"), "--keep", "id", "--batch-size", "500"]
    assert main(argv) == 0
    assert f"scored {N} rows" in capsys.readouterr().out
    out = pd.read_parquet(tmp_path / "scores.parquet")
    assert list(out.columns) == ["row", "id", "win_rate"]
    assert out["row"].tolist() == list(range(N))
    assert out["id"].tolist() == [f"q{i}" for i in range(N)]
    np.testing.assert_array_equal(out["win_rate"].to_numpy(), expected(prompts))
    assert out["win_rate"].isna().sum() == 2
    assert not (tmp_path / "scores.parquet.parts").exists()


@register("_interrupting")
class InterruptingRouter(RandomRouter):
    """RandomRouter that raises KeyboardInterrupt on its `stop_at`-th batch (once)."""

    trainable = False
    calls = 0
    stop_at: int | None = 3

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        type(self).calls += 1
        if type(self).calls == type(self).stop_at:
            type(self).stop_at = None
            raise KeyboardInterrupt
        return super()._win_rate(prompts)


def test_interrupted_run_resumes_from_part_files(tmp_path: Path) -> None:
    prompts = write_log(tmp_path / "log.parquet")
    out = tmp_path / "scores.parquet"
    args = ("_interrupting", tmp_path / "log.parquet", out)
    with pytest.raises(KeyboardInterrupt):
        score_parquet(*args, batch_size=500, progress=False)
    parts = sorted((tmp_path / "scores.parquet.parts").glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-0000000.parquet", "part-0000001.parquet"]
    assert not out.exists()
    with pytest.raises(ValueError, match=r"differs in \['batch_size'\]"):
        score_parquet(*args, batch_size=400, progress=False)
    InterruptingRouter.calls = 0
    rep = score_parquet(*args, batch_size=500, progress=False)
    assert rep.n_resumed_batches == 2 and InterruptingRouter.calls == 3  # batches 2, 3, 4
    got = pd.read_parquet(out)
    np.testing.assert_array_equal(got["win_rate"].to_numpy(), expected(prompts))
    assert got["row"].tolist() == list(range(N))


def test_bad_input_names_the_problem(tmp_path: Path) -> None:
    write_log(tmp_path / "log.parquet", n=10)
    with pytest.raises(ValueError, match=r"no column 'text'; its columns: \['id', 'prompt'"):
        score_parquet("random", tmp_path / "log.parquet", tmp_path / "o.parquet", column="text")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        score_parquet("random", tmp_path / "nope.parquet", tmp_path / "o.parquet")


@pytest.mark.slow
def test_memory_is_flat_in_input_size(tmp_path: Path) -> None:
    """Peak RSS of a scoring process barely grows from 20k to 400k rows of ~400-char prompts
    (~160 MB of prompt text when decoded)."""
    peaks = []
    for n in (20_000, 400_000):
        path = tmp_path / f"log{n}.parquet"
        text = pa.array([f"{i} " + "please summarise this paragraph " * 12 for i in range(n)])
        pq.write_table(pa.table({"prompt": text}), path, row_group_size=10_000)
        # VmHWM: the peak RSS of this process image (ru_maxrss would include the forked
        # test process's own peak, which Linux carries across exec)
        script = (
            "import re\n"
            "from routellm_py.scoring import score_parquet\n"
            f"score_parquet('random', {str(path)!r}, {str(path) + '.out'!r}, progress=False)\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
        )
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        peaks.append(int(run.stdout.split()[-1]) / 1024)  # MiB
        assert pq.ParquetFile(str(path) + ".out").metadata.num_rows == n
    assert peaks[1] - peaks[0] < 60, f"peak RSS {peaks[0]:.0f} MiB -> {peaks[1]:.0f} MiB"


@pytest.mark.slow
def test_ray_engine_equals_local_row_for_row(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    write_log(tmp_path / "log.parquet")
    local = score_parquet(
        "random", tmp_path / "log.parquet", tmp_path / "local.parquet", keep=["id"], progress=False
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rep = score_parquet(
            "random",
            tmp_path / "log.parquet",
            tmp_path / "ray.parquet",
            keep=["id"],
            batch_size=300,
            engine="ray",
            concurrency=2,
            actor_cpus=0.5,  # two actors on one CPU, one CPU left for the read tasks
            progress=False,
        )
    finally:
        ray.shutdown()
    assert rep.n_rows == local.n_rows == N and rep.n_blank == local.n_blank == 2
    a, b = pq.read_table(tmp_path / "local.parquet"), pq.read_table(tmp_path / "ray.parquet")
    assert a.schema == b.schema
    assert a.equals(b)
    assert json.dumps(a.slice(0, 3).to_pylist()) == json.dumps(b.slice(0, 3).to_pylist())
