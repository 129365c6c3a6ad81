/* fastkeras CUDA twin of the dense chain (dense_chain.h), for GPU inference: the weights
 * are copied to the device once (fk_chain_cuda_create); each run copies the batch in,
 * runs every step on the device (tiled products, bias + activation, affine, softmax) and
 * copies the result out: one copy each way per batch. Runs on the default stream, so
 * concurrent runs of one plan are serialised by the device, never mixed. */
#ifndef FASTKERAS_DENSE_CHAIN_CUDA_H
#define FASTKERAS_DENSE_CHAIN_CUDA_H

#include <stdint.h>
#include "fastkeras/dense_chain.h"
#include "fastkeras/cuda/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_chain_cuda fk_chain_cuda;

/* steps as for fk_dense_chain_f32 / _f64 (host weights, copied); f64: 0 float32, 1 float64. */
int fk_chain_cuda_create(int f64, int n_steps, const fk_chain_step *steps, fk_chain_cuda **out);
/* x (n, in) and y (n, out) are host arrays of the plan's dtype. */
int fk_chain_cuda_run_f32(fk_chain_cuda *plan, int64_t n, const float *x, float *y);
int fk_chain_cuda_run_f64(fk_chain_cuda *plan, int64_t n, const double *x, double *y);
void fk_chain_cuda_destroy(fk_chain_cuda *plan);

#ifdef __cplusplus
}
#endif
#endif
