"""One serving process, timed whole from outside: load a router, route N unseen prompts one
at a time, exit. Start-up (imports, model load) is included, as a real server pays it.

    ROUTELLM_PY_ENCODER_BACKEND=onnx-int8 .venv/bin/python benchmarks/routing_cost/route_once.py
    ROUTELLM_PY_ENCODER_BACKEND=torch     .venv/bin/python benchmarks/routing_cost/route_once.py

Time both with e.g. `/usr/bin/time -v` (wall clock, peak RSS) or any whole-process timer.
"""

from __future__ import annotations

import argparse
import sys

from routellm_py import load_router
from routellm_py.data.benchmarks import load_benchmark


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--router", default="mf")
    ap.add_argument("-n", type=int, default=50, help="unseen prompts routed one at a time")
    ap.add_argument("--offset", type=int, default=0, help="where in MMLU the prompts start")
    args = ap.parse_args()
    prompts = list(dict.fromkeys(load_benchmark("mmlu").prompts))
    router = load_router(args.router)
    strong = sum(
        router.route(p, 0.5) == "strong" for p in prompts[args.offset : args.offset + args.n]
    )
    print(f"{args.router}: {strong} of {args.n} strong", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
