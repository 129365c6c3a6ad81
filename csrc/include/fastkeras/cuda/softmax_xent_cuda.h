/* fastkeras CUDA twins of softmax_xent.h. Pointers are device pointers,
 * `stream` is a cudaStream_t (NULL: the default stream). Declared without
 * CUDA headers so that C callers compile without the CUDA toolkit. */
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

/* Host-memory convenience wrapper (copies in, runs, copies out): used by the
 * Python tests and by C programs without their own device buffers.
 * grad and loss may each be NULL. */
int fk_softmax_xent_sparse_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                             const int64_t *labels, const float *gscale,
                                             float *grad, float *loss,
                                             const fk_xent_opts *opts);
int fk_softmax_xent_sparse_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                             const int64_t *labels, const double *gscale,
                                             double *grad, double *loss,
                                             const fk_xent_opts *opts);

int fk_softmax_xent_dense_bwd_f32_cuda_host(int64_t n, int64_t c, const float *x,
                                            const float *targets, const float *gscale,
                                            float *grad, float *loss, const fk_xent_opts *opts);
int fk_softmax_xent_dense_bwd_f64_cuda_host(int64_t n, int64_t c, const double *x,
                                            const double *targets, const double *gscale,
                                            double *grad, double *loss,
                                            const fk_xent_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
