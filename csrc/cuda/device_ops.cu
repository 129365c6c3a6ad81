// The training primitives of device_ops.h: products with transposes (gemm.cu), bias +
// activation (keeping the activation's input for the backward pass), activation and
// softmax gradients, column sums, element-wise products, mean squared error, and the
// fused cross-entropy (softmax_xent.cu). One thread per output element or per column:
// no atomics, so results are deterministic.
#include "activation.cuh"
#include "gemm.cuh"
#include "conv_pool.cuh"
#include "fastkeras/cuda/device_ops.h"
#include "softmax_xent.cuh"
#include "fastkeras/dense_chain.h"

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxElems = (int64_t)1 << 62;

template <typename T>
__global__ void bias_act_k(int64_t total, int64_t width, const T *__restrict__ b, T *z, T *y,
                           int kind, T al) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        T v = z[i];
        if (b) {
            v += b[i % width];
            z[i] = v;
        }
        y[i] = fkcuda::activate(kind, v, al);
    }
}

template <typename T>
__global__ void act_bwd_k(int64_t total, const T *__restrict__ x, const T *__restrict__ fy,
                          const T *__restrict__ g, T *__restrict__ dx, int kind, T al) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x)
        dx[i] = fkcuda::activate_bwd(kind, x[i], fy[i], g[i], al);
}

// dx = p (g - sum_j g_j p_j) per row, the sum in double.
template <typename T>
__global__ void softmax_bwd_k(int64_t n, int64_t c, const T *__restrict__ p,
                              const T *__restrict__ g, T *__restrict__ dx) {
    __shared__ double shd[fkcuda::kRowThreads];
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const T *pr = p + r * c, *gr = g + r * c;
        double s = 0.0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) s += (double)gr[j] * pr[j];
        s = fkcuda::block_sum(s, shd);
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x)
            dx[r * c + j] = T((double)pr[j] * ((double)gr[j] - s));
    }
}

// y[j] = beta y[j] + sum_i a[i, j]: one thread per column, rows in order (coalesced).
template <typename T>
__global__ void col_sum_k(int64_t m, int64_t n, const T *__restrict__ a, T beta,
                          T *__restrict__ y) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < n;
         j += (int64_t)gridDim.x * blockDim.x) {
        T s = T(0);
        for (int64_t i = 0; i < m; ++i) s += a[i * n + j];
        y[j] = beta == T(0) ? s : beta * y[j] + s;
    }
}

// y[i, :] = a[idx[i], :]; elements in order, so reads of one row are coalesced.
template <typename T>
__global__ void gather_k(int64_t m, int64_t n, const T *__restrict__ a,
                         const int64_t *__restrict__ idx, T *__restrict__ y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = a[idx[i / n] * n + i % n];
}

// g += l1 sign(w) + 2 l2 w, element-wise.
template <typename T>
__global__ void reg_grad_k(int64_t n, const T *__restrict__ w, T l1, T l2, T *__restrict__ g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const T v = w[i];
        g[i] += l1 * T((v > T(0)) - (v < T(0))) + T(2) * l2 * v;
    }
}

// out[0] = l1 sum|w| + l2 sum w^2: one block, sums in double in a fixed order.
template <typename T>
__global__ void reg_value_k(int64_t n, const T *__restrict__ w, double l1, double l2,
                            T *__restrict__ out) {
    __shared__ double sh[fkcuda::kRowThreads];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const double v = (double)w[i];
        s1 += fabs(v);
        s2 += v * v;
    }
    s1 = fkcuda::block_sum(s1, sh);
    s2 = fkcuda::block_sum(s2, sh);
    if (threadIdx.x == 0) out[0] = T(l1 * s1 + l2 * s2);
}

// Batch normalization, one block per column j (rows strided over the block's threads),
// sums in double. stats: means [0, n), variances [n, 2n).
template <typename T>
__global__ void bn_stats_k(int64_t m, int64_t n, const T *__restrict__ x, T mom, T rest,
                           T *__restrict__ stats, T *__restrict__ moving) {
    __shared__ double sh[fkcuda::kRowThreads];
    for (int64_t j = blockIdx.x; j < n; j += gridDim.x) {
        double s = 0.0;
        for (int64_t i = threadIdx.x; i < m; i += blockDim.x) s += (double)x[i * n + j];
        const double mean = fkcuda::block_sum(s, sh) / (double)m;
        double q = 0.0;
        for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
            const double d = (double)x[i * n + j] - mean;
            q += d * d;
        }
        const double var = fkcuda::block_sum(q, sh) / (double)m;
        if (threadIdx.x == 0) {
            stats[j] = T(mean);
            stats[n + j] = T(var);
            moving[j] = moving[j] * mom + T(mean) * rest;  // rest = 1 - momentum
            moving[n + j] = moving[n + j] * mom + T(var) * rest;
        }
    }
}

// y = (x - mean) * (gamma / sqrt(var + eps)) + beta, element-wise.
template <typename T>
__global__ void bn_apply_k(int64_t total, int64_t n, const T *__restrict__ x,
                           const T *__restrict__ gamma, const T *__restrict__ beta,
                           const T *__restrict__ stats, T eps, T *__restrict__ y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = i % n;
        T inv = T(1) / sqrt(stats[n + j] + eps);
        if (gamma) inv *= gamma[j];
        y[i] = (x[i] - stats[j]) * inv + (beta ? beta[j] : T(0));
    }
}

// (dgamma, dbeta) per column: sum(dy * xhat), sum(dy).
template <typename T>
__global__ void bn_grad_params_k(int64_t m, int64_t n, const T *__restrict__ x,
                                 const T *__restrict__ dy, const T *__restrict__ stats, T eps,
                                 T *__restrict__ dparams) {
    __shared__ double sh[fkcuda::kRowThreads];
    for (int64_t j = blockIdx.x; j < n; j += gridDim.x) {
        const double mean = (double)stats[j];
        const double inv = 1.0 / sqrt((double)stats[n + j] + (double)eps);
        double sg = 0.0, sb = 0.0;
        for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
            const double g = (double)dy[i * n + j];
            sg += g * ((double)x[i * n + j] - mean) * inv;
            sb += g;
        }
        sg = fkcuda::block_sum(sg, sh);
        sb = fkcuda::block_sum(sb, sh);
        if (threadIdx.x == 0) {
            dparams[j] = T(sg);
            dparams[n + j] = T(sb);
        }
    }
}

// training: dx = gamma inv / m (m dy - dbeta - xhat dgamma); inference: dx = dy gamma inv.
template <typename T>
__global__ void bn_dx_k(int64_t m, int64_t n, const T *__restrict__ x, const T *__restrict__ dy,
                        const T *__restrict__ gamma, const T *__restrict__ stats,
                        const T *__restrict__ dparams, T eps, T *__restrict__ dx) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = i % n;
        const T inv = T(1) / sqrt(stats[n + j] + eps);
        const T gi = (gamma ? gamma[j] : T(1)) * inv;
        if (!dparams) {
            dx[i] = dy[i] * gi;
        } else {
            const T xhat = (x[i] - stats[j]) * inv;
            dx[i] = gi / T(m) * (T(m) * dy[i] - dparams[n + j] - xhat * dparams[j]);
        }
    }
}

// Global max pooling over the k positions of (m, k, n), one thread per (sample, channel).
template <typename T>
__global__ void global_max_k(int64_t m, int64_t k, int64_t n, const T *__restrict__ x,
                             T *__restrict__ y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const T *p = x + (i / n) * k * n + i % n;
        T best = p[0];
        for (int64_t s = 1; s < k; ++s) {
            const T v = p[s * n];
            best = (v > best || v != v) && best == best ? v : best;  // NaN wins, as np.max
        }
        y[i] = best;
    }
}

template <typename T>
__global__ void global_max_bwd_k(int64_t m, int64_t k, int64_t n, const T *__restrict__ x,
                                 const T *__restrict__ y, const T *__restrict__ g,
                                 T *__restrict__ dx) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t off = (i / n) * k * n + i % n;
        int64_t ties = 0;
        for (int64_t s = 0; s < k; ++s) ties += x[off + s * n] == y[i];
        const T share = ties ? g[i] / T(ties) : T(0);
        for (int64_t s = 0; s < k; ++s) dx[off + s * n] = x[off + s * n] == y[i] ? share : T(0);
    }
}

template <typename T>
__global__ void mul_k(int64_t total, const T *a, const T *b, T *y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = a[i] * b[i];
}

// One block per row: the row's mean square in double; the gradient element-wise.
template <typename T>
__global__ void mse_k(int64_t m, int64_t n, const T *__restrict__ p, const T *__restrict__ t,
                      const T *__restrict__ rs, T scale, T *__restrict__ grad,
                      T *__restrict__ loss) {
    __shared__ double shd[fkcuda::kRowThreads];
    for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
        double s = 0.0;
        const T gs = T(2) / T(n) * (rs ? rs[r] : T(1)) * scale;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            const T d = p[r * n + j] - t[r * n + j];
            s += (double)d * d;
            if (grad) grad[r * n + j] = d * gs;
        }
        s = fkcuda::block_sum(s, shd);
        if (threadIdx.x == 0) loss[r] = T(s / (double)n);
    }
}

// Geometry and pointers of a convolution or pooling op.
int check_spatial(const fk_dev_op *o) {
    if (o->op == FK_DOP_CONV) {
        if (!o->conv) return FK_ENULL;
        int rc = fk_conv_check(o->conv);
        if (rc != FK_OK) return rc;
        if (o->kind < 0 || o->kind > 2) return FK_EBADARG;
        return !o->a || !o->b || !o->y ? FK_ENULL : FK_OK;
    }
    if (!o->pool) return FK_ENULL;
    int rc = fk_pool_check(o->pool);
    if (rc != FK_OK) return rc;
    if (o->kind < 0 || o->kind > 3) return FK_EBADARG;
    const fk_pool_geom *g = o->pool;
    if ((o->kind == 0 && o->z) || o->kind == 1) {
        if (g->k[0] * g->k[1] * g->k[2] > 256) return FK_EBADARG;
        if (o->kind == 1 && !o->b) return FK_ENULL;
    }
    return !o->a || !o->y ? FK_ENULL : FK_OK;
}

// Sizes and pointers, before anything is launched.
int check(const fk_dev_op *o) {
    if (!o) return FK_ENULL;
    if (o->op < 0 || o->op >= FK_DOP_COUNT) return FK_EBADARG;
    if (o->op == FK_DOP_CONV || o->op == FK_DOP_POOL) return check_spatial(o);
    if (o->m < 0 || o->n < 0 || o->k < 0) return FK_EBADSHAPE;
    const int64_t k = (o->op == FK_DOP_GEMM || o->op == FK_DOP_GLOBAL_MAX) ? o->k : 1;
    if (o->op == FK_DOP_GATHER && o->n > 0 && o->k > kMaxElems / o->n) return FK_EBADSHAPE;
    if (o->m > 0 && o->n > kMaxElems / o->m) return FK_EBADSHAPE;
    if (k > 0 && o->m * o->n > kMaxElems / k) return FK_EBADSHAPE;
    if (o->m == 0 || o->n == 0) return FK_OK;
    switch (o->op) {
    case FK_DOP_GEMM:
        if (!o->y || (o->k > 0 && (!o->a || !o->b))) return FK_ENULL;
        break;
    case FK_DOP_BIAS_ACT:
        if (!o->z || !o->y) return FK_ENULL;
        if (o->kind != FK_STEP_LINEAR && o->kind != FK_STEP_SOFTMAX &&
            (o->kind < 0 || o->kind >= FK_ACT_COUNT))
            return FK_EBADARG;
        break;
    case FK_DOP_ACT_BWD:
        if (!o->a || !o->b || !o->c || !o->y) return FK_ENULL;
        if (o->kind != FK_STEP_LINEAR && o->kind != FK_STEP_SOFTMAX &&
            (o->kind < 0 || o->kind >= FK_ACT_COUNT))
            return FK_EBADARG;
        break;
    case FK_DOP_COL_SUM:
        if (!o->a || !o->y) return FK_ENULL;
        break;
    case FK_DOP_MUL:
    case FK_DOP_GATHER:
        if (!o->a || !o->b || !o->y) return FK_ENULL;
        break;
    case FK_DOP_GLOBAL_MAX:
        if (o->kind != 0 && o->kind != 1) return FK_EBADARG;
        if (o->k < 1) return FK_EBADSHAPE;
        if (!o->a || !o->y || (o->kind == 1 && (!o->b || !o->c))) return FK_ENULL;
        break;
    case FK_DOP_BATCHNORM:
        if (o->kind < 0 || o->kind > 3) return FK_EBADARG;
        if (!o->y || !(o->alpha > 0)) return o->y ? FK_EBADARG : FK_ENULL;
        if (o->kind == 0 && (!o->a || !o->z || !o->w)) return FK_ENULL;
        if (o->kind == 1 && (!o->a || !o->d)) return FK_ENULL;
        if (o->kind == 2 && (!o->a || !o->c || !o->d || !o->z)) return FK_ENULL;
        if (o->kind == 3 && (!o->c || !o->d)) return FK_ENULL;
        break;
    case FK_DOP_REGULARIZE:
        if (!o->a || !o->z) return FK_ENULL;
        if (!(o->alpha >= 0) || !(o->beta >= 0)) return FK_EBADARG;
        break;
    case FK_DOP_MSE:
        if (!o->a || !o->b || !o->z) return FK_ENULL;
        break;
    default:  // the cross-entropy entry points check their own arguments
        if (!o->xent) return FK_ENULL;
        break;
    }
    return FK_OK;
}

template <typename T>
int run(const fk_dev_op *o, cudaStream_t st) {
    const int64_t m = o->m, n = o->n, total = m * n;
    const T al = T(o->alpha), beta = T(o->beta);
    const unsigned eb = fkcuda::blocks_for(total, kThreads);
    const unsigned rows = (unsigned)(m < 65535 ? m : 65535);
    switch (o->op) {
    case FK_DOP_GEMM:
        return fkcuda::gemm<T>(o->ta, o->tb, m, n, o->k, (const T *)o->a, (const T *)o->b, beta,
                               (T *)o->y, st);
    case FK_DOP_BIAS_ACT:
        bias_act_k<T><<<eb, kThreads, 0, st>>>(total, n, (const T *)o->b, (T *)o->z, (T *)o->y,
                                               o->kind == FK_STEP_SOFTMAX ? FK_STEP_LINEAR : o->kind, al);
        if (o->kind == FK_STEP_SOFTMAX)
            fkcuda::softmax_rows<T><<<rows, fkcuda::kRowThreads, 0, st>>>(m, n, (T *)o->y, (T *)o->y);
        break;
    case FK_DOP_ACT_BWD:
        if (o->kind == FK_STEP_SOFTMAX)
            softmax_bwd_k<T><<<rows, fkcuda::kRowThreads, 0, st>>>(
                m, n, (const T *)o->b, (const T *)o->c, (T *)o->y);
        else
            act_bwd_k<T><<<eb, kThreads, 0, st>>>(total, (const T *)o->a, (const T *)o->b,
                                                  (const T *)o->c, (T *)o->y, o->kind, al);
        break;
    case FK_DOP_COL_SUM:
        col_sum_k<T><<<fkcuda::blocks_for(n, kThreads), kThreads, 0, st>>>(
            m, n, (const T *)o->a, beta, (T *)o->y);
        break;
    case FK_DOP_MUL:
        mul_k<T><<<eb, kThreads, 0, st>>>(total, (const T *)o->a, (const T *)o->b, (T *)o->y);
        break;
    case FK_DOP_GLOBAL_MAX:
        if (o->kind == 0)
            global_max_k<T><<<eb, kThreads, 0, st>>>(m, o->k, n, (const T *)o->a, (T *)o->y);
        else
            global_max_bwd_k<T><<<eb, kThreads, 0, st>>>(m, o->k, n, (const T *)o->a,
                                                         (const T *)o->b, (const T *)o->c,
                                                         (T *)o->y);
        break;
    case FK_DOP_BATCHNORM: {
        const unsigned cols = (unsigned)(n < 65535 ? n : 65535);
        const T *gamma = (const T *)o->b;
        if (o->kind == 0)
            bn_stats_k<T><<<cols, fkcuda::kRowThreads, 0, st>>>(
                m, n, (const T *)o->a, beta, T(1.0 - o->beta), (T *)o->z, (T *)o->w);
        if (o->kind <= 1)
            bn_apply_k<T><<<eb, kThreads, 0, st>>>(total, n, (const T *)o->a, gamma,
                                                   (const T *)o->c,
                                                   (const T *)(o->kind == 0 ? o->z : o->d), al,
                                                   (T *)o->y);
        if (o->kind == 2)
            bn_grad_params_k<T><<<cols, fkcuda::kRowThreads, 0, st>>>(
                m, n, (const T *)o->a, (const T *)o->c, (const T *)o->d, al, (T *)o->z);
        if (o->kind >= 2)
            bn_dx_k<T><<<eb, kThreads, 0, st>>>(m, n, (const T *)o->a, (const T *)o->c, gamma,
                                                (const T *)o->d,
                                                o->kind == 2 ? (const T *)o->z : nullptr, al,
                                                (T *)o->y);
        break;
    }
    case FK_DOP_REGULARIZE:
        if (o->y)
            reg_grad_k<T><<<eb, kThreads, 0, st>>>(total, (const T *)o->a, al, beta, (T *)o->y);
        reg_value_k<T><<<1, fkcuda::kRowThreads, 0, st>>>(total, (const T *)o->a, o->alpha,
                                                          o->beta, (T *)o->z);
        break;
    case FK_DOP_GATHER:
        gather_k<T><<<eb, kThreads, 0, st>>>(m, n, (const T *)o->a, (const int64_t *)o->b,
                                             (T *)o->y);
        break;
    case FK_DOP_MSE:
        mse_k<T><<<rows, fkcuda::kRowThreads, 0, st>>>(m, n, (const T *)o->a, (const T *)o->b,
                                                       (const T *)o->c, al, (T *)o->y,
                                                       (T *)o->z);
        break;
    default:
        return FK_EBADARG;
    }
    return fkcuda::status_of(cudaGetLastError());
}

template <typename T>
int xent(const fk_dev_op *o, void *st) {
    const bool sparse = o->op == FK_DOP_XENT_SPARSE;
    return fkcuda::xent_launch<T>(o->m, o->n, (const T *)o->a,
                                  sparse ? (const int64_t *)o->b : nullptr,
                                  sparse ? nullptr : (const T *)o->b, (const T *)o->c,
                                  (T *)o->y, (T *)o->z, o->xent, st);
}

template <typename T>
int spatial_op(const fk_dev_op *o, void *stream) {
    cudaStream_t st = (cudaStream_t)stream;
    if (o->op == FK_DOP_CONV)
        return fkcuda::conv_launch<T>(o->kind, o->conv, (const T *)o->a, (const T *)o->b,
                                      (const T *)o->c, (T *)o->y, (T *)o->z, st);
    return fkcuda::pool_launch<T>(o->kind, o->pool, (const T *)o->a, (T *)o->y,
                                  (uint8_t *)(o->kind == 1 ? (void *)o->b : o->z), st);
}

}  // namespace

extern "C" int fk_cuda_dev_op(const fk_dev_op *o, void *stream) {
    int rc = check(o);
    if (rc != FK_OK) return rc;
    const bool spatial = o->op == FK_DOP_CONV || o->op == FK_DOP_POOL;
    if (!spatial && (o->m == 0 || o->n == 0)) return FK_OK;
    rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    if (spatial) return o->f64 ? spatial_op<double>(o, stream) : spatial_op<float>(o, stream);
    if (o->op == FK_DOP_XENT_SPARSE || o->op == FK_DOP_XENT_DENSE)
        return o->f64 ? xent<double>(o, stream) : xent<float>(o, stream);
    cudaStream_t st = (cudaStream_t)stream;
    return o->f64 ? run<double>(o, st) : run<float>(o, st);
}
