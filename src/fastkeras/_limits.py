"""Size checks made before anything is allocated: a shape from a file or a config whose
element count overflows, or whose bytes exceed this machine's memory, is refused with a
ValueError naming what asked for it (never a MemoryError or an OOM kill midway)."""
import os

import numpy as np

__all__ = ["physical_memory", "check_allocation"]


def physical_memory():
    """Bytes of RAM on this machine (a 1 TiB stand-in where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def check_allocation(shape, dtype, what):
    """Refuse `shape` of `dtype` for `what` if it is negative, or larger than memory."""
    count = 1
    for d in shape:
        if d is None or int(d) < 0:
            raise ValueError(f"{what}: the shape {tuple(shape)} has a negative or unknown size")
        count *= int(d)  # Python integers: no overflow
    nbytes = count * np.dtype(dtype).itemsize
    if nbytes > physical_memory():
        raise ValueError(f"{what}: the shape {tuple(shape)} needs {nbytes:,} bytes, more than "
                         f"this machine's {physical_memory():,} bytes of memory")
