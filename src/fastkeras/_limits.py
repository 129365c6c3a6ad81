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


def check_allocation(shape, dtype, what, copies=1):
    """Refuse `copies` arrays of `shape` and `dtype` for `what` if the shape is negative, or
    they together need more than this machine's memory."""
    count = 1
    for d in shape:
        if d is None or int(d) < 0:
            raise ValueError(f"{what}: the shape {tuple(shape)} has a negative or unknown size")
        count *= int(d)  # Python integers: no overflow
    nbytes = count * np.dtype(dtype).itemsize * copies
    if nbytes > physical_memory():
        arrays = f"{copies} arrays of shape" if copies > 1 else "the shape"
        raise ValueError(f"{what}: {arrays} {tuple(shape)} need {nbytes:,} bytes, more than "
                         f"this machine's {physical_memory():,} bytes of memory")
