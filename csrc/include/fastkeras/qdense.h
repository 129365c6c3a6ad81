/* fastkeras C core: an int8 dense layer for inference (a step of dense_chain.h).
 *
 * For a float32 row x of `in` features and int8 weights Wq (in, out) with one scale per
 * output column (w_scale[o], symmetric: W ~ Wq * w_scale),
 *   xq = clamp(round_half_even(x / x_scale), -127, 127)       (int8, stored as xq + 128)
 *   y[o] = fma((float)(sum_k (xq[k] + 128) * Wq[k, o] - offset[o]), w_scale[o] * x_scale, b[o])
 * where offset[o] = 128 * sum_k Wq[k, o] (the +128 makes xq unsigned, as VNNI wants) and
 * x_scale is the step's static scale (from calibration) or, when x_scale is 0, the row's
 * own max |x| / 127 (1 for an all-zero row). The integer sums are exact (in <= 65536), so
 * every path gives the same bits. A row holding NaN or +-inf gives a row of NaN.
 *
 * Packed weights: the out columns in blocks of FK_QDENSE_NB (the last padded with zero
 * weights); block j holds ceil(in / 4) groups of FK_QDENSE_NB x 4 bytes, group g of block j
 * at packed + (j * ceil(in / 4) + g) * 4 * FK_QDENSE_NB, byte 4 * c + t of a group being
 * Wq[4 g + t, FK_QDENSE_NB j + c] (zero past `in`). fk_qdense_packed_size gives the bytes;
 * w_scale and offset then have ceil(out / FK_QDENSE_NB) * FK_QDENSE_NB entries. */
#ifndef FASTKERAS_QDENSE_H
#define FASTKERAS_QDENSE_H

#include <stdint.h>
#include "fastkeras/conv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FK_QDENSE_NB 16
#define FK_QDENSE_MAX_IN 65536

typedef struct fk_qdense {
    const int8_t *packed;   /* the layout above */
    const float *w_scale;   /* per output column, padded */
    const int32_t *offset;  /* 128 * column sums of Wq, padded */
    float x_scale;          /* > 0: static input scale; 0: per row */
} fk_qdense;

/* bytes of packed weights for an (in, out) layer; -1 past FK_QDENSE_MAX_IN or INT32_MAX */
int64_t fk_qdense_packed_size(int64_t in, int64_t out);
/* Quantises a float32 (in, out) row-major weight per output column, symmetric:
 * w_scale[o] = max_k |w[k, o]| / 127 (1 for an all-zero column), Wq = round_half_even(w /
 * w_scale) in [-127, 127], and writes packed (fk_qdense_packed_size bytes), w_scale and
 * offset (ceil(out / FK_QDENSE_NB) * FK_QDENSE_NB entries each, zero past out).
 * FK_EBADARG when a weight is NaN or infinite, FK_EBADSHAPE for sizes out of range. */
int fk_qdense_quantize(int64_t in, int64_t out, const float *w, int8_t *packed, float *w_scale,
                       int32_t *offset);
/* y = act(conv(x, W) + bias) in int8 (channels-last, 1-D / 2-D / 3-D, groups 1): q is the
 * kernel [Kd, Kh, Kw, Cin, Cout] quantised as an (Kd*Kh*Kw*Cin, Cout) dense layer
 * (fk_qdense_quantize), x_scale static or 0 for each image's own max |x| / 127; an image
 * holding NaN or inf gives NaN. act an fk_act_kind or -1 (linear). */
int fk_qconv_fwd_f32(const fk_conv_geom *g, const fk_qdense *q, const float *bias, int act,
                     double alpha, const float *x, float *y, int n_threads);
/* "avx512_vnni" or "portable": the kernel this process runs (fk_simd_level() and the CPU). */
const char *fk_qdense_kernel(void);

#ifdef __cplusplus
}
#endif
#endif
