// Row-major products on the device: y (m, n) = op(a) op(b) + beta y (device_ops.h's
// FK_DOP_GEMM), by cuBLAS when the library can be loaded at run time, else by fastkeras'
// own shared-memory tiled kernel. cuBLAS is opened with dlopen (libcublas.so.13, .12, or
// the unversioned name), never linked: a build without it, or a machine without it,
// runs the tiled kernel. FASTKERAS_CUBLAS=0 in the environment, or
// fk_cuda_gemm_backend(0), chooses the tiled kernel.
#ifndef FASTKERAS_CUDA_GEMM_CUH
#define FASTKERAS_CUDA_GEMM_CUH

#include "common.cuh"

namespace fkcuda {

template <typename T>
int gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const T *a, const T *b, T beta, T *y,
         cudaStream_t st);

}  // namespace fkcuda

#endif
