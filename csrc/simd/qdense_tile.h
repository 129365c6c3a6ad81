/* Internal: the SIMD pieces of the int8 dense step (qdense.c, qdense.h), built with
 * AVX-512 VNNI flags and used only where the CPU has them (fk_qdense_kernel()).
 * Each has a portable twin in qdense.c that gives the same bits. */
#ifndef FASTKERAS_SIMD_QDENSE_TILE_H
#define FASTKERAS_SIMD_QDENSE_TILE_H

#include <stdint.h>

/* y[r, o] = fma((float)(sum_k xq[r, k] * Wq[k, o] - offset[o]), w_scale[o] * xs[r], b[o])
 * for r < n, o < out: xq holds n rows of 4 * k4 unsigned bytes, Wq the packed blocks. */
typedef struct fk_qgemm_args {
    int64_t n, k4, out;
    const uint8_t *xq;
    const int8_t *packed;
    const int32_t *offset;
    const float *w_scale;
    const float *xs;   /* n row scales */
    const float *bias; /* out values, or NULL */
    float *y;          /* n rows of out */
} fk_qgemm_args;

#if defined(FK_HAVE_AVX512VNNI)
void fk_qgemm_vnni(const fk_qgemm_args *a);
/* max |x[i]| over k values (NaN ignored) */
float fk_absmax_avx512(int64_t k, const float *x);
/* q[i] = clamp(round_half_even(x[i] * inv), -127, 127) + 128 for i < k; nonzero when a
 * value is NaN or infinite */
int fk_quantize_avx512(int64_t k, const float *x, float inv, uint8_t *q);
#endif

#endif
