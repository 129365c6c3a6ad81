"""The large-buffer cache behind fastkeras' big outputs."""
import threading

import numpy as np
import pytest

import fastkeras as fk
from fastkeras._kernels import _alloc
from fastkeras.ops import buffers


def test_reused_buffers_are_independent_and_correct():
    fk.config.set_buffer_cache_limit(512 << 20)
    a = buffers.empty((3 << 20,), np.float32)  # 12 MB: cached size
    a.fill(1.0)
    addr = a.ctypes.data
    del a
    assert _alloc.cached_bytes() >= 12 << 20
    b = buffers.empty((3 << 20,), np.float32)
    assert b.ctypes.data == addr  # the same block came back
    c = buffers.empty((3 << 20,), np.float32)
    assert c.ctypes.data != b.ctypes.data
    b.fill(2.0)
    c.fill(3.0)
    assert b[0] == 2.0 and c[-1] == 3.0
    with buffers.cached():
        z = np.zeros((3 << 20,), np.float32)  # calloc through the cache is zeroed
    assert not z.any()


def test_small_arrays_bypass_the_cache():
    before = _alloc.cached_bytes()
    x = buffers.empty((100,), np.float64)
    del x
    assert _alloc.cached_bytes() == before


def test_limit_zero_disables_and_frees():
    fk.config.set_buffer_cache_limit(512 << 20)
    a = buffers.empty((3 << 20,), np.float32)
    del a
    assert _alloc.cached_bytes() > 0
    fk.config.set_buffer_cache_limit(0)
    assert _alloc.cached_bytes() == 0
    a = buffers.empty((3 << 20,), np.float32)
    del a
    assert _alloc.cached_bytes() == 0
    fk.config.set_buffer_cache_limit(512 << 20)
    assert fk.config.get_buffer_cache_limit() == 512 << 20
    with pytest.raises(ValueError, match="nbytes must be an int >= 0"):
        fk.config.set_buffer_cache_limit(-1)


def test_threads_allocating_and_freeing_concurrently():
    errors = []

    def work(seed):
        try:
            for i in range(30):
                a = buffers.empty((2 << 20,), np.float32)
                a.fill(seed + i)
                assert np.all(a[::65536] == seed + i)
                del a
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k * 100,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_outputs_outside_fastkeras_use_numpys_allocator():
    a = np.empty((3 << 20,), np.float32)
    from numpy._core.multiarray import get_handler_name

    assert get_handler_name(a) != "fastkeras_buffer_cache"
    assert get_handler_name(buffers.empty((3 << 20,), np.float32)) == "fastkeras_buffer_cache"
