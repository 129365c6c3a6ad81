# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython bridge to the fused multi-tensor optimizer step.

``step`` takes lists of NumPy arrays (parameters, gradients, up to three slot
lists, an optional EMA list) of one float dtype and checks every array's
dtype, contiguity, writability and size before the GIL is released.
"""
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
cimport numpy as cnp
import numpy as np

from fastkeras._kernels.fk cimport *

include "_status.pxi"

cnp.import_array()

KINDS = {"sgd": 0, "momentum": 1, "nesterov": 2, "adam": 3, "adagrad": 4, "adadelta": 5,
         "rmsprop": 6, "adamax": 7, "nadam": 8, "lion": 9}


cdef void *checked(object arr, int typenum, int64_t size, bint writable, str what) except NULL:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(arr).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    if cnp.PyArray_TYPE(a) != typenum:
        raise TypeError(f"{what} has dtype {a.dtype}, expected {np.dtype(np.float32 if typenum == cnp.NPY_FLOAT32 else np.float64)}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{what} must be C-contiguous")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{what} must be writable")
    if size >= 0 and cnp.PyArray_SIZE(a) != size:
        raise ValueError(f"{what} has {cnp.PyArray_SIZE(a)} elements, expected {size}")
    if cnp.PyArray_SIZE(a) == 0:
        return <void *>1  # never dereferenced: zero-sized tensors are skipped
    return cnp.PyArray_DATA(a)


cdef _check_lengths(Py_ssize_t n, list slots, object ema):
    """Every slot list and the EMA list hold one entry per tensor (indexed without bounds
    checks below)."""
    for k in range(3):
        if slots[k] is not None and len(slots[k]) != n:
            raise ValueError(f"slot list {k} has {len(slots[k])} entries, expected {n}")
    if ema is not None and len(ema) != n:
        raise ValueError(f"ema has {len(ema)} entries, expected {n}")


cdef fk_optim_args _args(dict args) except *:
    cdef fk_optim_args a
    if args.get("kind") not in KINDS:
        raise ValueError(f"unknown optimizer kind {args.get('kind')!r}")
    a.kind = KINDS[args["kind"]]
    a.lr = args.get("lr", 0.0)
    a.beta1 = args.get("beta1", 0.0)
    a.beta2 = args.get("beta2", 0.0)
    a.epsilon = args.get("epsilon", 0.0)
    a.rho = args.get("rho", 0.0)
    a.momentum = args.get("momentum", 0.0)
    a.amsgrad = args.get("amsgrad", False)
    a.centered = args.get("centered", False)
    a.alpha = args.get("alpha", 0.0)
    a.c1 = args.get("c1", 0.0)
    a.c2 = args.get("c2", 0.0)
    a.vcorr = args.get("vcorr", 1.0)
    a.weight_decay = args.get("weight_decay", 0.0)
    a.clipvalue = args.get("clipvalue", 0.0)
    a.ema_momentum = args.get("ema_momentum", -1.0)
    return a


def step(dict args, list params, list grads, list slots, object ema=None, object gscale=None,
         int n_threads=1, bint cuda=False):
    """One fused step over every tensor (in place). slots: 3 lists (or None).
    cuda=True runs the CUDA twin on these host arrays (copied to the GPU and back)."""
    cdef fk_optim_args a = _args(args)
    cdef Py_ssize_t n = len(params), t, k
    if len(grads) != n:
        raise ValueError(f"got {len(grads)} gradients for {n} parameters")
    if len(slots) != 3:
        raise ValueError("slots must be a list of 3 lists (or None)")
    _check_lengths(n, slots, ema)
    if n == 0:
        return
    if not isinstance(params[0], np.ndarray):
        raise TypeError(f"parameter 0 must be a numpy array, got {type(params[0]).__name__}")
    typenum = cnp.NPY_FLOAT32 if params[0].dtype == np.float32 else cnp.NPY_FLOAT64
    if params[0].dtype not in (np.float32, np.float64):
        raise TypeError(f"parameters must be float32 or float64, got {params[0].dtype}")
    cdef int64_t *sizes = <int64_t *>malloc(n * sizeof(int64_t))
    cdef void **pp = <void **>malloc(n * sizeof(void *))
    cdef void **gp = <void **>malloc(n * sizeof(void *))
    cdef void **sp = <void **>malloc(3 * n * sizeof(void *))
    cdef void **ep = <void **>malloc(n * sizeof(void *))
    cdef void **slot_lists[3]
    cdef double *gs = NULL
    cdef double[::1] gsv
    cdef int st = 0
    try:
        if not sizes or not pp or not gp or not sp or not ep:
            raise MemoryError("fk_optim_step: pointer tables")
        for t in range(n):
            sizes[t] = np.size(params[t])
            pp[t] = checked(params[t], typenum, -1, True, f"parameter {t}")
            gp[t] = checked(grads[t], typenum, sizes[t], False, f"gradient {t}")
            ep[t] = checked(ema[t], typenum, sizes[t], True, f"EMA {t}") if ema is not None else NULL
        for k in range(3):
            slot_lists[k] = sp + k * n
            for t in range(n):
                if slots[k] is None or slots[k][t] is None:
                    slot_lists[k][t] = NULL
                else:
                    slot_lists[k][t] = checked(slots[k][t], typenum, sizes[t], True,
                                               f"slot {k} of parameter {t}")
        if gscale is not None:
            gsv = np.ascontiguousarray(gscale, dtype=np.float64)
            if gsv.shape[0] != n:
                raise ValueError(f"gscale has {gsv.shape[0]} entries, expected {n}")
            gs = &gsv[0]
        with nogil:
            if cuda and typenum == cnp.NPY_FLOAT32:
                st = fk_optim_step_f32_cuda_host(&a, n, sizes, <float **>pp, <const float **>gp,
                                                 gs, <float ***>slot_lists,
                                                 <float **>ep if ema is not None else NULL)
            elif cuda:
                st = fk_optim_step_f64_cuda_host(&a, n, sizes, <double **>pp,
                                                 <const double **>gp, gs,
                                                 <double ***>slot_lists,
                                                 <double **>ep if ema is not None else NULL)
            elif typenum == cnp.NPY_FLOAT32:
                st = fk_optim_step_f32(&a, n, sizes, <float **>pp, <const float **>gp, gs,
                                       <float ***>slot_lists, <float **>ep if ema is not None else NULL,
                                       n_threads)
            else:
                st = fk_optim_step_f64(&a, n, sizes, <double **>pp, <const double **>gp, gs,
                                       <double ***>slot_lists,
                                       <double **>ep if ema is not None else NULL, n_threads)
    finally:
        free(sizes)
        free(pp)
        free(gp)
        free(sp)
        free(ep)
    check_status(st, "fk_optim_step_cuda" if cuda else "fk_optim_step")


def step_device(dict args, list sizes, list params, list grads, list slots, object ema=None,
                object gscale=None, bint f64=False):
    """step() on tensors in GPU memory, given as device pointers (ints) with their element
    counts; fastkeras.cuda.optimizer_step validates the arrays behind them."""
    cdef fk_optim_args a = _args(args)
    cdef Py_ssize_t n = len(params), t, k
    if len(sizes) != n or len(grads) != n or len(slots) != 3 or \
            (ema is not None and len(ema) != n):
        raise ValueError("sizes, params, grads, each slot list and ema need one entry per tensor")
    _check_lengths(n, slots, ema)
    if n == 0:
        return
    cdef int64_t[::1] sz = np.asarray(sizes, dtype=np.int64)
    cdef size_t[::1] pp = np.asarray(params, dtype=np.uintp)
    cdef size_t[::1] gp = np.asarray(grads, dtype=np.uintp)
    cdef size_t[:, ::1] sp = np.asarray([[0 if s is None or s[t] is None else s[t]
                                          for t in range(n)] for s in slots], dtype=np.uintp)
    cdef size_t[::1] ep = np.asarray(ema if ema is not None else [0] * n, dtype=np.uintp)
    cdef double[::1] gsv
    cdef double *gs = NULL
    if gscale is not None:
        gsv = np.ascontiguousarray(gscale, dtype=np.float64)
        if gsv.shape[0] != n:
            raise ValueError(f"gscale has {gsv.shape[0]} entries, expected {n}")
        gs = &gsv[0]
    cdef void **slot_lists[3]
    for k in range(3):
        slot_lists[k] = <void **>&sp[k, 0]
    cdef int st
    with nogil:
        if f64:
            st = fk_optim_step_f64_cuda(&a, n, &sz[0], <double **>&pp[0], <const double **>&gp[0],
                                        gs, <double ***>slot_lists,
                                        <double **>&ep[0] if ema is not None else NULL, NULL)
        else:
            st = fk_optim_step_f32_cuda(&a, n, &sz[0], <float **>&pp[0], <const float **>&gp[0],
                                        gs, <float ***>slot_lists,
                                        <float **>&ep[0] if ema is not None else NULL, NULL)
    check_status(st, "fk_optim_step_cuda")
