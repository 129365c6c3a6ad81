# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the convolution kernels.

Arrays travel flat (C-contiguous 1-D views of the channels-last tensors); the
geometry is a dict built and validated by fastkeras.ops.convolution. Sizes are
re-checked here against the geometry before the GIL is released.
"""
from libc.stdint cimport int64_t
from cython cimport floating
import numpy as np

from fastkeras._kernels.fk cimport *

include "_status.pxi"
include "_geom.pxi"


cdef inline int64_t x_size(fk_conv_geom *c) noexcept:
    """Elements of the convolution input (x, dx)."""
    return c.n * c.in_[0] * c.in_[1] * c.in_[2] * c.cin


cdef inline int64_t y_size(fk_conv_geom *c) noexcept:
    """Elements of the convolution output (y, dy)."""
    return c.n * c.out[0] * c.out[1] * c.out[2] * c.cout


cdef inline int64_t w_size(fk_conv_geom *c) noexcept:
    """Elements of the kernel (w, dw)."""
    return c.k[0] * c.k[1] * c.k[2] * (c.cin // c.groups) * c.cout


cdef object workspace(fk_conv_geom *c, int elem_size, int n_threads):
    cdef int64_t nbytes = fk_conv_workspace_size(c, elem_size, n_threads)
    if nbytes < 0:
        raise ValueError("fk_conv_workspace_size: invalid geometry")
    return np.empty(max(nbytes, 1), dtype=np.uint8)


def blas_name():
    return fk_blas_name().decode()


def forward(dict geom, const floating[::1] x, const floating[::1] w, const floating[::1] bias,
            floating[::1] y, int n_threads=1):
    """y = conv(x, w) (+ bias). All arrays flat, channels-last."""
    cdef fk_conv_geom c = make_conv_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c), nw = w_size(&c)
    expect(x.shape[0], nx, "x")
    expect(w.shape[0], nw, "kernel")
    expect(y.shape[0], ny, "y")
    if bias is not None:
        expect(bias.shape[0], c.cout, "bias")
    if c.n == 0:
        return
    ws = workspace(&c, sizeof(floating), n_threads)
    cdef unsigned char[::1] wsv = ws
    cdef const floating *bp = &bias[0] if bias is not None else NULL
    cdef int st
    with nogil:
        if floating is float:
            st = fk_conv_fwd_f32(&c, &x[0], &w[0], bp, &y[0], &wsv[0], wsv.shape[0], n_threads)
        else:
            st = fk_conv_fwd_f64(&c, &x[0], &w[0], bp, &y[0], &wsv[0], wsv.shape[0], n_threads)
    check_status(st, "fk_conv_fwd")


def backward_data(dict geom, const floating[::1] dy, const floating[::1] w, floating[::1] dx,
                  int n_threads=1):
    """dx = d conv / d x applied to dy (overwritten)."""
    cdef fk_conv_geom c = make_conv_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c), nw = w_size(&c)
    expect(dy.shape[0], ny, "dy")
    expect(w.shape[0], nw, "kernel")
    expect(dx.shape[0], nx, "dx")
    if c.n == 0:
        return
    ws = workspace(&c, sizeof(floating), n_threads)
    cdef unsigned char[::1] wsv = ws
    cdef int st
    with nogil:
        if floating is float:
            st = fk_conv_bwd_data_f32(&c, &dy[0], &w[0], &dx[0], &wsv[0], wsv.shape[0], n_threads)
        else:
            st = fk_conv_bwd_data_f64(&c, &dy[0], &w[0], &dx[0], &wsv[0], wsv.shape[0], n_threads)
    check_status(st, "fk_conv_bwd_data")


def backward_filter(dict geom, const floating[::1] x, const floating[::1] dy, floating[::1] dw,
                    floating[::1] db, int n_threads=1):
    """dw (and db = sum of dy, when given) from x and dy (overwritten)."""
    cdef fk_conv_geom c = make_conv_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c), nw = w_size(&c)
    expect(x.shape[0], nx, "x")
    expect(dy.shape[0], ny, "dy")
    expect(dw.shape[0], nw, "dkernel")
    if db is not None:
        expect(db.shape[0], c.cout, "dbias")
    cdef floating *dbp = &db[0] if db is not None else NULL
    if c.n == 0:
        dw[:] = 0
        if db is not None:
            db[:] = 0
        return
    ws = workspace(&c, sizeof(floating), n_threads)
    cdef unsigned char[::1] wsv = ws
    cdef int st
    with nogil:
        if floating is float:
            st = fk_conv_bwd_filter_f32(&c, &x[0], &dy[0], &dw[0], dbp, &wsv[0], wsv.shape[0],
                                        n_threads)
        else:
            st = fk_conv_bwd_filter_f64(&c, &x[0], &dy[0], &dw[0], dbp, &wsv[0], wsv.shape[0],
                                        n_threads)
    check_status(st, "fk_conv_bwd_filter")


def cuda_pass(int which, dict geom, const floating[::1] a, const floating[::1] b,
              const floating[::1] bias, floating[::1] out, floating[::1] out2):
    """The CUDA twin of one pass on host arrays (0 forward, 1 backward data, 2
    backward filter; out2 = dbias for pass 2). RuntimeError without CUDA/device."""
    cdef fk_conv_geom c = make_conv_geom(geom)
    cdef int64_t nx = x_size(&c), ny = y_size(&c), nw = w_size(&c)
    if which not in (0, 1, 2):
        raise ValueError(f"which must be 0, 1 or 2, got {which}")
    expect(a.shape[0], ny if which == 1 else nx, "a")
    expect(b.shape[0], ny if which == 2 else nw, "b")
    expect(out.shape[0], (ny, nx, nw)[which], "out")
    if bias is not None:
        expect(bias.shape[0], c.cout, "bias")
    if out2 is not None:
        expect(out2.shape[0], c.cout, "out2")
    cdef const floating *bp = &bias[0] if bias is not None else NULL
    cdef floating *o2 = &out2[0] if out2 is not None else NULL
    cdef int st
    with nogil:
        if floating is float:
            st = fk_conv_f32_cuda_host(which, &c, &a[0], &b[0], bp, &out[0], o2)
        else:
            st = fk_conv_f64_cuda_host(which, &c, &a[0], &b[0], bp, &out[0], o2)
    check_status(st, "fk_conv_cuda_host")

