// CUDA twins of the convolution and pooling kernels: direct gathers, one
// thread per output element, accumulation in the element type (double for
// float64), deterministic. cuBLAS/cuDNN paths can replace the bodies later
// without changing the entry points.
#include <cuda_runtime.h>
#include <float.h>
#include <stdint.h>
#include "common.cuh"
#include "host_copies.h"
#include "conv_pool.cuh"

namespace {

constexpr int kThreads = 256;

struct Dims {
    int64_t n, in[3], out[3], k[3], stride[3], dil[3], pad[3], cin, cout, groups;
};

Dims dims_of(const fk_conv_geom *g) {
    Dims d;
    d.n = g->n;
    for (int i = 0; i < 3; ++i) {
        d.in[i] = g->in[i]; d.out[i] = g->out[i]; d.k[i] = g->k[i];
        d.stride[i] = g->stride[i]; d.dil[i] = g->dil[i]; d.pad[i] = g->pad[i];
    }
    d.cin = g->cin; d.cout = g->cout; d.groups = g->groups;
    return d;
}

Dims dims_of(const fk_pool_geom *g) {
    Dims d;
    d.n = g->n;
    for (int i = 0; i < 3; ++i) {
        d.in[i] = g->in[i]; d.out[i] = g->out[i]; d.k[i] = g->k[i];
        d.stride[i] = g->stride[i]; d.dil[i] = 1; d.pad[i] = g->pad[i];
    }
    d.cin = d.cout = g->c; d.groups = 1;
    return d;
}

__device__ inline void unflat(int64_t p, const int64_t *sz, int64_t o[3]) {
    o[0] = p / (sz[1] * sz[2]);
    o[1] = (p / sz[2]) % sz[1];
    o[2] = p % sz[2];
}

template <typename T>
__global__ void conv_fwd(Dims d, const T *x, const T *w, const T *bias, T *y) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2], Pin = d.in[0] * d.in[1] * d.in[2];
    const int64_t total = d.n * P * d.cout;
    const int64_t cig = d.cin / d.groups, cog = d.cout / d.groups;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t co = e % d.cout, p = (e / d.cout) % P, img = e / (d.cout * P);
        const int64_t gr = co / cog;
        int64_t o[3];
        unflat(p, d.out, o);
        T acc = bias ? bias[co] : T(0);
        int64_t tap = 0;
        for (int64_t a = 0; a < d.k[0]; ++a)
            for (int64_t b = 0; b < d.k[1]; ++b)
                for (int64_t c = 0; c < d.k[2]; ++c, ++tap) {
                    int64_t i0 = o[0] * d.stride[0] - d.pad[0] + a * d.dil[0];
                    int64_t i1 = o[1] * d.stride[1] - d.pad[1] + b * d.dil[1];
                    int64_t i2 = o[2] * d.stride[2] - d.pad[2] + c * d.dil[2];
                    if (i0 < 0 || i0 >= d.in[0] || i1 < 0 || i1 >= d.in[1] || i2 < 0 || i2 >= d.in[2])
                        continue;
                    const T *xr = x + (img * Pin + (i0 * d.in[1] + i1) * d.in[2] + i2) * d.cin + gr * cig;
                    const T *wr = w + tap * cig * d.cout + co;
                    for (int64_t ci = 0; ci < cig; ++ci) acc += xr[ci] * wr[ci * d.cout];
                }
        y[e] = acc;
    }
}

template <typename T>
__global__ void conv_bwd_data(Dims d, const T *dy, const T *w, T *dx) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2], Pin = d.in[0] * d.in[1] * d.in[2];
    const int64_t total = d.n * Pin * d.cin;
    const int64_t cig = d.cin / d.groups, cog = d.cout / d.groups;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ci = e % d.cin, pi = (e / d.cin) % Pin, img = e / (d.cin * Pin);
        const int64_t gr = ci / cig, cl = ci % cig;
        int64_t i[3];
        unflat(pi, d.in, i);
        T acc = T(0);
        int64_t tap = 0;
        for (int64_t a = 0; a < d.k[0]; ++a)
            for (int64_t b = 0; b < d.k[1]; ++b)
                for (int64_t c = 0; c < d.k[2]; ++c, ++tap) {
                    int64_t kk[3] = {a, b, c}, o[3];
                    bool ok = true;
                    for (int t = 0; t < 3 && ok; ++t) {
                        int64_t num = i[t] + d.pad[t] - kk[t] * d.dil[t];
                        ok = num >= 0 && num % d.stride[t] == 0 && num / d.stride[t] < d.out[t];
                        o[t] = ok ? num / d.stride[t] : 0;
                    }
                    if (!ok) continue;
                    const int64_t po = (o[0] * d.out[1] + o[1]) * d.out[2] + o[2];
                    const T *dyr = dy + (img * P + po) * d.cout + gr * cog;
                    const T *wr = w + (tap * cig + cl) * d.cout + gr * cog;
                    for (int64_t co = 0; co < cog; ++co) acc += dyr[co] * wr[co];
                }
        dx[e] = acc;
    }
}

template <typename T>
__global__ void conv_bwd_filter(Dims d, const T *x, const T *dy, T *dw) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2], Pin = d.in[0] * d.in[1] * d.in[2];
    const int64_t cig = d.cin / d.groups, cog = d.cout / d.groups;
    const int64_t total = d.k[0] * d.k[1] * d.k[2] * cig * d.cout;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t co = e % d.cout, cl = (e / d.cout) % cig, tap = e / (d.cout * cig);
        const int64_t gr = co / cog;
        const int64_t ka = tap / (d.k[1] * d.k[2]), kb = (tap / d.k[2]) % d.k[1], kc = tap % d.k[2];
        T acc = T(0);
        for (int64_t img = 0; img < d.n; ++img)
            for (int64_t p = 0; p < P; ++p) {
                int64_t o[3];
                unflat(p, d.out, o);
                int64_t i0 = o[0] * d.stride[0] - d.pad[0] + ka * d.dil[0];
                int64_t i1 = o[1] * d.stride[1] - d.pad[1] + kb * d.dil[1];
                int64_t i2 = o[2] * d.stride[2] - d.pad[2] + kc * d.dil[2];
                if (i0 < 0 || i0 >= d.in[0] || i1 < 0 || i1 >= d.in[1] || i2 < 0 || i2 >= d.in[2])
                    continue;
                acc += x[(img * Pin + (i0 * d.in[1] + i1) * d.in[2] + i2) * d.cin + gr * cig + cl] *
                       dy[(img * P + p) * d.cout + co];
            }
        dw[e] = acc;
    }
}

template <typename T>
__global__ void bias_grad(Dims d, const T *dy, T *db) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2];
    for (int64_t co = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; co < d.cout;
         co += (int64_t)gridDim.x * blockDim.x) {
        T acc = T(0);
        for (int64_t r = 0; r < d.n * P; ++r) acc += dy[r * d.cout + co];
        db[co] = acc;
    }
}

template <typename T> __device__ inline T lowest_of();
template <> __device__ inline float lowest_of<float>() { return -FLT_MAX; }
template <> __device__ inline double lowest_of<double>() { return -DBL_MAX; }

template <typename T>
__global__ void pool_fwd(Dims d, const T *x, T *y, uint8_t *argmax, bool is_max) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2], Pin = d.in[0] * d.in[1] * d.in[2];
    const int64_t C = d.cin, total = d.n * P * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t c = e % C, p = (e / C) % P, img = e / (C * P);
        int64_t o[3], lo[3], hi[3];
        unflat(p, d.out, o);
        for (int t = 0; t < 3; ++t) {
            int64_t s = o[t] * d.stride[t] - d.pad[t];
            lo[t] = s < 0 ? 0 : s;
            hi[t] = s + d.k[t] > d.in[t] ? d.in[t] : s + d.k[t];
        }
        // as on the CPU (and in TensorFlow): the start is the lowest finite value, so NaN
        // never wins; strictly greater, so the first maximum wins
        T best = lowest_of<T>(), sum = T(0);
        uint8_t arg = 0;
        bool first = true;
        for (int64_t a = lo[0]; a < hi[0]; ++a)
            for (int64_t b = lo[1]; b < hi[1]; ++b)
                for (int64_t q = lo[2]; q < hi[2]; ++q) {
                    const int64_t idx = (a * d.in[1] + b) * d.in[2] + q;
                    const T v = x[(img * Pin + idx) * C + c];
                    // position inside the window, as the CPU kernels record it
                    const uint8_t pos =
                        (uint8_t)((((a - (o[0] * d.stride[0] - d.pad[0])) * d.k[1]) +
                                   (b - (o[1] * d.stride[1] - d.pad[1]))) * d.k[2] +
                                  (q - (o[2] * d.stride[2] - d.pad[2])));
                    if (first) arg = pos;
                    first = false;
                    if (v > best) {
                        best = v;
                        arg = pos;
                    }
                    sum += v;
                }
        if (is_max) {
            y[e] = best;
            if (argmax) argmax[e] = arg;
        } else {
            y[e] = sum / T((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
        }
    }
}

template <typename T>
__global__ void pool_bwd(Dims d, const T *dy, const uint8_t *argmax, T *dx, bool is_max) {
    const int64_t P = d.out[0] * d.out[1] * d.out[2], Pin = d.in[0] * d.in[1] * d.in[2];
    const int64_t C = d.cin, total = d.n * Pin * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t c = e % C, pi = (e / C) % Pin, img = e / (C * Pin);
        int64_t i[3], olo[3], ohi[3];
        unflat(pi, d.in, i);
        for (int t = 0; t < 3; ++t) {  // outputs whose window covers i
            int64_t num = i[t] + d.pad[t] - d.k[t] + 1;
            olo[t] = num <= 0 ? 0 : (num + d.stride[t] - 1) / d.stride[t];
            int64_t h = (i[t] + d.pad[t]) / d.stride[t];
            ohi[t] = h >= d.out[t] ? d.out[t] - 1 : h;
        }
        T acc = T(0);
        for (int64_t a = olo[0]; a <= ohi[0]; ++a)
            for (int64_t b = olo[1]; b <= ohi[1]; ++b)
                for (int64_t q = olo[2]; q <= ohi[2]; ++q) {
                    const int64_t po = (a * d.out[1] + b) * d.out[2] + q, oe = (img * P + po) * C + c;
                    if (is_max) {
                        const int64_t loc = ((i[0] - (a * d.stride[0] - d.pad[0])) * d.k[1] +
                                             (i[1] - (b * d.stride[1] - d.pad[1]))) * d.k[2] +
                                            (i[2] - (q * d.stride[2] - d.pad[2]));
                        if (argmax[oe] == loc) acc += dy[oe];
                    } else {
                        int64_t cnt = 1, o[3] = {a, b, q};
                        for (int t = 0; t < 3; ++t) {
                            int64_t s = o[t] * d.stride[t] - d.pad[t];
                            int64_t lo = s < 0 ? 0 : s, hi = s + d.k[t] > d.in[t] ? d.in[t] : s + d.k[t];
                            cnt *= hi - lo;
                        }
                        acc += dy[oe] / T(cnt);
                    }
                }
        dx[e] = acc;
    }
}

using fkcuda::status_of;

int up(void **dev, const void *host, size_t bytes, fkcuda::Buffers &bufs) {
    return bufs.upload(dev, host, bytes);
}


// Sizes of a convolution's x, y and w, and of a pooling's x and y.
struct ConvSizes {
    size_t x, y, w;
};
ConvSizes conv_sizes(const Dims &d) {
    return {(size_t)(d.n * d.in[0] * d.in[1] * d.in[2] * d.cin),
            (size_t)(d.n * d.out[0] * d.out[1] * d.out[2] * d.cout),
            (size_t)(d.k[0] * d.k[1] * d.k[2] * (d.cin / d.groups) * d.cout)};
}

template <typename T>
int conv_host(int which, const fk_conv_geom *g, const T *a, const T *b, const T *bias, T *out,
              T *out2) {
    int rc = fk_conv_check(g);
    if (rc != FK_OK) return rc;
    if (!a || !b || !out) return FK_ENULL;
    rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    const ConvSizes z = conv_sizes(dims_of(g));
    fkcuda::Buffers bufs;
    void *da, *db_, *dbias = nullptr, *dout, *dout2 = nullptr;
    size_t na = which == 1 ? z.y : z.x, nb = which == 2 ? z.y : z.w;
    size_t nout = which == 0 ? z.y : (which == 1 ? z.x : z.w);
    rc = up(&da, a, na * sizeof(T), bufs);
    if (rc == FK_OK) rc = up(&db_, b, nb * sizeof(T), bufs);
    if (rc == FK_OK && bias && which == 0) rc = up(&dbias, bias, (size_t)g->cout * sizeof(T), bufs);
    if (rc == FK_OK) rc = up(&dout, nullptr, nout * sizeof(T), bufs);
    if (rc == FK_OK && out2 && which == 2) rc = up(&dout2, nullptr, (size_t)g->cout * sizeof(T), bufs);
    if (rc == FK_OK)
        rc = fkcuda::conv_launch<T>(which, g, (T *)da, (T *)db_, (T *)dbias, (T *)dout,
                                    (T *)dout2, 0);
    if (rc == FK_OK) rc = status_of(cudaMemcpy(out, dout, nout * sizeof(T), cudaMemcpyDeviceToHost));
    if (rc == FK_OK && dout2)
        rc = status_of(cudaMemcpy(out2, dout2, (size_t)g->cout * sizeof(T), cudaMemcpyDeviceToHost));
    return rc;
}

template <typename T>
int pool_host(int which, const fk_pool_geom *g, const T *in, T *out, uint8_t *argmax) {
    int rc = fk_pool_check(g);
    if (rc != FK_OK) return rc;
    if (!in || !out || (which == 1 && !argmax)) return FK_ENULL;
    if (which <= 1 && argmax && g->k[0] * g->k[1] * g->k[2] > 256) return FK_EBADARG;
    rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    Dims d = dims_of(g);
    const size_t nx = (size_t)(d.n * d.in[0] * d.in[1] * d.in[2] * d.cin);
    const size_t ny = (size_t)(d.n * d.out[0] * d.out[1] * d.out[2] * d.cin);
    const bool fwd = which == 0 || which == 2, is_max = which <= 1;
    fkcuda::Buffers bufs;
    void *din, *dout, *darg = nullptr;
    rc = up(&din, in, (fwd ? nx : ny) * sizeof(T), bufs);
    if (rc == FK_OK) rc = up(&dout, nullptr, (fwd ? ny : nx) * sizeof(T), bufs);
    if (rc == FK_OK && is_max && argmax)
        rc = up(&darg, which == 1 ? argmax : nullptr, ny * sizeof(uint8_t), bufs);
    if (rc == FK_OK)
        rc = fkcuda::pool_launch<T>(which, g, (T *)din, (T *)dout, (uint8_t *)darg, 0);
    if (rc == FK_OK)
        rc = status_of(cudaMemcpy(out, dout, (fwd ? ny : nx) * sizeof(T), cudaMemcpyDeviceToHost));
    if (rc == FK_OK && which == 0 && argmax)
        rc = status_of(cudaMemcpy(argmax, darg, ny * sizeof(uint8_t), cudaMemcpyDeviceToHost));
    return rc;
}

}  // namespace

namespace fkcuda {

template <typename T>
int conv_launch(int which, const fk_conv_geom *g, const T *a, const T *b, const T *bias, T *out,
                T *out2, cudaStream_t st) {
    const Dims d = dims_of(g);
    const ConvSizes z = conv_sizes(d);
    if (which == 0)
        conv_fwd<T><<<fkcuda::blocks_for(z.y, kThreads), kThreads, 0, st>>>(d, a, b, bias, out);
    else if (which == 1)
        conv_bwd_data<T><<<fkcuda::blocks_for(z.x, kThreads), kThreads, 0, st>>>(d, a, b, out);
    else {
        conv_bwd_filter<T><<<fkcuda::blocks_for(z.w, kThreads), kThreads, 0, st>>>(d, a, b, out);
        if (out2) bias_grad<T><<<fkcuda::blocks_for(d.cout, kThreads), kThreads, 0, st>>>(d, b, out2);
    }
    return status_of(cudaGetLastError());
}

template <typename T>
int pool_launch(int which, const fk_pool_geom *g, const T *in, T *out, uint8_t *argmax,
                cudaStream_t st) {
    const Dims d = dims_of(g);
    const int64_t nx = d.n * d.in[0] * d.in[1] * d.in[2] * d.cin;
    const int64_t ny = d.n * d.out[0] * d.out[1] * d.out[2] * d.cin;
    const bool is_max = which <= 1;
    if (which == 0 || which == 2)
        pool_fwd<T><<<fkcuda::blocks_for(ny, kThreads), kThreads, 0, st>>>(d, in, out, argmax, is_max);
    else
        pool_bwd<T><<<fkcuda::blocks_for(nx, kThreads), kThreads, 0, st>>>(d, in, argmax, out, is_max);
    return status_of(cudaGetLastError());
}

template int conv_launch<float>(int, const fk_conv_geom *, const float *, const float *,
                                const float *, float *, float *, cudaStream_t);
template int conv_launch<double>(int, const fk_conv_geom *, const double *, const double *,
                                 const double *, double *, double *, cudaStream_t);
template int pool_launch<float>(int, const fk_pool_geom *, const float *, float *, uint8_t *,
                                cudaStream_t);
template int pool_launch<double>(int, const fk_pool_geom *, const double *, double *,
                                 uint8_t *, cudaStream_t);

}  // namespace fkcuda

extern "C" int fk_conv_f32_cuda_host(int which, const fk_conv_geom *g, const float *a,
                                     const float *b, const float *bias, float *out, float *out2) {
    return conv_host<float>(which, g, a, b, bias, out, out2);
}
extern "C" int fk_conv_f64_cuda_host(int which, const fk_conv_geom *g, const double *a,
                                     const double *b, const double *bias, double *out,
                                     double *out2) {
    return conv_host<double>(which, g, a, b, bias, out, out2);
}
extern "C" int fk_pool_f32_cuda_host(int which, const fk_pool_geom *g, const float *in, float *out,
                                     uint8_t *argmax) {
    return pool_host<float>(which, g, in, out, argmax);
}
extern "C" int fk_pool_f64_cuda_host(int which, const fk_pool_geom *g, const double *in,
                                     double *out, uint8_t *argmax) {
    return pool_host<double>(which, g, in, out, argmax);
}
