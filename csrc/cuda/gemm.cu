// See gemm.cuh. cuBLAS is column-major: the row-major y = op(a) op(b) is the column-major
// y^T = op(b)^T op(a)^T, so cuBLAS gets (b, a) in that order with n and m swapped; a
// row-major matrix seen column-major is its transpose, which decides each operand's op
// and leading dimension. Default math mode (no TF32), no atomics: deterministic.
#include <dlfcn.h>
#include <limits.h>
#include <mutex>
#include <stdlib.h>
#include <string.h>
#include "gemm.cuh"
#include "fastkeras/cuda/device_ops.h"

namespace {

constexpr int kTile = 16;

template <typename T>
__global__ void gemm_tiled(int64_t m, int64_t n, int64_t k, int ta, int tb,
                           const T *__restrict__ a, const T *__restrict__ b, T beta,
                           T *__restrict__ y) {
    __shared__ T as[kTile][kTile];
    __shared__ T bs[kTile][kTile + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t col = blockIdx.x * (int64_t)kTile + tx;
    for (int64_t r0 = blockIdx.y * (int64_t)kTile; r0 < m; r0 += (int64_t)gridDim.y * kTile) {
        const int64_t row = r0 + ty;
        T acc = T(0);
        for (int64_t k0 = 0; k0 < k; k0 += kTile) {
            const int64_t ka = k0 + tx, kb = k0 + ty;
            as[ty][tx] = (row < m && ka < k) ? (ta ? a[ka * m + row] : a[row * k + ka]) : T(0);
            bs[ty][tx] = (kb < k && col < n) ? (tb ? b[col * k + kb] : b[kb * n + col]) : T(0);
            __syncthreads();
            for (int j = 0; j < kTile; ++j) acc += as[ty][j] * bs[j][tx];
            __syncthreads();
        }
        if (row < m && col < n)  // k == 0: y = beta y (an empty sum)
            y[row * n + col] = beta == T(0) ? acc : acc + beta * y[row * n + col];
    }
}

// The few cuBLAS entry points used, declared from the public API (cublas_v2.h):
// handles are opaque pointers, statuses ints (0 success), CUBLAS_OP_N 0 / CUBLAS_OP_T 1.
typedef int (*create_fn)(void **);
typedef int (*set_stream_fn)(void *, cudaStream_t);
typedef int (*sgemm_fn)(void *, int, int, int, int, int, const float *, const float *, int,
                        const float *, int, const float *, float *, int);
typedef int (*dgemm_fn)(void *, int, int, int, int, int, const double *, const double *, int,
                        const double *, int, const double *, double *, int);

struct Cublas {
    create_fn create = nullptr;
    set_stream_fn set_stream = nullptr;
    sgemm_fn sgemm = nullptr;
    dgemm_fn dgemm = nullptr;
    bool loaded = false;
};

std::once_flag load_once;
Cublas lib;
int backend = -1;  // -1 undecided, 0 tiled, 1 cuBLAS
std::mutex backend_mutex;

void load() {
    const char *names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    void *h = nullptr;
    for (const char *nm : names)
        if ((h = dlopen(nm, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    if (!h) return;
    lib.create = (create_fn)dlsym(h, "cublasCreate_v2");
    lib.set_stream = (set_stream_fn)dlsym(h, "cublasSetStream_v2");
    lib.sgemm = (sgemm_fn)dlsym(h, "cublasSgemm_v2");
    lib.dgemm = (dgemm_fn)dlsym(h, "cublasDgemm_v2");
    lib.loaded = lib.create && lib.set_stream && lib.sgemm && lib.dgemm;
}

// The backend in force (backend_mutex held): decided once from the environment.
int decided() {
    if (backend < 0) {
        const char *env = getenv("FASTKERAS_CUBLAS");
        backend = (env && strcmp(env, "0") == 0) || !lib.loaded ? 0 : 1;
    }
    return backend;
}

// One handle per host thread (cuBLAS handles are not shared between threads); NULL when
// cuBLAS is unavailable or was not chosen.
void *handle() {
    std::call_once(load_once, load);
    {
        std::lock_guard<std::mutex> g(backend_mutex);
        if (decided() != 1) return nullptr;
    }
    thread_local void *h = nullptr;
    thread_local bool tried = false;
    if (!tried) {
        tried = true;
        if (lib.create(&h) != 0) h = nullptr;
    }
    return h;
}

int blas(void *h, int ta, int tb, int m, int n, int k, const float *a, const float *b,
         float beta, float *y) {
    const float one = 1.0f;
    return lib.sgemm(h, tb, ta, n, m, k, &one, b, tb ? k : n, a, ta ? m : k, &beta, y, n);
}
int blas(void *h, int ta, int tb, int m, int n, int k, const double *a, const double *b,
         double beta, double *y) {
    const double one = 1.0;
    return lib.dgemm(h, tb, ta, n, m, k, &one, b, tb ? k : n, a, ta ? m : k, &beta, y, n);
}

}  // namespace

namespace fkcuda {

template <typename T>
int gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const T *a, const T *b, T beta, T *y,
         cudaStream_t st) {
    if (m == 0 || n == 0) return FK_OK;
    void *h = (k > 0 && m <= INT_MAX && n <= INT_MAX && k <= INT_MAX) ? handle() : nullptr;
    if (h && lib.set_stream(h, st) == 0 &&
        blas(h, ta ? 1 : 0, tb ? 1 : 0, (int)m, (int)n, (int)k, a, b, beta, y) == 0)
        return status_of(cudaGetLastError());
    const int64_t row_tiles = (m + kTile - 1) / kTile, col_tiles = (n + kTile - 1) / kTile;
    if (col_tiles > INT_MAX) return FK_EBADSHAPE;
    dim3 block(kTile, kTile);
    dim3 grid((unsigned)col_tiles, (unsigned)(row_tiles < 65535 ? row_tiles : 65535));
    gemm_tiled<T><<<grid, block, 0, st>>>(m, n, k, ta, tb, a, b, beta, y);
    return status_of(cudaGetLastError());
}

template int gemm<float>(int, int, int64_t, int64_t, int64_t, const float *, const float *,
                         float, float *, cudaStream_t);
template int gemm<double>(int, int, int64_t, int64_t, int64_t, const double *, const double *,
                          double, double *, cudaStream_t);

}  // namespace fkcuda

extern "C" int fk_cuda_gemm_backend(int request) {
    std::call_once(load_once, load);
    std::lock_guard<std::mutex> g(backend_mutex);
    if (request == 0 || request == 1) backend = request == 1 && lib.loaded ? 1 : 0;
    return decided();
}
