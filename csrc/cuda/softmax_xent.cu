// CUDA twins of the fused softmax cross-entropy (sparse labels, logits and
// probabilities). One block per row; block-wide max and sum reductions in
// shared memory, accumulated in double as on the CPU.
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "common.cuh"
#include "softmax_xent.cuh"
#include "fastkeras/cuda/softmax_xent_cuda.h"
#include "host_copies.h"

namespace {

constexpr int kThreads = 256;

using fkcuda::block_max;
using fkcuda::block_sum;

__device__ inline double clip_prob(double q, double eps) {
    return q < eps ? eps : (q > 1.0 - eps ? 1.0 - eps : q);
}

template <typename T>
__global__ void xent_sparse_rows(int64_t n, int64_t c, const T *__restrict__ x,
                                 const int64_t *__restrict__ labels, const T *__restrict__ gscale,
                                 T *__restrict__ grad, T *__restrict__ loss, fk_xent_opts o,
                                 int *bad) {
    __shared__ double shd[kThreads];
    __shared__ T sht[kThreads];
    int64_t i = blockIdx.x;
    if (i >= n) return;
    const T *xi = x + i * c;
    T *gi = grad ? grad + i * c : nullptr;
    int64_t y = labels[i];
    double w = gscale ? (double)gscale[i] * o.grad_scale : o.grad_scale;
    double ls = o.label_smoothing, base = ls / (double)c;
    if (o.has_ignore_class && y == o.ignore_class) {
        if (loss && threadIdx.x == 0) loss[i] = T(0);
        if (gi) for (int64_t j = threadIdx.x; j < c; j += blockDim.x) gi[j] = T(0);
        return;
    }
    if (y < 0 || y >= c) {
        if (threadIdx.x == 0) atomicExch(bad, 1);
        return;
    }
    if (o.from_logits) {
        T m = -INFINITY;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) m = xi[j] > m ? xi[j] : m;
        m = block_max<T>(m, sht);
        double s = 0.0, sx = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            s += exp((double)(xi[j] - m));
            sx += (double)xi[j];
        }
        s = block_sum(s, shd);
        sx = block_sum(sx, shd);
        double lse = (double)m + log(s);
        if (loss && threadIdx.x == 0)
            loss[i] = T(lse - (1.0 - ls) * (double)xi[y] - base * sx);
        if (gi)
            for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
                double p = exp((double)xi[j] - lse);
                gi[j] = T(w * (p - base - (j == y ? 1.0 - ls : 0.0)));
            }
    } else {
        double s = 0.0, slog = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            double cj = clip_prob((double)xi[j], o.epsilon);
            s += cj;
            slog += log(cj);
        }
        s = block_sum(s, shd);
        slog = block_sum(slog, shd);
        double cy = clip_prob((double)xi[y], o.epsilon);
        if (loss && threadIdx.x == 0)
            loss[i] = T(log(s) - (1.0 - ls) * log(cy) - base * slog);
        if (gi)
            for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
                double xj = (double)xi[j];
                double cj = clip_prob(xj, o.epsilon);
                double tj = base + (j == y ? 1.0 - ls : 0.0);
                bool pass = !(xj < o.epsilon) && !(xj > 1.0 - o.epsilon);
                gi[j] = T(pass ? w * (1.0 / s - tj / cj) : 0.0);
            }
    }
}

// Dense targets (any distribution per row), the CPU's row_logits_dense / row_probs_dense.
template <typename T>
__global__ void xent_dense_rows(int64_t n, int64_t c, const T *__restrict__ x,
                                const T *__restrict__ t, const T *__restrict__ gscale,
                                T *__restrict__ grad, T *__restrict__ loss, fk_xent_opts o) {
    __shared__ double shd[kThreads];
    __shared__ T sht[kThreads];
    int64_t i = blockIdx.x;
    if (i >= n) return;
    const T *xi = x + i * c, *ti = t + i * c;
    T *gi = grad ? grad + i * c : nullptr;
    const double w = gscale ? (double)gscale[i] * o.grad_scale : o.grad_scale;
    const double ls = o.label_smoothing, base = ls / (double)c;
    if (o.from_logits) {
        T m = -INFINITY;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) m = xi[j] > m ? xi[j] : m;
        m = block_max<T>(m, sht);
        double st = 0.0, stmx = 0.0, smx = 0.0, s = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            const double d = (double)m - (double)xi[j];
            st += (double)ti[j];
            if (ti[j] != T(0)) stmx += (double)ti[j] * d;  // a -inf logit with t = 0 adds 0
            smx += d;
            s += exp(-d);
        }
        st = block_sum(st, shd);
        stmx = block_sum(stmx, shd);
        smx = block_sum(smx, shd);
        s = block_sum(s, shd);
        if (ls > 0.0) {
            st = st * (1.0 - ls) + ls;
            stmx = stmx * (1.0 - ls) + base * smx;
        }
        if (loss && threadIdx.x == 0) loss[i] = T(log(s) * st + stmx);
        if (gi)
            for (int64_t j = threadIdx.x; j < c; j += blockDim.x)
                gi[j] = T(w * st * exp((double)xi[j] - (double)m) / s -
                          w * (1.0 - ls) * (double)ti[j] - w * base);
    } else {
        double s = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) s += (double)xi[j];
        s = block_sum(s, shd);
        double l = 0.0, aq = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            const double q = (double)T((double)xi[j] / s);  // the division in T, as in Keras
            const double cj = clip_prob(q, o.epsilon), tj = (double)ti[j] * (1.0 - ls) + base;
            l -= tj * log(cj);
            const bool pass = !(q < o.epsilon) && !(q > 1.0 - o.epsilon);
            aq += (pass ? -tj / cj : (q != q ? q : 0.0)) * q;
        }
        l = block_sum(l, shd);
        aq = block_sum(aq, shd);
        if (loss && threadIdx.x == 0) loss[i] = T(l);
        if (gi)
            for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
                const double q = (double)T((double)xi[j] / s);
                const double cj = clip_prob(q, o.epsilon), tj = (double)ti[j] * (1.0 - ls) + base;
                const bool pass = !(q < o.epsilon) && !(q > 1.0 - o.epsilon);
                const double a = pass ? -tj / cj : (q != q ? q : 0.0);
                gi[j] = T(w * (a - aq) / s);
            }
    }
}

using fkcuda::status_of;

// labels (sparse) or targets (dense): exactly one is given.
template <typename T>
int launch(int64_t n, int64_t c, const T *x, const int64_t *labels, const T *targets,
           const T *gscale, T *grad, T *loss, const fk_xent_opts *opts, void *stream) {
    if (n < 0 || c < 1) return FK_EBADSHAPE;
    if (n == 0) return FK_OK;
    if (n > 2147483647LL) return FK_EBADSHAPE;
    if (!x || (!labels && !targets)) return FK_ENULL;
    // Defaults spelled out here: fk_cuda must not depend back on fk_core (static link order).
    fk_xent_opts o = {1, 0.0, 1e-7, 0, -1, 1.0};
    if (opts) o = *opts;
    if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0)) return FK_EBADARG;
    int *bad = nullptr;
    cudaStream_t st = (cudaStream_t)stream;
    int rc = status_of(cudaMallocAsync((void **)&bad, sizeof(int), st));
    if (rc != FK_OK) return rc;
    cudaMemsetAsync(bad, 0, sizeof(int), st);
    if (labels)
        xent_sparse_rows<T><<<(unsigned)n, kThreads, 0, st>>>(n, c, x, labels, gscale, grad,
                                                              loss, o, bad);
    else
        xent_dense_rows<T><<<(unsigned)n, kThreads, 0, st>>>(n, c, x, targets, gscale, grad,
                                                             loss, o);
    int hbad = 0;
    rc = status_of(cudaGetLastError());
    if (rc == FK_OK) rc = status_of(cudaMemcpyAsync(&hbad, bad, sizeof(int),
                                                    cudaMemcpyDeviceToHost, st));
    if (rc == FK_OK) rc = status_of(cudaStreamSynchronize(st));
    cudaFreeAsync(bad, st);
    if (rc == FK_OK && hbad) rc = FK_ELABEL;
    return rc;
}

template <typename T>
int host_wrapper(int64_t n, int64_t c, const T *x, const int64_t *labels, const T *targets,
                 const T *gscale, T *grad, T *loss, const fk_xent_opts *opts) {
    if (n < 0 || c < 1) return FK_EBADSHAPE;
    if (n == 0) return FK_OK;
    if (!x || (!labels && !targets)) return FK_ENULL;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    const size_t nx = (size_t)n * (size_t)c;
    fkcuda::Buffers bufs;
    void *dx, *dy = nullptr, *dt = nullptr, *dg = nullptr, *dl = nullptr, *dw = nullptr;
    rc = bufs.upload(&dx, x, nx * sizeof(T));
    if (rc == FK_OK && labels) rc = bufs.upload(&dy, labels, (size_t)n * sizeof(int64_t));
    if (rc == FK_OK && targets) rc = bufs.upload(&dt, targets, nx * sizeof(T));
    if (rc == FK_OK && grad) rc = bufs.alloc(&dg, nx * sizeof(T));
    if (rc == FK_OK && loss) rc = bufs.alloc(&dl, (size_t)n * sizeof(T));
    if (rc == FK_OK && gscale) rc = bufs.upload(&dw, gscale, (size_t)n * sizeof(T));
    if (rc == FK_OK)
        rc = launch<T>(n, c, (T *)dx, (int64_t *)dy, (T *)dt, (T *)dw, (T *)dg, (T *)dl, opts,
                       nullptr);
    if (rc == FK_OK && grad)
        rc = status_of(cudaMemcpy(grad, dg, nx * sizeof(T), cudaMemcpyDeviceToHost));
    if (rc == FK_OK && loss)
        rc = status_of(cudaMemcpy(loss, dl, (size_t)n * sizeof(T), cudaMemcpyDeviceToHost));
    return rc;
}

}  // namespace

namespace fkcuda {

template <typename T>
int xent_launch(int64_t n, int64_t c, const T *x, const int64_t *labels, const T *targets,
                const T *gscale, T *grad, T *loss, const fk_xent_opts *opts, void *stream) {
    return launch<T>(n, c, x, labels, targets, gscale, grad, loss, opts, stream);
}
template int xent_launch<float>(int64_t, int64_t, const float *, const int64_t *,
                                const float *, const float *, float *, float *,
                                const fk_xent_opts *, void *);
template int xent_launch<double>(int64_t, int64_t, const double *, const int64_t *,
                                 const double *, const double *, double *, double *,
                                 const fk_xent_opts *, void *);

}  // namespace fkcuda

extern "C" int fk_softmax_xent_sparse_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                                   const int64_t *labels, const float *gscale,
                                                   float *grad, float *loss,
                                                   const fk_xent_opts *opts, void *stream) {
    return launch<float>(n, c, x, labels, nullptr, gscale, grad, loss, opts, stream);
}
extern "C" int fk_softmax_xent_sparse_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                                   const int64_t *labels, const double *gscale,
                                                   double *grad, double *loss,
                                                   const fk_xent_opts *opts, void *stream) {
    return launch<double>(n, c, x, labels, nullptr, gscale, grad, loss, opts, stream);
}
extern "C" int fk_softmax_xent_sparse_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                                        const int64_t *labels,
                                                        const float *gscale, float *grad,
                                                        float *loss, const fk_xent_opts *opts) {
    return host_wrapper<float>(n, c, x, labels, nullptr, gscale, grad, loss, opts);
}
extern "C" int fk_softmax_xent_sparse_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                                        const int64_t *labels,
                                                        const double *gscale, double *grad,
                                                        double *loss, const fk_xent_opts *opts) {
    return host_wrapper<double>(n, c, x, labels, nullptr, gscale, grad, loss, opts);
}
extern "C" int fk_softmax_xent_dense_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                                  const float *targets, const float *gscale,
                                                  float *grad, float *loss,
                                                  const fk_xent_opts *opts, void *stream) {
    return launch<float>(n, c, x, nullptr, targets, gscale, grad, loss, opts, stream);
}
extern "C" int fk_softmax_xent_dense_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                                  const double *targets, const double *gscale,
                                                  double *grad, double *loss,
                                                  const fk_xent_opts *opts, void *stream) {
    return launch<double>(n, c, x, nullptr, targets, gscale, grad, loss, opts, stream);
}
extern "C" int fk_softmax_xent_dense_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                                       const float *targets,
                                                       const float *gscale, float *grad,
                                                       float *loss, const fk_xent_opts *opts) {
    return host_wrapper<float>(n, c, x, nullptr, targets, gscale, grad, loss, opts);
}
extern "C" int fk_softmax_xent_dense_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                                       const double *targets,
                                                       const double *gscale, double *grad,
                                                       double *loss, const fk_xent_opts *opts) {
    return host_wrapper<double>(n, c, x, nullptr, targets, gscale, grad, loss, opts);
}
