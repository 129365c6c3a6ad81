/* fastkeras CUDA twin of fk_optim_step (optim.h): the same per-element formulas
 * (optim_bodies.h), one grid-stride kernel per tensor on one stream. */
#ifndef FASTKERAS_OPTIM_CUDA_H
#define FASTKERAS_OPTIM_CUDA_H

#include <stdint.h>
#include "fastkeras/optim.h"
#include "fastkeras/cuda/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* params, grads, slots and ema hold device pointers (the tables themselves and sizes and
 * gscale are host memory), as in fk_optim_step. stream: a cudaStream_t or NULL; the call
 * returns once the updates are done. */
int fk_optim_step_f32_cuda(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                           float *const *params, const float *const *grads,
                           const double *gscale, float *const *const *slots,
                           float *const *ema, void *stream);
int fk_optim_step_f64_cuda(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                           double *const *params, const double *const *grads,
                           const double *gscale, double *const *const *slots,
                           double *const *ema, void *stream);

#ifdef __cplusplus
}
#endif
#endif
