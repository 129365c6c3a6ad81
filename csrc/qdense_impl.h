/* Internal: the int8 dense step of the dense chain (dense_chain.c, qdense.h). */
#ifndef FASTKERAS_QDENSE_IMPL_H
#define FASTKERAS_QDENSE_IMPL_H

#include <stdint.h>
#include "fastkeras/qdense.h"

/* y (n, out) from x (n, in) through the quantised layer q with bias (out) or NULL; the
 * caller has checked the shapes (in <= FK_QDENSE_MAX_IN). FK_OK or FK_ENOMEM. */
int fk_qdense_rows_f32(int64_t n, int64_t in, int64_t out, const fk_qdense *q,
                       const float *bias, const float *x, float *y);

#endif
