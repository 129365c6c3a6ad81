/* fastkeras C core: element-wise activations, forward and backward, in one pass.
 *
 * fk_act_fwd: y = f(x). fk_act_bwd: dx = g * f'(x) (y = f(x) may be passed to
 * save work for the kinds whose derivative is a function of y: sigmoid, tanh;
 * NULL recomputes it). float32 uses branch-free polynomial exp / log / tanh that
 * the compiler vectorises (relative error under 5e-7); float64 uses libm.
 * Derivatives at the kinks follow TensorFlow (relu: 0 at 0; relu6: 0 at 0 and 6;
 * leaky_relu / elu / selu: the negative branch at 0; hard_sigmoid: 0 at +-3).
 * alpha: leaky_relu's slope, elu's alpha (ignored by the other kinds). */
#ifndef FASTKERAS_ACTIVATION_H
#define FASTKERAS_ACTIVATION_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum fk_act_kind {
    FK_ACT_RELU = 0,
    FK_ACT_RELU6,
    FK_ACT_LEAKY_RELU,
    FK_ACT_ELU,
    FK_ACT_SELU,
    FK_ACT_SIGMOID,
    FK_ACT_TANH,
    FK_ACT_SOFTPLUS,
    FK_ACT_SOFTSIGN,
    FK_ACT_SILU,
    FK_ACT_HARD_SIGMOID,
    FK_ACT_HARD_SILU,
    FK_ACT_MISH,
    FK_ACT_LOG_SIGMOID,
    FK_ACT_GELU_TANH,
    FK_ACT_GELU_ERF,
    FK_ACT_COUNT
};

int fk_act_fwd_f32(int kind, int64_t n, const float *x, float *y, double alpha, int n_threads);
int fk_act_fwd_f64(int kind, int64_t n, const double *x, double *y, double alpha,
                   int n_threads);
int fk_act_bwd_f32(int kind, int64_t n, const float *x, const float *y, const float *g,
                   float *dx, double alpha, int n_threads);
int fk_act_bwd_f64(int kind, int64_t n, const double *x, const double *y, const double *g,
                   double *dx, double alpha, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
