"""Large output buffers: allocated through fastkeras' NumPy buffer cache.

Arrays of at least 8 MB that fastkeras ops return (convolution outputs and
gradients, softmax gradients, pooling gradients) come from a small cache of
freed buffers of the same size, so a training loop does not pay the kernel's
page faults and zeroing for each fresh 30 MB array (glibc hands blocks over
32 MB back to the system). ``fastkeras.config.set_buffer_cache_limit`` bounds
the memory it keeps (512 MB by default, 0 disables it).
"""
import numpy as np

from fastkeras._kernels import _alloc

CACHE_MIN_BYTES = 8 << 20


def empty(shape, dtype):
    """np.empty, through the buffer cache for large arrays."""
    dtype = np.dtype(dtype)
    n = 1
    for d in shape:
        n *= int(d)
    if n * dtype.itemsize < CACHE_MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    with _alloc.cached_buffers():
        return np.empty(shape, dtype=dtype)


def cached():
    """Context manager: every NumPy allocation inside may use the cache."""
    return _alloc.cached_buffers()
