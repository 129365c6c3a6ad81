/* fastkeras C core: fused, in-place optimizer steps over many tensors at once.
 *
 * One call updates every tensor of a model: params[t], grads[t] and the slot
 * buffers slots[k][t] each hold sizes[t] contiguous elements. Per element the
 * whole step happens in one pass over memory (optional gradient scaling and
 * clipping, weight decay, the optimizer's update, the EMA of the parameter),
 * with no temporaries. Scalars that depend only on the step (bias corrections,
 * Nadam's schedule) are computed by the caller in double. Each element is
 * independent, so results do not depend on n_threads. */
#ifndef FASTKERAS_OPTIM_H
#define FASTKERAS_OPTIM_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum fk_optim_kind {
    FK_OPT_SGD = 0,       /* p -= lr g */
    FK_OPT_MOMENTUM = 1,  /* s0 = m */
    FK_OPT_NESTEROV = 2,  /* s0 = m */
    FK_OPT_ADAM = 3,      /* s0 = m, s1 = v, s2 = v_hat (amsgrad) or unused */
    FK_OPT_ADAGRAD = 4,   /* s0 = accumulator */
    FK_OPT_ADADELTA = 5,  /* s0 = accumulated grad, s1 = accumulated delta */
    FK_OPT_RMSPROP = 6,   /* s0 = velocity, s1 = momentum (if momentum > 0), s2 = mean grad (centered) */
    FK_OPT_ADAMAX = 7,    /* s0 = m, s1 = u */
    FK_OPT_NADAM = 8,     /* s0 = m, s1 = v */
    FK_OPT_LION = 9       /* s0 = m */
};

typedef struct fk_optim_args {
    int kind;
    double lr;
    double beta1, beta2, epsilon, rho, momentum;
    int amsgrad, centered;
    double alpha;        /* Adam: lr sqrt(1 - b2^t) / (1 - b1^t); Adamax: 1 - b1^t */
    double c1, c2, vcorr; /* Nadam: m_hat = c1 m + c2 g, v_hat = v / vcorr */
    double weight_decay; /* decoupled decay before the step: p -= p wd lr (0: none) */
    double clipvalue;    /* clip g to [-clipvalue, clipvalue] (0: none) */
    double ema_momentum; /* ema = m ema + (1 - m) p after the step (< 0: no EMA) */
} fk_optim_args;

/* gscale: one gradient multiplier per tensor (clipnorm / global_clipnorm), or NULL.
 * slots: 3 arrays of ntensors pointers (entries may be NULL where a kind has no
 * such slot); ema: ntensors pointers or NULL. */
int fk_optim_step_f32(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                      float *const *params, const float *const *grads, const double *gscale,
                      float *const *const *slots, float *const *ema, int n_threads);
int fk_optim_step_f64(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                      double *const *params, const double *const *grads, const double *gscale,
                      double *const *const *slots, double *const *ema, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
