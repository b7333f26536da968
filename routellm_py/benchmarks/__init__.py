"""Benchmark harness: evaluate any registered router on MT-Bench, MMLU and GSM8K.

`run_benchmark` (harness), `score_prompts` (cached batched scoring), `measure_overhead`
(latency/throughput/memory) and `plot_curves`. See benchmarks/README.md.
"""

from routellm_py.benchmarks.harness import BenchmarkResult, format_result, run_benchmark
from routellm_py.benchmarks.overhead import Overhead, measure_overhead
from routellm_py.benchmarks.scores import score_prompts

__all__ = [
    "BenchmarkResult",
    "Overhead",
    "format_result",
    "measure_overhead",
    "run_benchmark",
    "score_prompts",
]
