// The activation kinds of activation.h on the device (forward and backward, TensorFlow's
// NaN semantics, the CPU's formulas of activation_impl.h) and the row softmax, shared by
// the dense chain (inference) and the training primitives.
#ifndef FASTKERAS_CUDA_ACTIVATION_CUH
#define FASTKERAS_CUDA_ACTIVATION_CUH

#include <math.h>
#include "common.cuh"
#include "fastkeras/activation.h"

namespace fkcuda {

template <typename T>
__device__ T sigmoid(T v) { return T(1) / (T(1) + exp(-v)); }
template <typename T>
__device__ T softplus(T v) { return log1p(exp(-fabs(v))) + (v > T(0) ? v : T(0)); }
template <typename T>
__device__ T ncdf(T v) { return T(0.5) * erfc(-v * T(0.7071067811865476)); }

constexpr double kSeluScale = 1.0507009873554805, kSeluAlpha = 1.6732632423543772;
constexpr double kGeluC = 2 * 0.7978845608028654;  // 2 sqrt(2 / pi)

// y = f(v); any kind outside activation.h (linear, softmax) is the identity here.
template <typename T>
__device__ T activate(int kind, T v, T al) {
    switch (kind) {
    case FK_ACT_RELU: return !(v <= T(0)) ? v : T(0);
    case FK_ACT_RELU6: return v != v ? v : (v < T(0) ? T(0) : (v > T(6) ? T(6) : v));
    case FK_ACT_LEAKY_RELU: return v > T(0) ? v : al * v;
    case FK_ACT_ELU: return v > T(0) ? v : al * expm1(v < T(0) ? v : T(0));
    case FK_ACT_SELU:
        return T(kSeluScale) * (v > T(0) ? v : T(kSeluAlpha) * expm1(v < T(0) ? v : T(0)));
    case FK_ACT_SIGMOID: return sigmoid(v);
    case FK_ACT_TANH: return tanh(v);
    case FK_ACT_SOFTPLUS: return softplus(v);
    case FK_ACT_SOFTSIGN: return v / (T(1) + fabs(v));
    case FK_ACT_SILU: return v * sigmoid(v);
    case FK_ACT_HARD_SIGMOID:
        return v != v ? v : fmin(fmax(v + T(3), T(0)), T(6)) / T(6);
    case FK_ACT_HARD_SILU: return v * (fmin(fmax(v + T(3), T(0)), T(6)) / T(6));
    case FK_ACT_MISH: return v * tanh(softplus(v));
    case FK_ACT_LOG_SIGMOID: return -softplus(-v);
    case FK_ACT_GELU_TANH: return v * sigmoid(T(kGeluC) * (v + T(0.044715) * v * v * v));
    case FK_ACT_GELU_ERF: return v * ncdf(v);
    default: return v;
    }
}

// dx = g f'(x) (y = f(x)); any kind outside activation.h passes g through.
template <typename T>
__device__ T activate_bwd(int kind, T x, T y, T g, T al) {
    switch (kind) {
    case FK_ACT_RELU: return x > T(0) ? g : T(0);
    case FK_ACT_RELU6: return (x > T(0) && x < T(6)) ? g : T(0);
    case FK_ACT_LEAKY_RELU: return x > T(0) ? g : al * g;
    case FK_ACT_ELU: return x > T(0) ? g : g * al * exp(x < T(0) ? x : T(0));
    case FK_ACT_SELU:
        return g * T(kSeluScale) * (x > T(0) ? T(1) : T(kSeluAlpha) * exp(x < T(0) ? x : T(0)));
    case FK_ACT_SIGMOID: return g * y * (T(1) - y);
    case FK_ACT_TANH: return g * (T(1) - y * y);
    case FK_ACT_SOFTPLUS: return g * sigmoid(x);
    case FK_ACT_SOFTSIGN: { const T d = T(1) + fabs(x); return g / (d * d); }
    case FK_ACT_SILU: { const T s = sigmoid(x); return g * (s + x * s * (T(1) - s)); }
    case FK_ACT_HARD_SIGMOID: return (x > T(-3) && x < T(3)) ? g / T(6) : T(0);
    case FK_ACT_HARD_SILU:
        return x <= T(-3) ? T(0) : (x >= T(3) ? g : g * (T(2) * x + T(3)) / T(6));
    case FK_ACT_MISH: {
        const T t = tanh(softplus(x));
        return g * (t + x * (T(1) - t * t) * sigmoid(x));
    }
    case FK_ACT_LOG_SIGMOID: return g * sigmoid(-x);
    case FK_ACT_GELU_TANH: {
        const T s = sigmoid(T(kGeluC) * (x + T(0.044715) * x * x * x));
        const T du2 = T(kGeluC) * (T(1) + T(3 * 0.044715) * x * x);
        return g * (s + x * s * (T(1) - s) * du2);
    }
    case FK_ACT_GELU_ERF:
        return g * (ncdf(x) + x * T(0.3989422804014327) * exp(T(-0.5) * x * x));
    default: return g;
    }
}

constexpr int kRowThreads = 256;  // softmax: one block of this many threads per row

// y = softmax(z) over rows of c (y may be z), sums in double.
template <typename T>
__global__ void softmax_rows(int64_t n, int64_t c, const T *z, T *y) {
    __shared__ double shd[kRowThreads];
    __shared__ T sht[kRowThreads];
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const T *row = z + r * c;
        T *out = y + r * c;
        T m = -INFINITY;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) m = row[j] > m ? row[j] : m;
        m = block_max<T>(m, sht);
        double s = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) s += exp((double)(row[j] - m));
        s = block_sum(s, shd);
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x)
            out[j] = T(exp((double)(row[j] - m)) / s);
    }
}

}  // namespace fkcuda

#endif
