/* fastkeras C core: element-wise activations that numpy has no fast form of.
 *
 * erf, and GELU forward / backward (exact: x * Phi(x); approximate: the tanh form
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))). Contiguous arrays of n
 * elements; out may alias x (forward) and dx may alias g (backward). */
#ifndef FASTKERAS_ELEMENTWISE_H
#define FASTKERAS_ELEMENTWISE_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

int fk_erf_f32(int64_t n, const float *x, float *out, int n_threads);
int fk_erf_f64(int64_t n, const double *x, double *out, int n_threads);
int fk_gelu_fwd_f32(int64_t n, const float *x, float *y, int approximate, int n_threads);
int fk_gelu_fwd_f64(int64_t n, const double *x, double *y, int approximate, int n_threads);
/* dx = g * dGELU/dx (x) */
int fk_gelu_bwd_f32(int64_t n, const float *x, const float *g, float *dx, int approximate,
                    int n_threads);
int fk_gelu_bwd_f64(int64_t n, const double *x, const double *g, double *dx, int approximate,
                    int n_threads);

#ifdef __cplusplus
}
#endif
#endif
