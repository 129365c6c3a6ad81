"""fastkeras.bench: the benchmark runner users and CI-free reports share.

``python -m fastkeras.bench`` (or ``fastkeras-bench``) measures each workload
with NumPy, TensorFlow and fastkeras side by side in one run and prints a
table of medians, ratios and the fraction of this machine's memory-bandwidth
bound. See ``python -m fastkeras.bench --help``.
"""
from fastkeras.bench.runner import main, run_benchmarks

__all__ = ["main", "run_benchmarks"]
