// CUDA twin of fk_rank_hist: the AUC / KS score histograms. Each block bins its share of
// the scores into a histogram in shared memory (32-bit counts when unweighted, doubles
// when weighted), then adds its non-zero cells to a global histogram (64-bit counts, or
// doubles); the (T + 1)-bucket result comes back to the host. Buckets are computed by
// rank_bucket.h, the CPU's own function, so both bin identically; unweighted counts are
// integers, so the result is exact and does not depend on the launch.
#include "common.cuh"
#include "fastkeras/cuda/rank_cuda.h"
#include "host_copies.h"
#include "../rank_bucket.h"

namespace {

constexpr int kThreads = 512;
constexpr int64_t kMaxThresholds = 1 << 24;  // as on the CPU
constexpr size_t kSharedBytes = 48 * 1024;   // without opting in to more

__device__ inline int64_t bucket(float s, int64_t t, float scale) {
    return fk_rank_bucket_f32(s, t, scale);
}
__device__ inline int64_t bucket(double s, int64_t t, double scale) {
    return fk_rank_bucket_f64(s, t, scale);
}

// A label as 0 / 1, or 2 for anything else (flagged).
template <typename L>
__device__ inline int label_of(L v) {
    return v == L(0) ? 0 : (v == L(1) ? 1 : 2);
}

// One kernel for both histograms: unweighted (Local = 32-bit counts in shared memory,
// Global = 64-bit counts; w is NULL) and weighted (doubles: the order of the atomic
// additions, hence the last bits, may vary from run to run). SHARED: a per-block
// histogram in shared memory merged at the end, else atomics on the global one.
template <typename T, typename L, typename Local, typename Global, bool SHARED>
__global__ void hist_kernel(int64_t n, const T *__restrict__ s, const L *__restrict__ y,
                            const T *__restrict__ w, int64_t nt, T scale, int64_t cells,
                            Global *__restrict__ global, int *bad) {
    extern __shared__ __align__(8) unsigned char smem[];
    Local *local = reinterpret_cast<Local *>(smem);
    if (SHARED) {
        for (int64_t k = threadIdx.x; k < cells; k += blockDim.x) local[k] = Local(0);
        __syncthreads();
    }
    int flags = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const T v = s[i];
        const int l = label_of(y[i]);
        flags |= (l >> 1) | ((v != v) << 1);
        const int64_t cell = 2 * bucket(v, nt, scale) + (l & 1);
        if (SHARED)
            atomicAdd(&local[cell], w ? Local(w[i]) : Local(1));
        else
            atomicAdd(&global[cell], w ? Global(w[i]) : Global(1));
    }
    if (flags) atomicOr(bad, flags);
    if (SHARED) {
        __syncthreads();
        for (int64_t k = threadIdx.x; k < cells; k += blockDim.x)
            if (local[k] != Local(0)) atomicAdd(&global[k], Global(local[k]));
    }
}

unsigned grid_for(int64_t n) {
    int dev = 0, sms = 1;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    // enough blocks to fill the device; each block's 32-bit counters see < 2^31 elements
    int64_t want = (int64_t)sms * 4;
    int64_t need = n / ((int64_t)1 << 30) + 1;
    if (want < need) want = need;
    return fkcuda::blocks_for(n, kThreads, want);
}

template <typename T, typename L>
int launch(int64_t n, const T *s, const L *y, const T *w, int64_t nt, int64_t cells,
           void *global, int *bad, cudaStream_t st) {
    const T scale = T(nt - 1);
    const unsigned grid = grid_for(n);
    using Count = unsigned long long;
    if (!w) {
        if ((size_t)cells * sizeof(unsigned int) <= kSharedBytes)
            hist_kernel<T, L, unsigned int, Count, true>
                <<<grid, kThreads, (size_t)cells * sizeof(unsigned int), st>>>(
                    n, s, y, nullptr, nt, scale, cells, (Count *)global, bad);
        else
            hist_kernel<T, L, unsigned int, Count, false><<<grid, kThreads, 0, st>>>(
                n, s, y, nullptr, nt, scale, cells, (Count *)global, bad);
    } else {
        if ((size_t)cells * sizeof(double) <= kSharedBytes)
            hist_kernel<T, L, double, double, true>
                <<<grid, kThreads, (size_t)cells * sizeof(double), st>>>(
                    n, s, y, w, nt, scale, cells, (double *)global, bad);
        else
            hist_kernel<T, L, double, double, false><<<grid, kThreads, 0, st>>>(
                n, s, y, w, nt, scale, cells, (double *)global, bad);
    }
    return fkcuda::status_of(cudaGetLastError());
}

template <typename T>
int hist(int64_t n, const T *s, const void *y, int label_type, const T *w, int64_t nt,
         double *pos, double *neg, cudaStream_t st) {
    if (n < 0 || nt < 2 || nt > kMaxThresholds) return FK_EBADSHAPE;
    if (label_type < FK_LABEL_U8 || label_type > FK_LABEL_F64) return FK_EBADARG;
    if (!pos || !neg || (n > 0 && (!s || !y))) return FK_ENULL;
    if (n == 0) return FK_OK;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    rc = fkcuda::require_device_pointer(s);
    if (rc == FK_OK) rc = fkcuda::require_device_pointer(y);
    if (rc == FK_OK && w) rc = fkcuda::require_device_pointer(w);
    if (rc != FK_OK) return rc;
    const int64_t cells = 2 * (nt + 1);
    const size_t cell_bytes = 8;  // unsigned long long or double
    fkcuda::Buffers bufs;
    void *global = nullptr;
    int *bad = nullptr;
    rc = bufs.alloc(&global, (size_t)cells * cell_bytes);
    if (rc == FK_OK) rc = bufs.alloc((void **)&bad, sizeof(int));
    if (rc == FK_OK) rc = fkcuda::status_of(cudaMemsetAsync(global, 0, (size_t)cells * cell_bytes, st));
    if (rc == FK_OK) rc = fkcuda::status_of(cudaMemsetAsync(bad, 0, sizeof(int), st));
    if (rc != FK_OK) return rc;
    switch (label_type) {
    case FK_LABEL_U8: rc = launch(n, s, (const uint8_t *)y, w, nt, cells, global, bad, st); break;
    case FK_LABEL_I32: rc = launch(n, s, (const int32_t *)y, w, nt, cells, global, bad, st); break;
    case FK_LABEL_I64: rc = launch(n, s, (const int64_t *)y, w, nt, cells, global, bad, st); break;
    case FK_LABEL_F32: rc = launch(n, s, (const float *)y, w, nt, cells, global, bad, st); break;
    default: rc = launch(n, s, (const double *)y, w, nt, cells, global, bad, st); break;
    }
    if (rc != FK_OK) return rc;
    std::vector<unsigned long long> counts(w ? 0 : cells);
    std::vector<double> sums(w ? cells : 0);
    int hbad = 0;
    rc = fkcuda::status_of(cudaMemcpyAsync(w ? (void *)sums.data() : (void *)counts.data(), global,
                                           (size_t)cells * cell_bytes, cudaMemcpyDeviceToHost, st));
    if (rc == FK_OK)
        rc = fkcuda::status_of(cudaMemcpyAsync(&hbad, bad, sizeof(int), cudaMemcpyDeviceToHost, st));
    if (rc == FK_OK) rc = fkcuda::status_of(cudaStreamSynchronize(st));
    if (rc != FK_OK) return rc;
    if (hbad) return (hbad & 1) ? FK_ELABEL : FK_EBADARG;  // as the CPU: a bad label, a NaN
    for (int64_t k = 0; k <= nt; ++k) {
        neg[k] += w ? sums[2 * k] : (double)counts[2 * k];
        pos[k] += w ? sums[2 * k + 1] : (double)counts[2 * k + 1];
    }
    return FK_OK;
}

template <typename T>
int hist_host(int64_t n, const T *s, const uint8_t *y, const T *w, int64_t nt, double *pos,
              double *neg) {
    if (n < 0 || nt < 2 || nt > kMaxThresholds) return FK_EBADSHAPE;
    if (!pos || !neg || (n > 0 && (!s || !y))) return FK_ENULL;
    if (n == 0) return FK_OK;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    fkcuda::Buffers bufs;
    void *ds = nullptr, *dy = nullptr, *dw = nullptr;
    rc = bufs.upload(&ds, s, (size_t)n * sizeof(T));
    if (rc == FK_OK) rc = bufs.upload(&dy, y, (size_t)n);
    if (rc == FK_OK && w) rc = bufs.upload(&dw, w, (size_t)n * sizeof(T));
    if (rc != FK_OK) return rc;
    return hist<T>(n, (const T *)ds, dy, FK_LABEL_U8, (const T *)dw, nt, pos, neg, nullptr);
}

}  // namespace

extern "C" int fk_rank_hist_f32_cuda(int64_t n, const float *scores, const void *labels,
                                     int label_type, const float *weights, int64_t nt,
                                     double *pos, double *neg, void *stream) {
    return hist<float>(n, scores, labels, label_type, weights, nt, pos, neg, (cudaStream_t)stream);
}
extern "C" int fk_rank_hist_f64_cuda(int64_t n, const double *scores, const void *labels,
                                     int label_type, const double *weights, int64_t nt,
                                     double *pos, double *neg, void *stream) {
    return hist<double>(n, scores, labels, label_type, weights, nt, pos, neg, (cudaStream_t)stream);
}
extern "C" int fk_rank_hist_f32_cuda_host(int64_t n, const float *scores, const uint8_t *labels,
                                          const float *weights, int64_t nt, double *pos,
                                          double *neg) {
    return hist_host<float>(n, scores, labels, weights, nt, pos, neg);
}
extern "C" int fk_rank_hist_f64_cuda_host(int64_t n, const double *scores, const uint8_t *labels,
                                          const double *weights, int64_t nt, double *pos,
                                          double *neg) {
    return hist_host<double>(n, scores, labels, weights, nt, pos, neg);
}
