# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the rank engine (binned histograms, exact AUC/KS).

Callers (fastkeras.metrics) pass 1-D contiguous scores (float32/float64),
uint8 labels in {0, 1}, optional weights of the scores' dtype, already free of
NaN; sizes are re-checked here before the GIL is released.
"""
from libc.stdint cimport int64_t, uint8_t
from cython cimport floating

from fastkeras._kernels.fk cimport *

include "_status.pxi"


def hist(const floating[::1] scores, const uint8_t[::1] labels, const floating[::1] weights,
         int64_t num_thresholds, double[::1] pos, double[::1] neg, int n_threads=1,
         bint cuda=False):
    """Add the Keras-threshold histograms of (scores, labels, weights) into pos/neg [T + 1].
    cuda=True bins these host arrays on the GPU (copied in): the CUDA twin's parity tests."""
    cdef int64_t n = scores.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"labels has {labels.shape[0]} entries, expected {n}")
    if weights is not None and weights.shape[0] != n:
        raise ValueError(f"weights has {weights.shape[0]} entries, expected {n}")
    if pos.shape[0] != num_thresholds + 1 or neg.shape[0] != num_thresholds + 1:
        raise ValueError(f"histograms must have num_thresholds + 1 = {num_thresholds + 1} bins")
    if n == 0:
        return
    cdef const floating *wp = &weights[0] if weights is not None else NULL
    cdef int st
    with nogil:
        if cuda:
            if floating is float:
                st = fk_rank_hist_f32_cuda_host(n, &scores[0], &labels[0], wp, num_thresholds,
                                                &pos[0], &neg[0])
            else:
                st = fk_rank_hist_f64_cuda_host(n, &scores[0], &labels[0], wp, num_thresholds,
                                                &pos[0], &neg[0])
        elif floating is float:
            st = fk_rank_hist_f32(n, &scores[0], &labels[0], wp, num_thresholds, &pos[0],
                                  &neg[0], n_threads)
        else:
            st = fk_rank_hist_f64(n, &scores[0], &labels[0], wp, num_thresholds, &pos[0],
                                  &neg[0], n_threads)
    check_status(st, "fk_rank_hist_cuda" if cuda else "fk_rank_hist")


LABEL_TYPES = {"uint8": 0, "bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}


def hist_device(int64_t n, size_t scores, str scores_dtype, size_t labels, str labels_dtype,
                size_t weights, int64_t num_thresholds, double[::1] pos, double[::1] neg):
    """hist() of arrays in GPU memory, given as device pointers (validated by
    fastkeras.cuda.device_array): only the [T + 1] histograms come back to the host."""
    if scores_dtype not in ("float32", "float64"):
        raise TypeError(f"scores must be float32 or float64 on the device, got {scores_dtype}")
    if labels_dtype not in LABEL_TYPES:
        raise TypeError(f"labels on the device must be one of {sorted(LABEL_TYPES)}, "
                        f"got {labels_dtype}")
    if pos.shape[0] != num_thresholds + 1 or neg.shape[0] != num_thresholds + 1:
        raise ValueError(f"histograms must have num_thresholds + 1 = {num_thresholds + 1} bins")
    cdef int lt = LABEL_TYPES[labels_dtype], st
    cdef bint f64 = scores_dtype == "float64"
    with nogil:
        if f64:
            st = fk_rank_hist_f64_cuda(n, <const double *>scores, <const void *>labels, lt,
                                       <const double *>weights, num_thresholds, &pos[0],
                                       &neg[0], NULL)
        else:
            st = fk_rank_hist_f32_cuda(n, <const float *>scores, <const void *>labels, lt,
                                       <const float *>weights, num_thresholds, &pos[0],
                                       &neg[0], NULL)
    check_status(st, "fk_rank_hist_cuda")


def exact(const floating[::1] scores, const uint8_t[::1] labels, const floating[::1] weights,
          int n_threads=1):
    """(ROC AUC with ties as one half, two-sample KS statistic) of the whole input."""
    cdef int64_t n = scores.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"labels has {labels.shape[0]} entries, expected {n}")
    if weights is not None and weights.shape[0] != n:
        raise ValueError(f"weights has {weights.shape[0]} entries, expected {n}")
    cdef const floating *wp = &weights[0] if weights is not None and n > 0 else NULL
    cdef const floating *sp = &scores[0] if n > 0 else NULL
    cdef const uint8_t *lp = &labels[0] if n > 0 else NULL
    cdef double auc = 0, ks = 0
    cdef int st
    with nogil:
        if floating is float:
            st = fk_rank_exact_f32(n, sp, lp, wp, &auc, &ks, n_threads)
        else:
            st = fk_rank_exact_f64(n, sp, lp, wp, &auc, &ks, n_threads)
    check_status(st, "fk_rank_exact")
    return auc, ks
