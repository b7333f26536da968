"""Write a parquet prompt log for `routellm-py score` throughput runs: the first N bundled
training prompts (real user prompts, deduplicated), with an id column.

    python benchmarks/ecosystem/make_prompt_log.py --n 1000 --out /tmp/prompts.parquet
"""

from __future__ import annotations

import argparse

import pyarrow as pa
import pyarrow.parquet as pq

from routellm_py.data.sources import bundled_prompts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    prompts = list(dict.fromkeys(bundled_prompts(args.data_dir)))[: args.n]
    ids = [f"p{i}" for i in range(len(prompts))]
    pq.write_table(pa.table({"id": ids, "prompt": prompts}), args.out, row_group_size=256)
    print(f"wrote {len(prompts)} prompts to {args.out}")


if __name__ == "__main__":
    main()
