/* AVX-512F build of the direct convolution's tile (conv_tile.h): 8 positions by 32
 * channels, 16 accumulators, the inputs broadcast from memory. */
#include <immintrin.h>
#include <string.h>

#include "conv_tile.h"

#define MR FK_CONV_MR_AVX512

void fk_conv_tile_avx512(const fk_conv_tile_args *a) {
    __m512 c0[MR], c1[MR];
    const __m512 b0 = _mm512_loadu_ps(a->bias), b1 = _mm512_loadu_ps(a->bias + 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        c0[i] = b0;
        c1[i] = b1;
    }
    const float *w = a->w;
    const int64_t len = a->len;
    for (int64_t t = 0; t < a->taps; ++t) {
        const float *p0 = a->in + a->toff[t];
        const float *q0 = p0 + a->poff[0], *q1 = p0 + a->poff[1], *q2 = p0 + a->poff[2],
                    *q3 = p0 + a->poff[3], *q4 = p0 + a->poff[4], *q5 = p0 + a->poff[5],
                    *q6 = p0 + a->poff[6], *q7 = p0 + a->poff[7];
        for (int64_t l = 0; l < len; ++l, w += FK_CONV_NR) {
            const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
            __m512 x;
#define FK_STEP(i, q)                                  \
    x = _mm512_set1_ps(q[l]);                          \
    c0[i] = _mm512_fmadd_ps(x, w0, c0[i]);             \
    c1[i] = _mm512_fmadd_ps(x, w1, c1[i]);
            FK_STEP(0, q0) FK_STEP(1, q1) FK_STEP(2, q2) FK_STEP(3, q3)
            FK_STEP(4, q4) FK_STEP(5, q5) FK_STEP(6, q6) FK_STEP(7, q7)
#undef FK_STEP
        }
    }
    if (a->relu) {
        const __m512 z = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) { /* max(0, x): x when x is NaN */
            c0[i] = _mm512_max_ps(z, c0[i]);
            c1[i] = _mm512_max_ps(z, c1[i]);
        }
    }
    const int nr = a->nr;
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                         : nr <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nr - 16)) - 1u);
    float *o = a->out;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        if (i < a->mr) {
            _mm512_mask_storeu_ps(o, m0, c0[i]);
            _mm512_mask_storeu_ps(o + 16, m1, c1[i]);
        }
        o += a->ldo;
    }
}
