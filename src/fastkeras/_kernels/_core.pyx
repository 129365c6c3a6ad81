# cython: language_level=3, boundscheck=False, wraparound=False
"""Build facts of the C core, and its CUDA device queries."""
from fastkeras._kernels.fk cimport *

include "_status.pxi"


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


def peak_gflops(int n_threads=1, double seconds=0.3):
    """Measured float32 FMA peak (GFLOP/s) on n_threads threads (benchmark yardstick)."""
    cdef double g
    with nogil:
        g = fk_peak_gflops(n_threads, seconds)
    return g


def blas_name():
    """The BLAS the convolution kernels use."""
    return fk_blas_name().decode()
