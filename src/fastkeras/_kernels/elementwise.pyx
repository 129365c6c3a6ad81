# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the element-wise kernels: erf, and the activations (activation.h).

Arrays are 1-D, contiguous, of one float dtype and of one size; checked here
before the GIL is released."""
from libc.stdint cimport int64_t
from cython cimport floating

from fastkeras._kernels.fk cimport *

include "_status.pxi"


def erf(const floating[::1] x, floating[::1] out, int n_threads=1):
    cdef int64_t n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"out has {out.shape[0]} elements, expected {n}")
    if n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_erf_f32(n, &x[0], &out[0], n_threads)
        else:
            st = fk_erf_f64(n, &x[0], &out[0], n_threads)
    check_status(st, "fk_erf")


KINDS = {name: i for i, name in enumerate((
    "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "softplus", "softsign",
    "silu", "hard_sigmoid", "hard_silu", "mish", "log_sigmoid", "gelu_tanh", "gelu_erf"))}


def act_forward(int kind, const floating[::1] x, floating[::1] y, double alpha=0.0,
                int n_threads=1):
    cdef int64_t n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} elements, expected {n}")
    if n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_act_fwd_f32(kind, n, &x[0], &y[0], alpha, n_threads)
        else:
            st = fk_act_fwd_f64(kind, n, &x[0], &y[0], alpha, n_threads)
    check_status(st, "fk_act_fwd")


def act_backward(int kind, const floating[::1] x, const floating[::1] y,
                 const floating[::1] g, floating[::1] dx, double alpha=0.0, int n_threads=1):
    """dx = g * f'(x); y (f(x)) may be None."""
    cdef int64_t n = x.shape[0]
    if g.shape[0] != n or dx.shape[0] != n or (y is not None and y.shape[0] != n):
        raise ValueError(f"x, y, g and dx must all have {n} elements")
    if n == 0:
        return
    cdef const floating *yp = &y[0] if y is not None else NULL
    cdef int st
    with nogil:
        if floating is float:
            st = fk_act_bwd_f32(kind, n, &x[0], yp, &g[0], &dx[0], alpha, n_threads)
        else:
            st = fk_act_bwd_f64(kind, n, &x[0], yp, &g[0], &dx[0], alpha, n_threads)
    check_status(st, "fk_act_bwd")
