"""pytest-benchmark view of the same workloads (warm; the runner also does cold).

    pytest bench --benchmark-enable --benchmark-group-by=group

Not part of the test suite (testpaths = tests) and never asserts on time.
"""
import pytest

from fastkeras.bench.workloads import WORKLOADS

_IMPLS = {w.name: w.make() for w in WORKLOADS}
_CASES = [(w, k) for w, impls in _IMPLS.items() for k in impls]


@pytest.mark.parametrize("workload,impl", _CASES, ids=[f"{k}" for _, k in _CASES])
def test_workload(benchmark, workload, impl):
    benchmark.group = workload
    benchmark(_IMPLS[workload][impl])
