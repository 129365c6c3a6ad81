# cython: language_level=3, boundscheck=False, wraparound=False
"""Build facts of the C core, its CUDA device queries and device memory."""
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
cimport numpy as cnp
import numpy as np
from fastkeras._kernels.fk cimport *

include "_status.pxi"
include "dlpack.pxi"

cnp.import_array()


def build_facts():
    """The C core's build facts as a dict of plain Python values."""
    return {
        "version": fk_version().decode(),
        "compiler": fk_compiler().decode(),
        "openmp": bool(fk_openmp_enabled()),
        "default_num_threads": fk_default_num_threads(),
        "cuda_compiled": bool(fk_cuda_compiled()),
        "simd_compiled": fk_simd_name(fk_simd_compiled_max()).decode(),
        "simd_cpu": fk_simd_name(fk_simd_cpu_max()).decode(),
        "simd": fk_simd_name(fk_simd_level()).decode(),
    }


def cuda_device_count():
    """Number of CUDA devices visible (0 in CPU builds or without a GPU)."""
    cdef int n
    with nogil:
        n = fk_cuda_device_count()
    if n < 0:
        check_status(n, "fk_cuda_device_count")
    return n


def cuda_device_name():
    """Name of CUDA device 0, or None if there is none."""
    cdef char buf[256]
    cdef int st
    with nogil:
        st = fk_cuda_device_name(buf, 256)
    if st != 0:
        return None
    return buf.decode()


def status_str(int status):
    return fk_status_str(status).decode()


def status_codes():
    """fk_status.h's codes by C name (kernel_errors.Status mirrors them)."""
    return {"FK_OK": FK_OK, "FK_EBADSHAPE": FK_EBADSHAPE, "FK_ENULL": FK_ENULL,
            "FK_ELABEL": FK_ELABEL, "FK_EBADARG": FK_EBADARG, "FK_ENOMEM": FK_ENOMEM,
            "FK_ENODEVICE": FK_ENODEVICE, "FK_ECUDA": FK_ECUDA, "FK_ENOTBUILT": FK_ENOTBUILT,
            "FK_EHOSTPTR": FK_EHOSTPTR}


def peak_gflops(int n_threads=1, double seconds=0.3):
    """Measured float32 FMA peak (GFLOP/s) on n_threads threads (benchmark yardstick)."""
    cdef double g
    with nogil:
        g = fk_peak_gflops(n_threads, seconds)
    return g


cdef float **_stream_pointers(list arrays, str what, Py_ssize_t n) except? NULL:
    cdef Py_ssize_t k
    cdef float[::1] view
    cdef float **ptrs = <float **>malloc(max(len(arrays), 1) * sizeof(float *))
    if ptrs == NULL:
        raise MemoryError("stream_pass: no memory for the array table")
    try:
        for k, a in enumerate(arrays):
            if not isinstance(a, cnp.ndarray) or a.dtype != np.float32 or a.ndim != 1 \
                    or not a.flags.c_contiguous or not a.flags.writeable:
                got = type(a).__name__
                if isinstance(a, cnp.ndarray):
                    got += f" {a.dtype} of shape {a.shape}" \
                        + ("" if a.flags.c_contiguous else ", not contiguous") \
                        + ("" if a.flags.writeable else ", read-only")
                raise TypeError(f"stream_pass: {what}[{k}] must be a writeable contiguous "
                                f"1-D float32 array, got {got}")
            if a.shape[0] != n:
                raise ValueError(f"stream_pass: {what}[{k}] has {a.shape[0]} elements, "
                                 f"expected {n} (all arrays the same length)")
            view = a
            ptrs[k] = &view[0] if n else <float *>NULL
    except BaseException:
        free(ptrs)
        raise
    return ptrs


def stream_pass(list read, list update, list write, int n_threads=1):
    """One STREAM-like pass (fk_stream_pass): `read` arrays only read, `update` arrays
    read and written back, `write` arrays only written; all float32, 1-D, contiguous,
    of one length. Returns the checksum. The benchmark's bandwidth yardstick."""
    arrays = read + update + write
    if not arrays:
        raise ValueError("stream_pass: at least one array is needed")
    if n_threads < 1:
        raise ValueError(f"stream_pass: n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t n = len(arrays[0]) if hasattr(arrays[0], "__len__") else -1
    if n == 0:
        return 0.0
    cdef float **r = NULL
    cdef float **u = NULL
    cdef float **w = NULL
    cdef int nr = len(read), nu = len(update), nw = len(write), st
    cdef double checksum = 0.0
    try:
        r = _stream_pointers(read, "read", n)
        u = _stream_pointers(update, "update", n)
        w = _stream_pointers(write, "write", n)
        with nogil:
            st = fk_stream_pass(r, nr, u, nu, w, nw, n, n_threads, &checksum)
        check_status(st, "fk_stream_pass")
    finally:
        free(r)
        free(u)
        free(w)
    return checksum


def blas_name():
    """The BLAS the convolution kernels use."""
    return fk_blas_name().decode()


def cuda_last_error():
    """The CUDA runtime's text for this thread's last failed call ("" if none)."""
    return fk_cuda_last_error().decode(errors="replace")


def cuda_peak_bandwidth():
    """Device 0's peak memory bandwidth in bytes/s."""
    cdef double bw
    with nogil:
        bw = fk_cuda_peak_bandwidth()
    if bw < 0:
        check_status(<int>bw, "fk_cuda_peak_bandwidth")
    return bw


def cuda_malloc(int64_t nbytes):
    """Device memory of nbytes; returns the pointer as an int (fastkeras.cuda.DeviceArray)."""
    cdef void *p = NULL
    cdef int st
    with nogil:
        st = fk_cuda_malloc(&p, nbytes)
    check_status(st, "fk_cuda_malloc")
    return <size_t>p


def cuda_free(size_t ptr):
    cdef int st
    with nogil:
        st = fk_cuda_free(<void *>ptr)
    check_status(st, "fk_cuda_free")


def cuda_copy(size_t device_ptr, cnp.ndarray host, bint to_host):
    """Copy host.nbytes between device memory at device_ptr and the C-contiguous host array
    (into host when to_host, which must then be writable)."""
    if not cnp.PyArray_IS_C_CONTIGUOUS(host):
        raise ValueError("the host array must be C-contiguous")
    if to_host and not cnp.PyArray_ISWRITEABLE(host):
        raise ValueError("the host array must be writable")
    cdef int64_t nbytes = cnp.PyArray_NBYTES(host)
    cdef void *h = cnp.PyArray_DATA(host)
    cdef int st
    with nogil:
        if to_host:
            st = fk_cuda_copy(h, <const void *>device_ptr, nbytes, 0)
        else:
            st = fk_cuda_copy(<void *>device_ptr, h, nbytes, 1)
    check_status(st, "fk_cuda_copy")
