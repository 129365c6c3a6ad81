# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the matrix products of gemm.h.

``matmul(a, b, n_threads)``: a (..., m, k) @ b (..., k, n) for two arrays of one dtype,
float32 or float64, of 2 dimensions or more whose batch dimensions broadcast. Each
operand's matrices are read in place when BLAS can address them (rows or columns of unit
stride: transposed views need no copy); others are copied once. Shapes, strides and
offsets are all checked here, before the GIL is released."""
from libc.stdint cimport int64_t
from libc.limits cimport INT_MAX

import numpy as np
cimport numpy as cnp

from fastkeras._kernels.fk cimport *

include "_status.pxi"

cnp.import_array()


cdef bint _layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
                  Py_ssize_t item, int *trans, int64_t *ld):
    """How BLAS reads a (rows, cols) matrix of byte strides (s0, s1): row-major with
    leading dimension ld (trans 0) or as the transpose of a row-major (cols, rows) one
    (trans 1). False: BLAS cannot address it."""
    if s0 % item != 0 or s1 % item != 0:
        return False
    s0 //= item
    s1 //= item
    cdef Py_ssize_t l
    if s1 == 1 or cols == 1:
        l = s0 if rows > 1 else max(cols, 1)
        if l >= max(cols, 1) and l <= INT_MAX:
            trans[0] = 0
            ld[0] = l
            return True
    if s0 == 1 or rows == 1:
        l = s1 if cols > 1 else max(rows, 1)
        if l >= max(rows, 1) and l <= INT_MAX:
            trans[0] = 1
            ld[0] = l
            return True
    return False


cdef bint _addressable(cnp.ndarray x, int *trans, int64_t *ld):
    cdef int nd = x.ndim
    cdef Py_ssize_t item = x.itemsize
    for j in range(nd - 2):
        if x.strides[j] < 0 or x.strides[j] % item != 0:
            return False
    return _layout(x.shape[nd - 2], x.shape[nd - 1], x.strides[nd - 2], x.strides[nd - 1],
                   item, trans, ld)


cdef object _offsets(cnp.ndarray x, tuple out_batch):
    """Element offset of each of x's matrices, one per output batch index (broadcast)."""
    cdef int nb = x.ndim - 2, nd = len(out_batch), pad = nd - nb
    off = np.zeros((1,) * nd, dtype=np.int64)
    for j in range(nb):
        if x.shape[j] > 1:
            shp = [1] * nd
            shp[pad + j] = x.shape[j]
            off = off + (np.arange(x.shape[j], dtype=np.int64)
                         * (x.strides[j] // x.itemsize)).reshape(shp)
    return np.ascontiguousarray(np.broadcast_to(off, out_batch), dtype=np.int64).reshape(-1)


def matmul(cnp.ndarray a, cnp.ndarray b, int n_threads=1, out=None):
    """a (..., m, k) @ b (..., k, n) -> a C-contiguous (broadcast batch..., m, n) array: `out`
    when given (it must be exactly that: C-contiguous, writeable, of a's dtype and that
    shape), else a new one; None when a size exceeds what 32-bit BLAS takes (the caller uses
    numpy then)."""
    if a.dtype != b.dtype or (a.dtype != np.float32 and a.dtype != np.float64):
        raise TypeError(f"gemm.matmul: operands must both be float32 or both float64, got "
                        f"{a.dtype} and {b.dtype}")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"gemm.matmul: operands need 2 dimensions or more, got shapes "
                         f"{(<object>a).shape} and {(<object>b).shape}")
    cdef int64_t m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1]
    cdef int64_t n = b.shape[b.ndim - 1]
    if b.shape[b.ndim - 2] != k:
        raise ValueError(f"gemm.matmul: inner dimensions differ: {(<object>a).shape} @ "
                         f"{(<object>b).shape}")
    sa, sb = (<object>a).shape, (<object>b).shape
    out_batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    if out is None:
        out = np.empty(out_batch + (m, n), dtype=a.dtype)
    elif not isinstance(out, np.ndarray) or out.dtype != a.dtype \
            or out.shape != out_batch + (m, n) or not out.flags.c_contiguous \
            or not out.flags.writeable:
        raise ValueError(f"gemm.matmul: out must be a writeable C-contiguous {a.dtype} array "
                         f"of shape {out_batch + (m, n)}, got "
                         + (f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray)
                            else type(out).__name__))
    elif np.may_share_memory(out, a) or np.may_share_memory(out, b):
        raise ValueError("gemm.matmul: out overlaps an operand")
    cdef int64_t batch = 1
    for d in out_batch:
        batch *= d
    if m == 0 or n == 0 or batch == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    if m > INT_MAX or n > INT_MAX or k > INT_MAX:
        return None
    cdef int ta = 0, tb = 0
    cdef int64_t lda = 0, ldb = 0
    if not _addressable(a, &ta, &lda):
        a = np.ascontiguousarray(a)
        if not _addressable(a, &ta, &lda):
            return None
    if not _addressable(b, &tb, &ldb):
        b = np.ascontiguousarray(b)
        if not _addressable(b, &tb, &ldb):
            return None
    cdef cnp.ndarray ao, bo, co
    cdef const int64_t *ap = NULL
    cdef const int64_t *bp = NULL
    cdef const int64_t *cp = NULL
    if batch > 1:
        ao = _offsets(a, out_batch)
        bo = _offsets(b, out_batch)
        co = np.arange(batch, dtype=np.int64) * (m * n)
        ap = <const int64_t *>cnp.PyArray_DATA(ao)
        bp = <const int64_t *>cnp.PyArray_DATA(bo)
        cp = <const int64_t *>cnp.PyArray_DATA(co)
    cdef int64_t ldc = max(n, 1)
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef int st
    cdef bint single = a.dtype == np.float32
    with nogil:
        if single:
            st = fk_gemm_f32(ta, tb, m, n, k, <const float *>pa, lda, <const float *>pb, ldb,
                             <float *>pc, ldc, batch, ap, bp, cp, n_threads)
        else:
            st = fk_gemm_f64(ta, tb, m, n, k, <const double *>pa, lda, <const double *>pb, ldb,
                             <double *>pc, ldc, batch, ap, bp, cp, n_threads)
    check_status(st, "fk_gemm")
    return out


def pieces(int64_t m, int64_t n, int64_t k):
    """How many single-threaded BLAS calls one (m, n, k) product is cut into."""
    return fk_gemm_pieces(m, n, k)


def threads(int64_t m, int64_t n, int64_t k, int64_t batch, int n_threads):
    """The threads a call of `batch` (m, n, k) products starts with n_threads allowed."""
    return fk_gemm_threads(m, n, k, batch, n_threads)


def blas_pool_threads():
    """The thread count of the linked BLAS' own pool (-1: the BLAS does not say)."""
    return fk_blas_pool_threads()
