/* The int8 dense step (qdense.h): each row quantised to unsigned bytes (its own or the
 * static scale), one integer GEMM against the packed weights, dequantised with the bias
 * fused. AVX-512 VNNI where the CPU has it (simd/qdense_vnni.c), a portable path with the
 * same bits elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastkeras/fk_build.h"
#include "fastkeras/fk_status.h"
#include "fastkeras/qdense.h"
#include "qdense_impl.h"
#include "simd/qdense_tile.h"

#define NB FK_QDENSE_NB

int64_t fk_qdense_packed_size(int64_t in, int64_t out) {
    if (in < 1 || out < 1 || in > FK_QDENSE_MAX_IN || out > INT32_MAX) return -1;
    return (out + NB - 1) / NB * NB * ((in + 3) / 4 * 4);
}

int fk_qdense_quantize(int64_t in, int64_t out, const float *w, int8_t *packed, float *w_scale,
                       int32_t *offset) {
    const int64_t size = fk_qdense_packed_size(in, out);
    if (size < 0) return FK_EBADSHAPE;
    if (!w || !packed || !w_scale || !offset) return FK_ENULL;
    for (int64_t i = 0; i < in * out; ++i)
        if (!(fabsf(w[i]) < INFINITY)) return FK_EBADARG;
    const int64_t k4 = (in + 3) / 4, padded = size / (4 * k4);
    memset(packed, 0, (size_t)size);
    for (int64_t o = 0; o < padded; ++o) {
        w_scale[o] = 0.0f;
        offset[o] = 0;
        if (o >= out) continue;
        float m = 0.0f;
        for (int64_t k = 0; k < in; ++k) m = fabsf(w[k * out + o]) > m ? fabsf(w[k * out + o]) : m;
        const float scale = m > 0.0f ? m / 127.0f : 1.0f;
        int32_t sum = 0;
        int8_t *block = packed + o / NB * k4 * 4 * NB + 4 * (o % NB);
        for (int64_t k = 0; k < in; ++k) {
            float v = rintf(w[k * out + o] / scale);
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
            block[k / 4 * 4 * NB + k % 4] = (int8_t)v;
            sum += (int32_t)v;
        }
        w_scale[o] = scale;
        offset[o] = 128 * sum;
    }
    return FK_OK;
}

static int vnni_usable(void) {
#if defined(FK_HAVE_AVX512VNNI) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    static int usable = -1; /* a benign race: every thread finds the same value */
    int u = __atomic_load_n(&usable, __ATOMIC_ACQUIRE);
    if (u < 0) {
        __builtin_cpu_init();
        u = fk_simd_level() >= FK_SIMD_AVX512 && __builtin_cpu_supports("avx512vnni") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
        __atomic_store_n(&usable, u, __ATOMIC_RELEASE);
    }
    return u;
#else
    return 0;
#endif
}

const char *fk_qdense_kernel(void) { return vnni_usable() ? "avx512_vnni" : "portable"; }

/* ---- the portable path: the same operations in the same order as the VNNI one */
static float absmax_portable(int64_t k, const float *x) {
    float m = 0.0f;
    for (int64_t i = 0; i < k; ++i) {
        const float a = fabsf(x[i]);
        m = a > m ? a : m; /* NaN ignored */
    }
    return m;
}

static int quantize_portable(int64_t k, const float *x, float inv, uint8_t *q) {
    int bad = 0;
    for (int64_t i = 0; i < k; ++i) {
        bad |= !(fabsf(x[i]) < INFINITY);
        float v = x[i] * inv;
        v = v > -127.0f ? v : -127.0f; /* NaN -> -127 */
        v = v < 127.0f ? v : 127.0f;
        q[i] = (uint8_t)(lrintf(v) + 128); /* half to even, as cvtps2dq */
    }
    return bad;
}

static void qgemm_portable(const fk_qgemm_args *a) {
    const int64_t k4 = a->k4, blocks = (a->out + NB - 1) / NB;
    for (int64_t r = 0; r < a->n; ++r) {
        const uint8_t *xr = a->xq + r * 4 * k4;
        for (int64_t jb = 0; jb < blocks; ++jb) {
            const int8_t *w = a->packed + jb * k4 * 4 * NB;
            int32_t acc[NB] = {0};
            for (int64_t g = 0; g < k4; ++g, w += 4 * NB)
                for (int c = 0; c < NB; ++c)
                    for (int t = 0; t < 4; ++t)
                        acc[c] += (int32_t)xr[4 * g + t] * (int32_t)w[4 * c + t];
            for (int c = 0; c < NB && jb * NB + c < a->out; ++c) {
                const int64_t o = jb * NB + c;
                const float v = (float)(acc[c] - a->offset[o]);
                a->y[r * a->out + o] = fmaf(v, a->w_scale[o] * a->xs[r], a->bias ? a->bias[o] : 0.0f);
            }
        }
    }
}

static float q8_absmax(int64_t k, const float *x) {
#if defined(FK_HAVE_AVX512VNNI)
    if (vnni_usable()) return fk_absmax_avx512(k, x);
#endif
    return absmax_portable(k, x);
}

float fk_q8_scale(float x_scale, int64_t k, const float *x) {
    if (x_scale > 0.0f) return x_scale;
    const float m = q8_absmax(k, x);
    return m > 0.0f ? m / 127.0f : 1.0f;
}

int fk_q8_quantize(int64_t k, const float *x, float scale, uint8_t *q) {
#if defined(FK_HAVE_AVX512VNNI)
    if (vnni_usable()) return fk_quantize_avx512(k, x, 1.0f / scale, q);
#endif
    return quantize_portable(k, x, 1.0f / scale, q);
}

void fk_qgemm(const fk_qgemm_args *a) {
#if defined(FK_HAVE_AVX512VNNI)
    if (vnni_usable()) {
        fk_qgemm_vnni(a);
        return;
    }
#endif
    qgemm_portable(a);
}

int fk_qdense_rows_f32(int64_t n, int64_t in, int64_t out, const fk_qdense *q,
                       const float *bias, const float *x, float *y) {
    if (n == 0) return FK_OK;
    const int64_t k4 = (in + 3) / 4, ldx = 4 * k4;
    uint8_t *xq = (uint8_t *)malloc((size_t)(n * ldx) + (size_t)n * (sizeof(float) + 1));
    if (!xq) return FK_ENOMEM;
    float *xs = (float *)(xq + n * ldx); /* n * ldx is a multiple of 4: aligned */
    uint8_t *bad = (uint8_t *)(xs + n);
    for (int64_t r = 0; r < n; ++r) {
        const float *xr = x + r * in;
        uint8_t *qr = xq + r * ldx;
        xs[r] = fk_q8_scale(q->x_scale, in, xr);
        bad[r] = (uint8_t)fk_q8_quantize(in, xr, xs[r], qr);
        memset(qr + in, 128, (size_t)(ldx - in)); /* zero, against zero weights */
    }
    fk_qgemm_args a = {n, k4, out, xq, q->packed, q->offset, q->w_scale, xs, bias, y};
    fk_qgemm(&a);
    for (int64_t r = 0; r < n; ++r)
        if (bad[r])
            for (int64_t o = 0; o < out; ++o) y[r * out + o] = NAN;
    free(xq);
    return FK_OK;
}
