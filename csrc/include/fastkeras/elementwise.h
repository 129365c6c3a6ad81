/* fastkeras C core: erf, which numpy lacks (libm, threaded). Contiguous arrays of
 * n elements; out may alias x. The activations are in fastkeras/activation.h. */
#ifndef FASTKERAS_ELEMENTWISE_H
#define FASTKERAS_ELEMENTWISE_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

int fk_erf_f32(int64_t n, const float *x, float *out, int n_threads);
int fk_erf_f64(int64_t n, const double *x, double *out, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
