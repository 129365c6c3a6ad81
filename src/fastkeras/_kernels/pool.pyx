# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the pooling kernels (flat channels-last arrays, dict geometry)."""
from libc.stdint cimport int64_t, int32_t, uint8_t
from cython cimport floating
import numpy as np

from fastkeras._kernels.fk cimport *

include "_status.pxi"
include "_geom.pxi"


cdef inline int64_t x_size(fk_pool_geom *c) noexcept:
    """Elements of the pooling input (x, dx)."""
    return c.n * c.in_[0] * c.in_[1] * c.in_[2] * c.c


cdef inline int64_t y_size(fk_pool_geom *c) noexcept:
    """Elements of the pooling output (y, dy, argmax)."""
    return c.n * c.out[0] * c.out[1] * c.out[2] * c.c


def max_forward(dict geom, const floating[::1] x, floating[::1] y, uint8_t[::1] argmax,
                int n_threads=1):
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    expect(x.shape[0], nx, "x")
    expect(y.shape[0], ny, "y")
    if argmax is not None:
        expect(argmax.shape[0], ny, "argmax")
    if c.n == 0:
        return
    cdef uint8_t *ap = &argmax[0] if argmax is not None else NULL
    cdef int st
    with nogil:
        if floating is float:
            st = fk_maxpool_fwd_f32(&c, &x[0], &y[0], ap, n_threads)
        else:
            st = fk_maxpool_fwd_f64(&c, &x[0], &y[0], ap, n_threads)
    check_status(st, "fk_maxpool_fwd")


def max_backward(dict geom, const floating[::1] dy, const uint8_t[::1] argmax, floating[::1] dx,
                 int n_threads=1):
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    expect(dy.shape[0], ny, "dy")
    expect(argmax.shape[0], ny, "argmax")
    expect(dx.shape[0], nx, "dx")
    if c.n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_maxpool_bwd_f32(&c, &dy[0], &argmax[0], &dx[0], n_threads)
        else:
            st = fk_maxpool_bwd_f64(&c, &dy[0], &argmax[0], &dx[0], n_threads)
    check_status(st, "fk_maxpool_bwd")


def max_backward_recompute(dict geom, const floating[::1] x, const floating[::1] y,
                           const floating[::1] dy, floating[::1] dx, bint all_ties,
                           int n_threads=1):
    """dx from the forward input and output: every tied maximum (all_ties) or the first
    maximum of each window gets the window's gradient."""
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    expect(x.shape[0], nx, "x")
    expect(y.shape[0], ny, "y")
    expect(dy.shape[0], ny, "dy")
    expect(dx.shape[0], nx, "dx")
    if c.n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_maxpool_bwd_recompute_f32(&c, &x[0], &y[0], &dy[0], &dx[0], all_ties,
                                              n_threads)
        else:
            st = fk_maxpool_bwd_recompute_f64(&c, &x[0], &y[0], &dy[0], &dx[0], all_ties,
                                              n_threads)
    check_status(st, "fk_maxpool_bwd_recompute")


def avg_forward(dict geom, const floating[::1] x, floating[::1] y, int n_threads=1):
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    expect(x.shape[0], nx, "x")
    expect(y.shape[0], ny, "y")
    if c.n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_avgpool_fwd_f32(&c, &x[0], &y[0], n_threads)
        else:
            st = fk_avgpool_fwd_f64(&c, &x[0], &y[0], n_threads)
    check_status(st, "fk_avgpool_fwd")


def avg_backward(dict geom, const floating[::1] dy, floating[::1] dx, int n_threads=1):
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    expect(dy.shape[0], ny, "dy")
    expect(dx.shape[0], nx, "dx")
    if c.n == 0:
        return
    cdef int st
    with nogil:
        if floating is float:
            st = fk_avgpool_bwd_f32(&c, &dy[0], &dx[0], n_threads)
        else:
            st = fk_avgpool_bwd_f64(&c, &dy[0], &dx[0], n_threads)
    check_status(st, "fk_avgpool_bwd")


def cuda_pass(int which, dict geom, const floating[::1] inp, floating[::1] out,
              uint8_t[::1] argmax):
    """The CUDA twin of one pooling pass on host arrays (0 max forward, 1 max
    backward, 2 average forward, 3 average backward). RuntimeError without CUDA/device."""
    cdef fk_pool_geom c = make_pool_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c)
    if which not in (0, 1, 2, 3):
        raise ValueError(f"which must be 0, 1, 2 or 3, got {which}")
    cdef bint fwd = which == 0 or which == 2
    expect(inp.shape[0], nx if fwd else ny, "input")
    expect(out.shape[0], ny if fwd else nx, "out")
    if which == 1 and argmax is None:
        raise ValueError("argmax is required for the max backward pass")
    if argmax is not None:
        expect(argmax.shape[0], ny, "argmax")
    cdef uint8_t *ap = &argmax[0] if argmax is not None else NULL
    cdef int st
    with nogil:
        if floating is float:
            st = fk_pool_f32_cuda_host(which, &c, &inp[0], &out[0], ap)
        else:
            st = fk_pool_f64_cuda_host(which, &c, &inp[0], &out[0], ap)
    check_status(st, "fk_pool_cuda_host")
