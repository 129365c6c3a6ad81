// What every CUDA source shares: CUDA errors as fk_status codes (the error's text kept
// for fk_cuda_last_error), the "is there a device" check, device buffers freed on scope
// exit, grid sizing. Definitions in common.cu.
#ifndef FASTKERAS_CUDA_COMMON_CUH
#define FASTKERAS_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>
#include <vector>
#include "fastkeras/fk_status.h"

namespace fkcuda {

// FK_OK, or FK_ENODEVICE / FK_ENOMEM / FK_ECUDA; a failure's text is recorded (per thread)
// and the runtime's sticky-free error state is cleared so later calls start clean.
int status_of(cudaError_t e);
// FK_OK when a device exists, else FK_ENODEVICE (or FK_ECUDA).
int require_device();
// FK_OK if p is device (or managed) memory, FK_EHOSTPTR if it is host memory.
int require_device_pointer(const void *p);

// Device buffers freed when the owner goes out of scope, so every early return cleans up.
struct Buffers {
    std::vector<void *> p;
    ~Buffers();
    int alloc(void **out, size_t bytes);
    // alloc + copy `bytes` from host (when host is not NULL)
    int upload(void **dev, const void *host, size_t bytes);
};

// Block-wide reductions through shared memory sh[blockDim.x] (blockDim.x a power of 2);
// every thread gets the result.
template <typename T>
__device__ T block_max(T v, T *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            T o = sh[threadIdx.x + s];
            sh[threadIdx.x] = o > sh[threadIdx.x] ? o : sh[threadIdx.x];
        }
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

__device__ inline double block_sum(double v, double *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// Blocks of `threads` covering `total` elements (grid-stride loops), at most `cap`.
unsigned blocks_for(int64_t total, int threads, int64_t cap = 65535);

}  // namespace fkcuda

#endif
