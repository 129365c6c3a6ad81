/* AVX-512 VNNI build of the int8 dense step's pieces (qdense_tile.h): tiles of 8 rows by
 * 32 columns (16 int32 accumulators, vpdpbusd on 4 bytes of a row broadcast against 16
 * columns x 4 packed weights), the dequantisation, bias and masked stores fused. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "fastkeras/qdense.h"
#include "qdense_tile.h"

#define MR 8
#define NB FK_QDENSE_NB

static inline __mmask16 cols_mask(int64_t left) {
    return left >= NB ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

static inline __attribute__((always_inline)) void qtile(const fk_qgemm_args *a, int64_t r0, int mr,
                                                        int64_t jb, const int two) {
    const int64_t k4 = a->k4, ldx = 4 * k4;
    const uint8_t *rows[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) /* rows past mr repeat row r0: computed, never stored */
        rows[i] = a->xq + (r0 + (i < mr ? i : 0)) * ldx;
    __m512i c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        c0[i] = _mm512_setzero_si512();
        c1[i] = _mm512_setzero_si512();
    }
    const int8_t *w0p = a->packed + jb * k4 * 4 * NB, *w1p = w0p + k4 * 4 * NB;
    for (int64_t g = 0; g < k4; ++g) {
        const __m512i w0 = _mm512_loadu_si512((const void *)(w0p + g * 4 * NB));
        const __m512i w1 = two ? _mm512_loadu_si512((const void *)(w1p + g * 4 * NB))
                               : _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            int32_t quad;
            memcpy(&quad, rows[i] + 4 * g, 4);
            const __m512i xb = _mm512_set1_epi32(quad);
            c0[i] = _mm512_dpbusd_epi32(c0[i], xb, w0);
            if (two) c1[i] = _mm512_dpbusd_epi32(c1[i], xb, w1);
        }
    }
    const int64_t col = jb * NB;
    const __mmask16 m0 = cols_mask(a->out - col), m1 = two ? cols_mask(a->out - col - NB) : 0;
    const __m512i o0 = _mm512_loadu_si512((const void *)(a->offset + col));
    const __m512i o1 = two ? _mm512_loadu_si512((const void *)(a->offset + col + NB))
                           : _mm512_setzero_si512();
    const __m512 s0 = _mm512_loadu_ps(a->w_scale + col);
    const __m512 s1 = two ? _mm512_loadu_ps(a->w_scale + col + NB) : _mm512_setzero_ps();
    const __m512 b0 = a->bias ? _mm512_maskz_loadu_ps(m0, a->bias + col) : _mm512_setzero_ps();
    const __m512 b1 = a->bias && two ? _mm512_maskz_loadu_ps(m1, a->bias + col + NB)
                                     : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        if (i >= mr) break;
        const int64_t r = r0 + i;
        const __m512 xs = _mm512_set1_ps(a->xs[r]);
        float *y = a->y + r * a->out + col;
        const __m512 v0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c0[i], o0));
        _mm512_mask_storeu_ps(y, m0, _mm512_fmadd_ps(v0, _mm512_mul_ps(s0, xs), b0));
        if (two) {
            const __m512 v1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c1[i], o1));
            _mm512_mask_storeu_ps(y + NB, m1, _mm512_fmadd_ps(v1, _mm512_mul_ps(s1, xs), b1));
        }
    }
}

void fk_qgemm_vnni(const fk_qgemm_args *a) {
    const int64_t blocks = (a->out + NB - 1) / NB;
    /* column tiles outer: a tile's weights (k4 x 128 bytes) stay in L1 over the rows */
    for (int64_t jb = 0; jb < blocks; jb += 2) {
        const int two = jb + 1 < blocks;
        for (int64_t r0 = 0; r0 < a->n; r0 += MR) {
            const int mr = a->n - r0 < MR ? (int)(a->n - r0) : MR;
            if (two)
                qtile(a, r0, mr, jb, 1);
            else
                qtile(a, r0, mr, jb, 0);
        }
    }
}

float fk_absmax_avx512(int64_t k, const float *x) {
    __m512 m = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) /* max(|x|, m): m when |x| is NaN */
        m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m);
    if (i < k) {
        const __mmask16 t = (__mmask16)((1u << (k - i)) - 1u);
        m = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(t, x + i)), m);
    }
    return _mm512_reduce_max_ps(m);
}

int fk_quantize_avx512(int64_t k, const float *x, float inv, uint8_t *q) {
    const __m512 vinv = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-127.0f),
                 hi = _mm512_set1_ps(127.0f), inf = _mm512_set1_ps(INFINITY);
    const __m512i bias = _mm512_set1_epi32(128);
    __mmask16 bad = 0;
    for (int64_t i = 0; i < k; i += 16) {
        const __mmask16 t = k - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - i)) - 1u);
        const __m512 v = _mm512_maskz_loadu_ps(t, x + i);
        /* not (|v| < inf): NaN or infinite */
        bad |= (__mmask16)(~_mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_LT_OQ) & t);
        /* max(v, -127) is -127 for NaN, as the portable path's select */
        const __m512 c = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, vinv), lo), hi);
        const __m512i u = _mm512_add_epi32(_mm512_cvtps_epi32(c), bias);
        _mm_mask_storeu_epi8(q + i, t, _mm512_cvtepi32_epi8(u));
    }
    return bad != 0;
}
