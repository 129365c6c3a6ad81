"""Size checks made before anything is allocated: a shape from a file or a config whose
element count overflows, or whose bytes exceed this machine's memory, is refused with a
ValueError naming what asked for it (never a MemoryError or an OOM kill midway).

While a model is built from a file (``loading_budget``), the same checks also hold every
allocation to the load's budget: the weights a config declares, together, and every
temporary array (shape inference, constant ops) alone, may not exceed it. Weights created
then are zeros (lazily mapped pages) instead of their initializers' values: the file is
about to overwrite them, and an initializer would touch every byte."""
import contextlib
import contextvars
import os

import numpy as np

__all__ = ["physical_memory", "available_memory", "check_allocation", "check_result",
           "check_broadcast", "LoadBudget", "loading_budget", "active_load_budget",
           "set_load_budget", "get_load_budget"]

_DEFAULT_FRACTION = 0.5
_budget_setting = None  # bytes, or None for the default
_active = contextvars.ContextVar("fastkeras_load_budget", default=None)


def physical_memory():
    """Bytes of RAM on this machine (a 1 TiB stand-in where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def available_memory():
    """Bytes of memory available now (MemAvailable on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory()


def set_load_budget(nbytes):
    """The most bytes loading one model may allocate for its weights (and any temporary
    array while it is built); None restores the default, half the memory available at
    the time of the load."""
    global _budget_setting
    if nbytes is not None and (isinstance(nbytes, bool) or int(nbytes) <= 0):
        raise ValueError(f"`nbytes` must be a positive number of bytes or None, got {nbytes!r}")
    _budget_setting = None if nbytes is None else int(nbytes)


def get_load_budget():
    """The budget a load starting now gets, in bytes."""
    if _budget_setting is not None:
        return _budget_setting
    return int(available_memory() * _DEFAULT_FRACTION)


class LoadBudget:
    """Bytes of weights declared so far by the model being loaded, against a limit."""

    def __init__(self, limit):
        self.limit = int(limit)
        self.used = 0

    def _refuse(self, nbytes, what, kind):
        raise ValueError(f"{what}: {nbytes:,} bytes {kind} exceed the load budget of "
                         f"{self.limit:,} bytes ({self.used:,} already declared by the model's "
                         "weights); fastkeras.saving.set_load_budget raises it")

    def charge(self, nbytes, what):
        """Count a weight's bytes, refusing the one that would pass the limit."""
        if self.used + nbytes > self.limit:
            self._refuse(nbytes, what, "of weights")
        self.used += nbytes

    def check_temporary(self, nbytes, what):
        if nbytes > self.limit - self.used:
            self._refuse(nbytes, what, "for a temporary array")


@contextlib.contextmanager
def loading_budget(limit=None):
    """Within the block (one thread / task), models being built count against a budget."""
    budget = LoadBudget(get_load_budget() if limit is None else limit)
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def active_load_budget():
    """The budget of the load in progress in this thread, or None."""
    return _active.get()


def _nbytes(shape, dtype, what):
    count = 1
    for d in shape:
        if d is None or int(d) < 0:
            raise ValueError(f"{what}: the shape {tuple(shape)} has a negative or unknown size")
        count *= int(d)  # Python integers: no overflow
    return count * np.dtype(dtype).itemsize


def check_allocation(shape, dtype, what, copies=1):
    """Refuse `copies` arrays of `shape` and `dtype` for `what` if the shape is negative, or
    they together need more than this machine's memory (or the load budget, during a load)."""
    nbytes = _nbytes(shape, dtype, what) * copies
    if nbytes > physical_memory():
        arrays = f"{copies} arrays of shape" if copies > 1 else "the shape"
        raise ValueError(f"{what}: {arrays} {tuple(shape)} need {nbytes:,} bytes, more than "
                         f"this machine's {physical_memory():,} bytes of memory")
    budget = _active.get()
    if budget is not None:
        budget.check_temporary(nbytes, what)
    return nbytes


_SMALL_RESULT = 1 << 24  # elements: outside a load, results up to this size skip the checks


def check_result(bound, describe, what):
    """check_allocation for an op's result whose element count is at most `bound`
    (cheap to know: a product of operand sizes); `describe()` gives its exact shape and
    dtype, and is called only when the check is made: always during a load, else when
    `bound` is large (ops on small arrays stay as fast as they were)."""
    if bound <= _SMALL_RESULT and _active.get() is None:
        return
    shape, dtype = describe()
    check_allocation(shape, dtype, what)


def check_broadcast(what, *operands):
    """check_allocation for an element-wise result: numpy broadcasts (N, 1) with (1, N)
    to (N, N), far more than either operand holds (a config can ask for that with a few
    bytes). Shapes numpy cannot broadcast are left to the op's own error."""
    bound = 1
    for x in operands:
        bound *= getattr(x, "size", 1)
    if bound <= _SMALL_RESULT and _active.get() is None:
        return
    shapes = [np.shape(x) for x in operands]
    if all(s == shapes[0] for s in shapes):
        return  # no larger than an operand
    try:
        shape = np.broadcast_shapes(*shapes)
        dtype = np.result_type(*operands)
    except (ValueError, TypeError):
        return
    check_allocation(shape, dtype, what)
