"""The C core's status codes and the typed exceptions they become.

Every C entry point returns an ``fk_status`` (csrc/include/fastkeras/fk_status.h);
the Cython bridges turn a non-zero one into a ``KernelError`` carrying ``.status`` (a
``Status``) and ``.function`` (the C function), so callers branch on the status and never
on the message. Each subclass also derives from the built-in exception callers already
catch: invalid shapes, labels and arguments are ``ValueError``, a failed allocation is
``MemoryError``, device and build problems are ``RuntimeError``.
"""
from enum import IntEnum

__all__ = ["Status", "KernelError", "KernelValueError", "KernelMemoryError",
           "KernelRuntimeError", "raise_for_status"]


class Status(IntEnum):
    """fk_status, value for value."""
    OK = 0
    BAD_SHAPE = -1      # a size is negative, zero where it must not be, or overflows
    NULL = -2           # a required pointer is NULL
    LABEL = -3          # an integer label is outside [0, classes)
    BAD_ARG = -4        # an option is out of range (label_smoothing, epsilon, NaN score...)
    NO_MEMORY = -5      # an allocation failed
    NO_DEVICE = -6      # CUDA requested but no device is present
    CUDA = -7           # a CUDA runtime call failed
    NOT_BUILT = -8      # the feature was not compiled into this build
    HOST_POINTER = -9   # a pointer given as device memory is host memory


class KernelError(Exception):
    """A C core call that returned a non-zero status."""

    def __init__(self, status, function, message):
        super().__init__(message)
        self.status = status
        self.function = function


class KernelValueError(KernelError, ValueError):
    """A shape, label or argument the C core refused."""


class KernelMemoryError(KernelError, MemoryError):
    """The C core could not allocate its workspace."""


class KernelRuntimeError(KernelError, RuntimeError):
    """No device, a CUDA runtime failure, or a feature left out of this build."""


_RUNTIME = frozenset({Status.NO_DEVICE, Status.CUDA, Status.NOT_BUILT})


def raise_for_status(code, function, description, detail=""):
    """Raise the KernelError for a non-zero status ``code`` returned by ``function``;
    ``description`` is the C core's text for the status, ``detail`` what the CUDA runtime
    said (if anything)."""
    try:
        status = Status(code)
    except ValueError:  # a code this module does not know: still a typed error
        raise KernelRuntimeError(code, function,
                                 f"{function}: {description} (status {code})") from None
    if status is Status.OK:
        return
    message = f"{function}: {description} (status {code})"
    if detail:
        message += f": {detail}"
    if status is Status.NO_MEMORY:
        raise KernelMemoryError(status, function, message)
    if status in _RUNTIME:
        raise KernelRuntimeError(status, function, message)
    raise KernelValueError(status, function, message)
