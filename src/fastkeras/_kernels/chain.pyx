# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the dense-chain inference kernel (dense_chain.h).

A DenseChain holds its steps' weights (C-contiguous copies it owns, so nothing can
change or free them under a running call) and runs a whole chain of Dense /
affine layers with their activations in one C call without the GIL."""
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

import numpy as np
cimport numpy as cnp

from fastkeras._kernels.fk cimport *

include "_status.pxi"

cnp.import_array()

STEP_LINEAR = -1
STEP_SOFTMAX = -2


cdef class DenseChain:
    """steps: [(type, weight, bias or None, activation kind, alpha)], type "dense"
    (weight (in, out)) or "affine" (weight and bias (out,)); dtype float32 or float64."""
    cdef fk_chain_step *steps
    cdef int n_steps
    cdef readonly object dtype
    cdef readonly int64_t n_in, n_out
    cdef list arrays

    def __cinit__(self, steps, dtype):
        self.steps = NULL

    def __init__(self, steps, dtype):
        dt = np.dtype(dtype)
        if dt != np.float32 and dt != np.float64:
            raise ValueError(f"DenseChain: dtype must be float32 or float64, got {dt}")
        steps = list(steps)
        if not steps:
            raise ValueError("DenseChain: no steps")
        self.dtype = dt
        self.arrays = []
        self.steps = <fk_chain_step *>malloc(len(steps) * sizeof(fk_chain_step))
        if self.steps == NULL:
            raise MemoryError("DenseChain: no memory for the steps")
        self.n_steps = len(steps)
        cdef cnp.ndarray w, b
        cdef int i
        prev = None
        for i, (kind, weight, bias, act, alpha) in enumerate(steps):
            w = np.ascontiguousarray(weight, dtype=dt).copy()
            if kind == "dense":
                if w.ndim != 2:
                    raise ValueError(f"DenseChain step {i}: a dense weight must be 2-D")
                n_in, n_out = w.shape[0], w.shape[1]
                self.steps[i].type = FK_STEP_DENSE
            elif kind == "affine":
                if w.ndim != 1:
                    raise ValueError(f"DenseChain step {i}: affine scales must be 1-D")
                n_in = n_out = w.shape[0]
                self.steps[i].type = FK_STEP_AFFINE
            else:
                raise ValueError(f"DenseChain step {i}: unknown kind {kind!r}")
            if prev is not None and n_in != prev:
                raise ValueError(f"DenseChain step {i}: takes {n_in} features, the previous "
                                 f"step gives {prev}")
            prev = n_out
            self.steps[i].in_ = n_in
            self.steps[i].out = n_out
            self.steps[i].w = cnp.PyArray_DATA(w)
            self.steps[i].b = NULL
            if bias is not None:
                b = np.ascontiguousarray(bias, dtype=dt).copy()
                if b.ndim != 1 or b.shape[0] != n_out:
                    raise ValueError(f"DenseChain step {i}: the bias must have {n_out} values")
                self.steps[i].b = cnp.PyArray_DATA(b)
                self.arrays.append(b)
            self.arrays.append(w)
            self.steps[i].act = int(act)
            self.steps[i].alpha = float(alpha)
        self.n_in = self.steps[0].in_
        self.n_out = self.steps[self.n_steps - 1].out

    def __dealloc__(self):
        free(self.steps)

    def run(self, x, int n_threads=1):
        """(n, in) -> (n, out). x must already have the chain's dtype and be C-contiguous."""
        cdef cnp.ndarray xa = <cnp.ndarray?>x
        if xa.ndim != 2 or xa.shape[1] != self.n_in:
            raise ValueError(f"expected inputs of shape (batch, {self.n_in}), got "
                             f"{tuple(x.shape)}")
        if xa.dtype != self.dtype or not cnp.PyArray_IS_C_CONTIGUOUS(xa):
            raise ValueError(f"expected C-contiguous {self.dtype} inputs")
        cdef int64_t n = xa.shape[0]
        cdef cnp.ndarray y = np.empty((n, self.n_out), dtype=self.dtype)
        cdef int st
        cdef void *xp = cnp.PyArray_DATA(xa)
        cdef void *yp = cnp.PyArray_DATA(y)
        cdef bint single = self.dtype.itemsize == 4
        with nogil:
            if single:
                st = fk_dense_chain_f32(n, self.n_steps, self.steps, <float *>xp, <float *>yp,
                                        n_threads)
            else:
                st = fk_dense_chain_f64(n, self.n_steps, self.steps, <double *>xp,
                                        <double *>yp, n_threads)
        check_status(st, "fk_dense_chain")
        return y
