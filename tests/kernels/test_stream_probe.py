"""fk_stream_pass, the benchmark's bandwidth yardstick: what it reads and writes, its
checksum, every thread count, and the refusals (before the GIL is released)."""
import numpy as np
import pytest

from fastkeras._kernels import _core


def _arrays(n, count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) for _ in range(count)]


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [1, 15, 64, 16384, 16385, 100_003])
def test_every_stream_is_read_updated_or_written_once(n, threads):
    read = _arrays(n, 2, seed=1)
    update = _arrays(n, 3, seed=2)
    write = _arrays(n, 1, seed=3)
    read0 = [a.copy() for a in read]
    update0 = [a.copy() for a in update]
    checksum = _core.stream_pass(read, update, write, threads)
    for a, a0 in zip(read, read0):  # read-only streams untouched
        np.testing.assert_array_equal(a, a0)
    for u, u0 in zip(update, update0):  # u = 0.5 u + 0.25, every element once
        np.testing.assert_array_equal(u, np.float32(0.5) * u0 + np.float32(0.25))
    for w in write:
        np.testing.assert_array_equal(w, np.full(n, 0.25, np.float32))
    # the checksum is the sum of every read element (float32 partial sums)
    assert checksum == pytest.approx(float(sum(a.astype(np.float64).sum() for a in read0)),
                                     rel=1e-4, abs=1e-2)


def test_one_kind_of_stream_alone():
    a = np.ones(1000, np.float32)
    assert _core.stream_pass([a], [], [], 2) == pytest.approx(1000.0)
    _core.stream_pass([], [a], [], 1)
    np.testing.assert_array_equal(a, np.full(1000, 0.75, np.float32))
    _core.stream_pass([], [], [a], 1)
    np.testing.assert_array_equal(a, np.full(1000, 0.25, np.float32))


def test_empty_arrays_do_nothing():
    assert _core.stream_pass([np.empty(0, np.float32)], [], [np.empty(0, np.float32)], 2) == 0.0


@pytest.mark.parametrize("bad, message", [
    (np.ones(10), r"ndarray float64 of shape \(10,\)"),
    (np.ones((2, 5), np.float32), r"float32 of shape \(2, 5\)"),
    (np.ones(20, np.float32)[::2], "not contiguous"),
    ([1.0] * 10, "got list"),
])
def test_refuses_arrays_that_are_not_contiguous_float32_vectors(bad, message):
    with pytest.raises(TypeError, match=r"stream_pass: update\[0\] must be a writeable "
                                        r"contiguous 1-D float32 array.*" + message):
        _core.stream_pass([np.ones(10, np.float32)], [bad], [], 1)


def test_refuses_read_only_lengths_and_thread_counts():
    ro = np.ones(10, np.float32)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match=r"read\[0\] .* got ndarray float32 of shape \(10,\), "
                                        "read-only"):
        _core.stream_pass([ro], [], [], 1)
    with pytest.raises(ValueError, match=r"write\[1\] has 9 elements, expected 10"):
        _core.stream_pass([np.ones(10, np.float32)], [],
                          [np.ones(10, np.float32), np.ones(9, np.float32)], 1)
    with pytest.raises(ValueError, match="at least one array"):
        _core.stream_pass([], [], [], 1)
    with pytest.raises(ValueError, match="n_threads must be >= 1, got 0"):
        _core.stream_pass([np.ones(10, np.float32)], [], [], 0)
