// CUDA twin of the fused optimizer step: per element the formulas of optim_bodies.h
// (the CPU's, token for token), one grid-stride kernel per tensor on one stream. Each
// element is read and written once: bound by memory bandwidth.
#include "common.cuh"
#include "fastkeras/cuda/optim_cuda.h"
#include "host_copies.h"
#include "../optim_bodies.h"
#include "../optim_check.h"

namespace {

constexpr int kThreads = 256;

__device__ inline float fk_sqrt(float x) { return sqrtf(x); }
__device__ inline double fk_sqrt(double x) { return sqrt(x); }
#define SQRT(x) fk_sqrt(x)

// The step's scalars, converted to T once on the host.
template <typename T>
struct Scalars {
    T lr, b1, b2, eps, rho, mom, alpha, c1, c2, vcorr, wd, cv, em;
    int kind, amsgrad, centered, has_momentum, decay;
};

template <typename T>
__global__ void optim_kernel(Scalars<T> a, int64_t n, T *__restrict__ p,
                             const T *__restrict__ gr, T gs, T *__restrict__ s0,
                             T *__restrict__ s1, T *__restrict__ s2, T *__restrict__ ema) {
    const T lr = a.lr, b1 = a.b1, b2 = a.b2, eps = a.eps, rho = a.rho, mom = a.mom;
    const T alpha = a.alpha, c1 = a.c1, c2 = a.c2, vcorr = a.vcorr, one = T(1);
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        T g = gr[i] * gs;
        g = g < -a.cv ? -a.cv : (g > a.cv ? a.cv : g);  // cv = inf when not clipping
        T w = p[i];
        if (a.decay) w = w - w * a.wd * lr;
        switch (a.kind) {  // uniform across the grid: no divergence
        case FK_OPT_SGD: { FK_OPT_BODY_SGD } break;
        case FK_OPT_MOMENTUM: { FK_OPT_BODY_MOMENTUM } break;
        case FK_OPT_NESTEROV: { FK_OPT_BODY_NESTEROV } break;
        case FK_OPT_ADAM:
            if (a.amsgrad) { FK_OPT_BODY_AMSGRAD } else { FK_OPT_BODY_ADAM }
            break;
        case FK_OPT_ADAGRAD: { FK_OPT_BODY_ADAGRAD } break;
        case FK_OPT_ADADELTA: { FK_OPT_BODY_ADADELTA } break;
        case FK_OPT_RMSPROP:
            if (a.centered && a.has_momentum) { FK_OPT_BODY_RMSPROP_CENTERED_MOMENTUM }
            else if (a.centered) { FK_OPT_BODY_RMSPROP_CENTERED }
            else if (a.has_momentum) { FK_OPT_BODY_RMSPROP_MOMENTUM }
            else { FK_OPT_BODY_RMSPROP }
            break;
        case FK_OPT_ADAMAX: { FK_OPT_BODY_ADAMAX } break;
        case FK_OPT_NADAM: { FK_OPT_BODY_NADAM } break;
        case FK_OPT_LION: { FK_OPT_BODY_LION } break;
        default: break;
        }
        p[i] = w;
        if (ema) ema[i] = a.em * ema[i] + (one - a.em) * w;
    }
}

template <typename T>
Scalars<T> scalars_of(const fk_optim_args *a) {
    Scalars<T> s;
    s.lr = T(a->lr); s.b1 = T(a->beta1); s.b2 = T(a->beta2); s.eps = T(a->epsilon);
    s.rho = T(a->rho); s.mom = T(a->momentum); s.alpha = T(a->alpha); s.c1 = T(a->c1);
    s.c2 = T(a->c2); s.vcorr = T(a->vcorr); s.wd = T(a->weight_decay);
    s.cv = a->clipvalue > 0 ? T(a->clipvalue) : T(INFINITY); s.em = T(a->ema_momentum);
    s.kind = a->kind; s.amsgrad = a->amsgrad; s.centered = a->centered;
    s.has_momentum = a->momentum > 0; s.decay = a->weight_decay != 0.0;
    return s;
}

template <typename T>
T *slot(T *const *const *slots, int k, int64_t t) {
    return slots && slots[k] ? slots[k][t] : nullptr;
}

// The CPU's argument checks, then a device: FK_OK to go on.
template <typename T>
int preflight(const fk_optim_args *a, int64_t nt, const int64_t *sizes, T *const *params,
              const T *const *grads, T *const *const *slots, T *const *ema) {
    int rc = fk_optim_check(a, nt, sizes, (const void *const *)params,
                            (const void *const *)grads, (const void *const *const *)slots,
                            (const void *const *)ema);
    if (rc != FK_OK || nt == 0) return rc;
    return fkcuda::require_device();
}

template <typename T>
int step(const fk_optim_args *a, int64_t nt, const int64_t *sizes, T *const *params,
         const T *const *grads, const double *gscale, T *const *const *slots, T *const *ema,
         void *stream) {
    int rc = preflight(a, nt, sizes, params, grads, slots, ema);
    if (rc != FK_OK || nt == 0) return rc;
    cudaStream_t st = (cudaStream_t)stream;
    const Scalars<T> s = scalars_of<T>(a);
    for (int64_t t = 0; t < nt && rc == FK_OK; ++t) {
        if (sizes[t] == 0) continue;
        optim_kernel<T><<<fkcuda::blocks_for(sizes[t], kThreads, 8192), kThreads, 0, st>>>(
            s, sizes[t], params[t], grads[t], gscale ? T(gscale[t]) : T(1), slot(slots, 0, t),
            slot(slots, 1, t), slot(slots, 2, t), ema ? ema[t] : nullptr);
        rc = fkcuda::status_of(cudaGetLastError());
    }
    if (rc == FK_OK) rc = fkcuda::status_of(cudaStreamSynchronize(st));
    return rc;
}

template <typename T>
int step_host(const fk_optim_args *a, int64_t nt, const int64_t *sizes, T *const *params,
              const T *const *grads, const double *gscale, T *const *const *slots,
              T *const *ema) {
    int rc = preflight(a, nt, sizes, params, grads, slots, ema);
    if (rc != FK_OK || nt == 0) return rc;
    fkcuda::Buffers bufs;
    std::vector<T *> dp(nt), dg(nt), ds(3 * nt, nullptr), de(nt, nullptr);
    T *const *dslots[3] = {ds.data(), ds.data() + nt, ds.data() + 2 * nt};
    for (int64_t t = 0; t < nt && rc == FK_OK; ++t) {
        const size_t bytes = (size_t)sizes[t] * sizeof(T);
        rc = bufs.upload((void **)&dp[t], params[t], bytes);
        if (rc == FK_OK) rc = bufs.upload((void **)&dg[t], grads[t], bytes);
        for (int k = 0; k < 3 && rc == FK_OK; ++k)
            if (slot(slots, k, t)) rc = bufs.upload((void **)&ds[k * nt + t], slots[k][t], bytes);
        if (rc == FK_OK && ema && ema[t]) rc = bufs.upload((void **)&de[t], ema[t], bytes);
    }
    if (rc == FK_OK)
        rc = step<T>(a, nt, sizes, dp.data(), (const T *const *)dg.data(), gscale, dslots,
                     ema ? de.data() : nullptr, nullptr);
    for (int64_t t = 0; t < nt && rc == FK_OK; ++t) {  // results back only when all went well
        const size_t bytes = (size_t)sizes[t] * sizeof(T);
        if (!bytes) continue;
        rc = fkcuda::status_of(cudaMemcpy(params[t], dp[t], bytes, cudaMemcpyDeviceToHost));
        for (int k = 0; k < 3 && rc == FK_OK; ++k)
            if (ds[k * nt + t])
                rc = fkcuda::status_of(
                    cudaMemcpy(slots[k][t], ds[k * nt + t], bytes, cudaMemcpyDeviceToHost));
        if (rc == FK_OK && de[t])
            rc = fkcuda::status_of(cudaMemcpy(ema[t], de[t], bytes, cudaMemcpyDeviceToHost));
    }
    return rc;
}

}  // namespace

extern "C" int fk_optim_step_f32_cuda(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                                      float *const *params, const float *const *grads,
                                      const double *gscale, float *const *const *slots,
                                      float *const *ema, void *stream) {
    return step<float>(a, nt, sizes, params, grads, gscale, slots, ema, stream);
}
extern "C" int fk_optim_step_f64_cuda(const fk_optim_args *a, int64_t nt, const int64_t *sizes,
                                      double *const *params, const double *const *grads,
                                      const double *gscale, double *const *const *slots,
                                      double *const *ema, void *stream) {
    return step<double>(a, nt, sizes, params, grads, gscale, slots, ema, stream);
}
extern "C" int fk_optim_step_f32_cuda_host(const fk_optim_args *a, int64_t nt,
                                           const int64_t *sizes, float *const *params,
                                           const float *const *grads, const double *gscale,
                                           float *const *const *slots, float *const *ema) {
    return step_host<float>(a, nt, sizes, params, grads, gscale, slots, ema);
}
extern "C" int fk_optim_step_f64_cuda_host(const fk_optim_args *a, int64_t nt,
                                           const int64_t *sizes, double *const *params,
                                           const double *const *grads, const double *gscale,
                                           double *const *const *slots, double *const *ema) {
    return step_host<double>(a, nt, sizes, params, grads, gscale, slots, ema);
}
