/* A chain of dense / affine steps with activations in one call (dense_chain.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "fastkeras/activation.h"
#include "fastkeras/conv_direct.h"
#include "fastkeras/dense_chain.h"

#include "chain_check.h"
#include "qdense_impl.h"

/* Threads worth starting: about 2 MFLOP per thread (a parallel region's start-up is
 * microseconds, and BLAS runs single-threaded inside each), at least 8 rows each. */
static int chain_threads(int64_t n, int n_steps, const fk_chain_step *steps, int n_threads) {
    double flops = 0;
    for (int i = 0; i < n_steps; i++)
        flops += 2.0 * (double)n * (double)steps[i].in *
                 (double)(steps[i].type == FK_STEP_AFFINE ? 1 : steps[i].out);
    int64_t t = (int64_t)(flops / 2e6);
    if (t > n / 8) t = n / 8;
    if (t > n_threads) t = n_threads;
    return t < 1 ? 1 : (int)t;
}

/* The 1x1-convolution view of a dense step on n rows: one image of 1 x n positions. */
static fk_conv_geom dense_as_conv(int64_t n, int64_t in, int64_t out) {
    fk_conv_geom g = {1, {1, 1, n}, {1, 1, n}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0},
                      in, out, 1, 0};
    return g;
}

int64_t fk_dense_chain_packed_size(int64_t in, int64_t out) {
    if (in < 1 || out < 1 || in > INT32_MAX || out > INT32_MAX) return -1;
    fk_conv_geom g = dense_as_conv(1, in, out);
    return fk_conv_direct_packed_size(&g);
}

int fk_dense_chain_pack_f32(int64_t in, int64_t out, const float *w, const float *b,
                            float *packed) {
    if (fk_dense_chain_packed_size(in, out) < 0) return FK_EBADARG;
    fk_conv_geom g = dense_as_conv(1, in, out);
    return fk_conv_direct_pack_f32(&g, w, b, packed);
}

/* A packed float32 dense step through the direct tiles when there are rows enough for a
 * tile (*used = 1: bias and activation applied, softmax excepted), else *used = 0. */
static int packed_dense_f32(int64_t n, const fk_chain_step *s, const float *in, float *pre,
                            int *used) {
    *used = 0;
    if (!s->packed || n < fk_conv_direct_tile_rows()) return FK_OK;
    fk_conv_geom g = dense_as_conv(n, s->in, s->out);
    const int act = s->act >= 0 ? s->act : -1;
    const int64_t bytes = fk_conv_direct_workspace_size(&g, act, 1);
    if (bytes < 0) return FK_OK; /* (not usable here: BLAS) */
    void *ws = malloc((size_t)bytes);
    if (!ws) return FK_ENOMEM;
    int st = fk_conv_direct_fwd_f32(&g, in, (const float *)s->packed, act, s->alpha, pre, ws,
                                    bytes, 1);
    free(ws);
    *used = st == FK_OK;
    return st;
}

static int packed_dense_f64(int64_t n, const fk_chain_step *s, const double *in, double *pre,
                            int *used) {
    *used = 0; /* float64 steps have no packed weights (check_steps) */
    return FK_OK;
}

#define FK_CHAIN_BODY(T, SUFFIX, GEMM, EXP, QDENSE, INT8)                                    \
    static void softmax_rows_##SUFFIX(int64_t n, int64_t c, T *z) {                         \
        for (int64_t r = 0; r < n; r++) {                                                     \
            T *row = z + r * c;                                                               \
            T m = row[0];                                                                     \
            for (int64_t j = 1; j < c; j++) m = row[j] > m ? row[j] : m;                      \
            double s = 0;                                                                     \
            for (int64_t j = 0; j < c; j++) {                                                 \
                row[j] = EXP(row[j] - m);                                                     \
                s += row[j];                                                                  \
            }                                                                                 \
            T inv = (T)(1.0 / s);                                                             \
            for (int64_t j = 0; j < c; j++) row[j] *= inv;                                    \
        }                                                                                     \
    }                                                                                         \
                                                                                              \
    static int chain_rows_##SUFFIX(int64_t n, int64_t widest, int n_steps,                  \
                                   const fk_chain_step *steps, const T *x, T *y) {            \
        int st = FK_OK;                                                                       \
        T *buf = (T *)malloc((size_t)(2 * n * widest) * sizeof(T));                           \
        if (!buf) return FK_ENOMEM;                                                           \
        T *bufa = buf, *bufb = buf + n * widest;                                              \
        const T *in = x; /* each step reads `in` and writes the buffer `in` is not */        \
        for (int i = 0; i < n_steps; i++) {                                                   \
            const fk_chain_step *s = &steps[i];                                               \
            const T *w = (const T *)s->w, *b = (const T *)s->b;                               \
            int64_t k = s->in, m = s->out;                                                    \
            T *pre = in == bufa ? bufb : bufa;                                                \
            int fused = 0; /* the activation already applied (the packed path) */            \
            if (s->type == FK_STEP_DENSE) {                                                   \
                st = packed_dense_##SUFFIX(n, s, in, pre, &fused);                            \
                if (st != FK_OK) break;                                                       \
                if (!fused && b)                                                              \
                    for (int64_t r = 0; r < n; r++) memcpy(pre + r * m, b, m * sizeof(T));    \
                if (!fused)                                                                   \
                    GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasNoTrans, (int)n, (int)m,  \
                         (int)k, 1, in, (int)k, w, (int)m, b ? 1 : 0, pre, (int)m);           \
            } else if (s->type == FK_STEP_DENSE_INT8) {                                       \
                st = QDENSE(n, k, m, (const fk_qdense *)s->w, b, in, pre);                    \
                if (st != FK_OK) break;                                                       \
            } else {                                                                          \
                for (int64_t r = 0; r < n; r++)                                               \
                    for (int64_t j = 0; j < m; j++)                                           \
                        pre[r * m + j] = in[r * m + j] * w[j] + (b ? b[j] : 0);               \
            }                                                                                 \
            if (s->act == FK_STEP_SOFTMAX) {                                                  \
                softmax_rows_##SUFFIX(n, m, pre);                                             \
                in = pre;                                                                     \
            } else if (s->act >= 0 && !fused) { /* `in` is spent: the activation writes there */\
                T *post = pre == bufa ? bufb : bufa;                                          \
                st = fk_act_fwd_##SUFFIX(s->act, n * m, pre, post, s->alpha, 1);              \
                if (st != FK_OK) break;                                                       \
                in = post;                                                                    \
            } else {                                                                          \
                in = pre;                                                                     \
            }                                                                                 \
        }                                                                                     \
        if (st == FK_OK)                                                                      \
            memcpy(y, in, (size_t)(n * steps[n_steps - 1].out) * sizeof(T));                  \
        free(buf);                                                                            \
        return st;                                                                            \
    }                                                                                         \
                                                                                              \
    int fk_dense_chain_##SUFFIX(int64_t n, int n_steps, const fk_chain_step *steps,           \
                                const T *x, T *y, int n_threads) {                            \
        int64_t widest = 0;                                                                   \
        int st = check_steps(n, n_steps, steps, INT8, &widest);                               \
        if (st != FK_OK) return st;                                                           \
        if (n == 0) return FK_OK;                                                             \
        if (!x || !y) return FK_ENULL;                                                         \
        fk_blas_init();                                                                       \
        int t = chain_threads(n, n_steps, steps, n_threads);                                  \
        if (t <= 1) return chain_rows_##SUFFIX(n, widest, n_steps, steps, x, y);              \
        int64_t in0 = steps[0].in, out1 = steps[n_steps - 1].out;                             \
        int status = FK_OK;                                                                   \
        /* rows are independent: each thread runs the whole chain on its own block */        \
        _Pragma("omp parallel for num_threads(t) schedule(static)")                           \
        for (int i = 0; i < t; i++) {                                                         \
            int64_t r0 = n * i / t, r1 = n * (i + 1) / t;                                     \
            int s = chain_rows_##SUFFIX(r1 - r0, widest, n_steps, steps, x + r0 * in0,        \
                                        y + r0 * out1);                                       \
            if (s != FK_OK) {                                                                 \
                _Pragma("omp atomic write") status = s;                                       \
            }                                                                                 \
        }                                                                                     \
        return status;                                                                        \
    }

FK_CHAIN_BODY(float, f32, FK_BLAS(cblas_sgemm), expf, fk_qdense_rows_f32, 1)
/* float64 chains have no int8 steps (check_steps refuses them): never called */
static int no_qdense_f64(int64_t n, int64_t k, int64_t m, const fk_qdense *q, const double *b,
                         const double *x, double *y) {
    return FK_EBADARG;
}
FK_CHAIN_BODY(double, f64, FK_BLAS(cblas_dgemm), exp, no_qdense_f64, 0)
