/* Internal: the register-blocked tile of the direct (small-shape) convolution
 * (conv_direct.c), one build per ISA behind fk_simd_level().
 *
 * A tile is up to MR output positions by FK_CONV_NR output channels:
 *   out[i * ldo + j] = bias[j] + sum_t sum_l in[poff[i] + toff[t] + l] * w[(t * len + l) * NR + j]
 * for i < mr, j < nr, then max(0, .) when relu is set (NaN stays NaN). Positions past mr
 * must still have valid offsets (the caller repeats position 0); their sums are dropped.
 * w and bias are the plan's packed block (zero past the layer's channels). */
#ifndef FASTKERAS_SIMD_CONV_TILE_H
#define FASTKERAS_SIMD_CONV_TILE_H

#include <stdint.h>

#define FK_CONV_NR 32
#define FK_CONV_MR_AVX512 8
#define FK_CONV_MR_AVX2 3
#define FK_CONV_MR_MAX 8

typedef struct fk_conv_tile_args {
    const float *in;
    const int64_t *poff; /* FK_CONV_MR_MAX offsets into in, one per position */
    const int64_t *toff; /* taps offsets into in */
    int64_t taps, len;   /* the reduction: taps runs of len contiguous inputs */
    const float *w;      /* (taps * len) rows of FK_CONV_NR weights */
    const float *bias;   /* FK_CONV_NR values */
    float *out;
    int64_t ldo;
    int mr, nr, relu;
} fk_conv_tile_args;

#if defined(FK_HAVE_AVX2)
void fk_conv_tile_avx2(const fk_conv_tile_args *a);
#endif
#if defined(FK_HAVE_AVX512)
void fk_conv_tile_avx512(const fk_conv_tile_args *a);
#endif

#endif
