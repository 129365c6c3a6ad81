# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the device training primitives (fastkeras/cuda/device_ops.h).

Pointers are device addresses (Python ints) of buffers that the caller allocated for the
sizes it passes (fastkeras.device.plan owns every one of them); the C side checks
the op, the kind, the sizes and NULL pointers before anything is launched.
"""
from libc.stdint cimport int64_t, uintptr_t

from fastkeras._kernels.fk cimport *

include "_status.pxi"
include "_xent_opts.pxi"
include "_geom.pxi"

OPS = {"gemm": FK_DOP_GEMM, "bias_act": FK_DOP_BIAS_ACT, "act_bwd": FK_DOP_ACT_BWD,
       "col_sum": FK_DOP_COL_SUM, "mul": FK_DOP_MUL, "mse": FK_DOP_MSE,
       "xent_sparse": FK_DOP_XENT_SPARSE, "xent_dense": FK_DOP_XENT_DENSE,
       "conv": FK_DOP_CONV, "pool": FK_DOP_POOL, "gather": FK_DOP_GATHER,
       "regularize": FK_DOP_REGULARIZE, "batchnorm": FK_DOP_BATCHNORM,
       "global_max": FK_DOP_GLOBAL_MAX}


def run(str op, bint f64, int64_t m, int64_t n, int64_t k=0, *, uintptr_t a=0, uintptr_t b=0,
        uintptr_t c=0, uintptr_t d=0, uintptr_t y=0, uintptr_t z=0, uintptr_t w=0, int kind=-1,
        bint ta=False, bint tb=False, double alpha=0.0, double beta=0.0, tuple xent=None, dict conv=None,
        dict pool=None):
    """Run one primitive (see device_ops.h); xent = (from_logits, label_smoothing, epsilon,
    ignore_class, grad_scale) for the cross-entropy ops; conv / pool: the geometry dicts of
    fastkeras.ops.convolution for those ops (checked by the C core here)."""
    if op not in OPS:
        raise ValueError(f"unknown device op {op!r}; expected one of {sorted(OPS)}")
    cdef fk_xent_opts xo
    cdef fk_conv_geom cg
    cdef fk_pool_geom pg
    cdef fk_dev_op o
    o.op = OPS[op]
    o.f64 = f64
    o.kind = kind
    o.ta = ta
    o.tb = tb
    o.m = m
    o.n = n
    o.k = k
    o.alpha = alpha
    o.beta = beta
    o.a = <const void *>a
    o.b = <const void *>b
    o.c = <const void *>c
    o.d = <const void *>d
    o.y = <void *>y
    o.z = <void *>z
    o.w = <void *>w
    o.xent = NULL
    o.conv = NULL
    o.pool = NULL
    if conv is not None:
        cg = make_conv_geom(conv)
        o.conv = &cg
    if pool is not None:
        pg = make_pool_geom(pool)
        o.pool = &pg
    if xent is not None:
        xo = make_opts(xent[0], xent[1], xent[2], xent[3], xent[4])
        o.xent = &xo
    cdef int st
    with nogil:
        st = fk_cuda_dev_op(&o, NULL)
    check_status(st, f"fk_cuda_dev_op({op})")


def gemm_backend(int request=-1):
    """1: cuBLAS computes the products, 0: fastkeras' tiled kernel (see device_ops.h)."""
    return fk_cuda_gemm_backend(request)
