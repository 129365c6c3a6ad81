/* Internal: per-row float32 primitives behind a run-time dispatch table.
 * Rows are short enough (a few KB) to stay in L1 between the passes a
 * kernel makes over them, so a kernel reads its input from memory once. */
#ifndef FASTKERAS_SIMD_ROWS_H
#define FASTKERAS_SIMD_ROWS_H

#include <stdint.h>

typedef struct fk_rows_f32 {
    /* max_j x[j]; NaN is not guaranteed to win, callers rely on x - max turning NaN. */
    float (*rowmax)(int64_t n, const float *x);
    /* sum_j exp(x[j] - shift), accumulated in double. pf (may be NULL) is the
     * next row: one cache line of it is prefetched per vector of work, so the
     * memory traffic of the next row overlaps this row's arithmetic. */
    double (*sumexp)(int64_t n, const float *x, float shift, const float *pf);
    /* out[j] = exp(x[j] - shift); returns the double sum of out. pf as above. */
    double (*exp_store_sum)(int64_t n, const float *x, float shift, float *out, const float *pf);
    /* out[j] = a * out[j] + b * t[j] + c   (t may be NULL: the b term is dropped). */
    void (*affine)(int64_t n, float *out, float a, const float *t, float b, float c);
    /* dst[j] = a * src[j] + b * t[j] + c, bit-identical to affine, written with
     * non-temporal (cache-bypassing) stores where the ISA has them: a large
     * output is then written without first being read into the cache. */
    void (*affine_stream)(int64_t n, const float *src, float a, const float *t, float b, float c,
                          float *dst);
    /* Peak-arithmetic probe: iters rounds of independent FMAs in registers;
     * returns the float32 FLOPs executed (for the benchmark's compute bound). */
    double (*fma_probe)(int64_t iters);
} fk_rows_f32;

extern const fk_rows_f32 fk_rows_f32_scalar;
#if defined(FK_HAVE_AVX2)
extern const fk_rows_f32 fk_rows_f32_avx2;
#endif
#if defined(FK_HAVE_AVX512)
extern const fk_rows_f32 fk_rows_f32_avx512;
#endif

/* The table for fk_simd_level(). */
const fk_rows_f32 *fk_rows_f32_get(void);

#endif
