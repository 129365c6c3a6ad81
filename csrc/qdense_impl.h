/* Internal: the int8 dense step of the dense chain (dense_chain.c, qdense.h). */
#ifndef FASTKERAS_QDENSE_IMPL_H
#define FASTKERAS_QDENSE_IMPL_H

#include <stdint.h>
#include "fastkeras/qdense.h"
#include "simd/qdense_tile.h"

/* y (n, out) from x (n, in) through the quantised layer q with bias (out) or NULL; the
 * caller has checked the shapes (in <= FK_QDENSE_MAX_IN). FK_OK or FK_ENOMEM. */
int fk_qdense_rows_f32(int64_t n, int64_t in, int64_t out, const fk_qdense *q,
                       const float *bias, const float *x, float *y);

/* The pieces, each dispatched to VNNI or the portable path (the same bits):
 * the input scale of k values x (x_scale when > 0, else max |x| / 127, 1 for all zeros);
 * q = x quantised with that scale as unsigned bytes (nonzero when a value is not finite);
 * the integer product with dequantisation (qdense_tile.h). */
float fk_q8_scale(float x_scale, int64_t k, const float *x);
int fk_q8_quantize(int64_t k, const float *x, float scale, uint8_t *q);
void fk_qgemm(const fk_qgemm_args *a);

#endif
