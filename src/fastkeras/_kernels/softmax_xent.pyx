# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the fused softmax cross-entropy kernels.

Callers (fastkeras.ops.nn) pass C-contiguous 2-D arrays of one float dtype,
int64 labels, and already-validated options; this layer re-checks shapes
cheaply, releases the GIL for the kernel and turns a status into an exception.
"""
from libc.stdint cimport int64_t
from cython cimport floating
import numpy as np

from fastkeras._kernels.fk cimport *

include "_status.pxi"


include "_xent_opts.pxi"


cdef inline void check_rows(Py_ssize_t rows, Py_ssize_t n, str what) except *:
    if rows != n:
        raise ValueError(f"{what} has {rows} rows, expected {n}")


def sparse(const floating[:, ::1] x, const int64_t[::1] labels, const floating[::1] gscale=None, *,
           bint want_loss=True, bint want_grad=False, bint from_logits=True,
           double label_smoothing=0.0, double epsilon=1e-7, object ignore_class=None,
           double grad_scale=1.0, int n_threads=1, bint cuda=False):
    """Per-row loss and/or gradient for integer labels. Returns (loss, grad).

    grad[i] = grad_scale * gscale[i] * d loss_i / d x[i] (gscale None: 1).
    cuda=True runs the CUDA twin on these host arrays (copied to the device and
    back); it raises RuntimeError in CPU-only builds or without a device."""
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1]
    check_rows(labels.shape[0], n, "labels")
    if gscale is not None:
        check_rows(gscale.shape[0], n, "gscale")
    dt = np.float32 if floating is float else np.float64
    loss = np.empty(n, dtype=dt) if want_loss else None
    grad = np.empty((n, c), dtype=dt) if want_grad else None
    cdef floating[::1] lv
    cdef floating[:, ::1] gv
    cdef floating *lp = NULL
    cdef floating *gp = NULL
    cdef const floating *sp = NULL
    cdef const floating *xp = NULL
    cdef const int64_t *yp = NULL
    if want_loss and n > 0:
        lv = loss
        lp = &lv[0]
    if want_grad and n > 0:
        gv = grad
        gp = &gv[0, 0]
    if gscale is not None and n > 0:
        sp = &gscale[0]
    if n > 0:
        xp = &x[0, 0]
        yp = &labels[0]
    cdef fk_xent_opts o = make_opts(from_logits, label_smoothing, epsilon, ignore_class, grad_scale)
    cdef int st
    with nogil:
        if floating is float:
            if cuda:
                st = fk_softmax_xent_sparse_bwd_f32_cuda_host(n, c, xp, yp, sp, gp, lp, &o)
            elif want_grad:
                st = fk_softmax_xent_sparse_bwd_f32(n, c, xp, yp, sp, gp, lp, &o, n_threads)
            else:
                st = fk_softmax_xent_sparse_fwd_f32(n, c, xp, yp, lp, &o, n_threads)
        else:
            if cuda:
                st = fk_softmax_xent_sparse_bwd_f64_cuda_host(n, c, xp, yp, sp, gp, lp, &o)
            elif want_grad:
                st = fk_softmax_xent_sparse_bwd_f64(n, c, xp, yp, sp, gp, lp, &o, n_threads)
            else:
                st = fk_softmax_xent_sparse_fwd_f64(n, c, xp, yp, lp, &o, n_threads)
    check_status(st, "fk_softmax_xent_sparse_cuda" if cuda else "fk_softmax_xent_sparse")
    return loss, grad


def dense(const floating[:, ::1] x, const floating[:, ::1] targets, const floating[::1] gscale=None, *,
          bint want_loss=True, bint want_grad=False, bint from_logits=True,
          double label_smoothing=0.0, double epsilon=1e-7, double grad_scale=1.0,
          int n_threads=1, bint cuda=False):
    """Per-row loss and/or gradient for dense targets. Returns (loss, grad).
    cuda=True runs the CUDA twin on these host arrays (copied to the device and back)."""
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1]
    if targets.shape[0] != n or targets.shape[1] != c:
        raise ValueError(f"targets has shape ({targets.shape[0]}, {targets.shape[1]}), "
                         f"expected ({n}, {c})")
    if gscale is not None:
        check_rows(gscale.shape[0], n, "gscale")
    dt = np.float32 if floating is float else np.float64
    loss = np.empty(n, dtype=dt) if want_loss else None
    grad = np.empty((n, c), dtype=dt) if want_grad else None
    cdef floating[::1] lv
    cdef floating[:, ::1] gv
    cdef floating *lp = NULL
    cdef floating *gp = NULL
    cdef const floating *sp = NULL
    cdef const floating *xp = NULL
    cdef const floating *tp = NULL
    if want_loss and n > 0:
        lv = loss
        lp = &lv[0]
    if want_grad and n > 0:
        gv = grad
        gp = &gv[0, 0]
    if gscale is not None and n > 0:
        sp = &gscale[0]
    if n > 0:
        xp = &x[0, 0]
        tp = &targets[0, 0]
    cdef fk_xent_opts o = make_opts(from_logits, label_smoothing, epsilon, None, grad_scale)
    cdef int st
    with nogil:
        if floating is float:
            if cuda:
                st = fk_softmax_xent_dense_bwd_f32_cuda_host(n, c, xp, tp, sp, gp, lp, &o)
            elif want_grad:
                st = fk_softmax_xent_dense_bwd_f32(n, c, xp, tp, sp, gp, lp, &o, n_threads)
            else:
                st = fk_softmax_xent_dense_fwd_f32(n, c, xp, tp, lp, &o, n_threads)
        else:
            if cuda:
                st = fk_softmax_xent_dense_bwd_f64_cuda_host(n, c, xp, tp, sp, gp, lp, &o)
            elif want_grad:
                st = fk_softmax_xent_dense_bwd_f64(n, c, xp, tp, sp, gp, lp, &o, n_threads)
            else:
                st = fk_softmax_xent_dense_fwd_f64(n, c, xp, tp, lp, &o, n_threads)
    check_status(st, "fk_softmax_xent_dense_cuda" if cuda else "fk_softmax_xent_dense")
    return loss, grad
