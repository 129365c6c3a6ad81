/* fastkeras CUDA twins of softmax_xent.h. Pointers are device pointers,
 * `stream` is a cudaStream_t (NULL: the default stream). Declared without
 * CUDA headers so that C callers compile without the CUDA toolkit. (The host-copy
 * wrappers the tests use are internal: csrc/cuda/host_copies.h.) */
#ifndef FASTKERAS_SOFTMAX_XENT_CUDA_H
#define FASTKERAS_SOFTMAX_XENT_CUDA_H

#include <stdint.h>
#include "fastkeras/softmax_xent.h"
#include "fastkeras/cuda/device.h"

#ifdef __cplusplus
extern "C" {
#endif

int fk_softmax_xent_sparse_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                        const int64_t *labels, const float *gscale,
                                        float *grad, float *loss,
                                        const fk_xent_opts *opts, void *stream);
int fk_softmax_xent_sparse_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                        const int64_t *labels, const double *gscale,
                                        double *grad, double *loss,
                                        const fk_xent_opts *opts, void *stream);

/* Dense targets [n, c] (one-hot or any distribution), as fk_softmax_xent_dense_bwd. */
int fk_softmax_xent_dense_bwd_f32_cuda(int64_t n, int64_t c, const float *x,
                                       const float *targets, const float *gscale, float *grad,
                                       float *loss, const fk_xent_opts *opts, void *stream);
int fk_softmax_xent_dense_bwd_f64_cuda(int64_t n, int64_t c, const double *x,
                                       const double *targets, const double *gscale,
                                       double *grad, double *loss, const fk_xent_opts *opts,
                                       void *stream);

#ifdef __cplusplus
}
#endif
#endif
