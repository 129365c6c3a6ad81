/* AVX2 + FMA build of the direct convolution's tile (conv_tile.h): 3 positions by 32
 * channels, 12 accumulators in the 16 ymm registers. */
#include <immintrin.h>
#include <string.h>

#include "conv_tile.h"

#define MR FK_CONV_MR_AVX2

void fk_conv_tile_avx2(const fk_conv_tile_args *a) {
    __m256 c[MR][4];
#pragma GCC unroll 3
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < 4; ++j) c[i][j] = _mm256_loadu_ps(a->bias + 8 * j);
    const float *w = a->w;
    const int64_t len = a->len;
    for (int64_t t = 0; t < a->taps; ++t) {
        const float *p0 = a->in + a->toff[t];
        const float *q0 = p0 + a->poff[0], *q1 = p0 + a->poff[1], *q2 = p0 + a->poff[2];
        for (int64_t l = 0; l < len; ++l, w += FK_CONV_NR) {
            const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8),
                         w2 = _mm256_loadu_ps(w + 16), w3 = _mm256_loadu_ps(w + 24);
            __m256 x;
#define FK_STEP(i, q)                                  \
    x = _mm256_broadcast_ss(q + l);                    \
    c[i][0] = _mm256_fmadd_ps(x, w0, c[i][0]);         \
    c[i][1] = _mm256_fmadd_ps(x, w1, c[i][1]);         \
    c[i][2] = _mm256_fmadd_ps(x, w2, c[i][2]);         \
    c[i][3] = _mm256_fmadd_ps(x, w3, c[i][3]);
            FK_STEP(0, q0) FK_STEP(1, q1) FK_STEP(2, q2)
#undef FK_STEP
        }
    }
    if (a->relu) {
        const __m256 z = _mm256_setzero_ps();
        for (int i = 0; i < MR; ++i)
            for (int j = 0; j < 4; ++j) c[i][j] = _mm256_max_ps(z, c[i][j]); /* NaN stays */
    }
    float *o = a->out;
    for (int i = 0; i < MR && i < a->mr; ++i, o += a->ldo) {
        if (a->nr == FK_CONV_NR) {
            for (int j = 0; j < 4; ++j) _mm256_storeu_ps(o + 8 * j, c[i][j]);
        } else {
            float tmp[FK_CONV_NR];
            for (int j = 0; j < 4; ++j) _mm256_storeu_ps(tmp + 8 * j, c[i][j]);
            memcpy(o, tmp, (size_t)a->nr * sizeof(float));
        }
    }
}
