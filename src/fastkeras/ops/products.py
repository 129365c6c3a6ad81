"""Matrix products on the BLAS fastkeras controls (numpy arrays in, a numpy array out).

``matmul_array(a, b)`` has np.matmul's semantics (1-D operands, broadcast batch
dimensions, empty dimensions). Float operands (result float32 or float64) run on the C
core's GEMM (csrc/gemm.c: scipy-openblas32, single-threaded calls on up to
``fastkeras.config.get_num_threads()`` threads); anything else (integers, bools,
complex, sizes past 32-bit BLAS) goes to np.matmul. Shape errors are ValueErrors in
np.matmul's words, naming the op that asked.
"""
import numpy as np

from fastkeras import config
from fastkeras._kernels import gemm as _gemm

__all__ = ["matmul_array"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _shape_error(name, a, b):
    if a.ndim == 0 or b.ndim == 0:
        which = 0 if a.ndim == 0 else 1
        return ValueError(f"{name}: Input operand {which} does not have enough dimensions "
                          f"(matmul needs 1 or more; shapes {a.shape} and {b.shape})")
    ka, kb = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        return ValueError(f"{name}: Input operand 1 has a mismatch in its core dimension 0 "
                          f"(size {kb} is different from {ka}; shapes {a.shape} and "
                          f"{b.shape})")
    return None


def matmul_array(a, b, name="ops.matmul", out=None):
    """np.matmul(a, b) on fastkeras' BLAS for float32 / float64 results; into `out` when given
    (np.matmul's out: the result's exact shape and dtype; written in place when it is also
    C-contiguous and shares no memory with an operand, else through a temporary)."""
    a, b = np.asarray(a), np.asarray(b)
    err = _shape_error(name, a, b)
    if err is not None:
        raise err
    dt = np.result_type(a, b)
    if out is not None:
        return _matmul_into(a, b, name, out, dt)
    if dt not in _FLOATS or a.dtype.kind != "f" or b.dtype.kind != "f":
        try:
            return np.matmul(a, b)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    try:
        np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"{name}: the batch dimensions of shapes {a.shape} and {b.shape} "
                         f"do not broadcast (operands could not be broadcast together)") from None
    out = _gemm.matmul(a2.astype(dt, copy=False), b2.astype(dt, copy=False),
                       config.get_num_threads())
    if out is None:  # a size past 32-bit BLAS
        return np.matmul(a, b)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


def _matmul_into(a, b, name, out, dt):
    """matmul_array(a, b) written into `out` (checked as np.matmul checks it)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: out must be a NumPy array, got {type(out).__name__}")
    ta = a[None, :] if a.ndim == 1 else a
    tb = b[:, None] if b.ndim == 1 else b
    shape = np.broadcast_shapes(ta.shape[:-2], tb.shape[:-2]) + (ta.shape[-2], tb.shape[-1])
    if a.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if b.ndim == 1:
        shape = shape[:-1]
    if out.shape != shape:
        raise ValueError(f"{name}: out has shape {out.shape}, expected {shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")
    direct = (out.dtype == dt and dt in _FLOATS and a.dtype.kind == "f" and b.dtype.kind == "f"
              and a.ndim >= 2 and b.ndim >= 2 and out.flags.c_contiguous
              and not np.may_share_memory(out, a) and not np.may_share_memory(out, b))
    if direct:
        got = _gemm.matmul(a.astype(dt, copy=False), b.astype(dt, copy=False),
                           config.get_num_threads(), out=out)
        if got is not None:
            return out
    out[...] = matmul_array(a, b, name)
    return out
