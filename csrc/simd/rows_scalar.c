/* Portable reference versions of the row primitives (any CPU, any compiler). */
#include <math.h>
#include <string.h>
#include "rows.h"

static float rowmax_s(int64_t n, const float *x) {
    float m = -INFINITY;
    for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
    return m;
}

static double sumexp_s(int64_t n, const float *x, float shift, const float *pf) {
    (void)pf;
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) s += (double)expf(x[j] - shift);
    return s;
}

static double exp_store_sum_s(int64_t n, const float *x, float shift, float *out,
                              const float *pf) {
    (void)pf;
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        out[j] = expf(x[j] - shift);
        s += (double)out[j];
    }
    return s;
}

static void affine_s(int64_t n, float *out, float a, const float *t, float b, float c) {
    if (t) {
        for (int64_t j = 0; j < n; ++j) out[j] = a * out[j] + b * t[j] + c;
    } else {
        for (int64_t j = 0; j < n; ++j) out[j] = a * out[j] + c;
    }
}

static void affine_stream_s(int64_t n, const float *src, float a, const float *t, float b,
                            float c, float *dst) {
    if (dst != src) memcpy(dst, src, (size_t)n * sizeof(float));
    affine_s(n, dst, a, t, b, c);
}

static double fma_probe_s(int64_t iters) {
    volatile float sink;
    float a[8] = {1.00f, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f};
    for (int64_t i = 0; i < iters; ++i)
        for (int k = 0; k < 8; ++k) a[k] = a[k] * 0.999999f + 1e-7f;
    sink = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
    (void)sink;
    return 16.0 * (double)iters;
}

const fk_rows_f32 fk_rows_f32_scalar = {rowmax_s, sumexp_s, exp_store_sum_s, affine_s,
                                        affine_stream_s, fma_probe_s};
