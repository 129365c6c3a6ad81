/* fastkeras internal: host-memory wrappers of the CUDA twins. Each one copies its host
 * arrays to the device, runs the device-pointer kernel on the default stream and copies
 * the results back. They exist for the Python tests (through the Cython bridge,
 * src/fastkeras/_kernels/fk.pxd) and for the C test program (tests/c/test_core.c); they
 * are not part of the public C API (csrc/include/fastkeras), whose CUDA entry points take
 * device pointers and a stream. Defined in the csrc/cuda .cu files, and in csrc/cuda_stub.c
 * (answering FK_ENOTBUILT) in CPU-only builds. Plain C, no CUDA headers needed. */
#ifndef FASTKERAS_CUDA_HOST_COPIES_H
#define FASTKERAS_CUDA_HOST_COPIES_H

#include <stdint.h>
#include "fastkeras/conv.h"
#include "fastkeras/optim.h"
#include "fastkeras/pool.h"
#include "fastkeras/softmax_xent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fused softmax cross-entropy (fastkeras/cuda/softmax_xent_cuda.h); grad and loss may
 * each be NULL. */
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

/* Convolution and pooling (the device-pointer passes are ops of fk_cuda_dev_op,
 * fastkeras/cuda/device_ops.h). Convolution which: 0 forward (y from x, w, bias),
 * 1 backward data (dx from dy, w), 2 backward filter (dw and db from x, dy); a, b, c are
 * the pass's two inputs and optional bias; out/out2 its outputs (out2 = db, may be NULL).
 * Pooling which: 0 max forward (y and argmax), 1 max backward (dx from dy, argmax),
 * 2 average forward, 3 average backward. */
int fk_conv_f32_cuda_host(int which, const fk_conv_geom *g, const float *a, const float *b,
                          const float *bias, float *out, float *out2);
int fk_conv_f64_cuda_host(int which, const fk_conv_geom *g, const double *a, const double *b,
                          const double *bias, double *out, double *out2);
int fk_pool_f32_cuda_host(int which, const fk_pool_geom *g, const float *in, float *out,
                          uint8_t *argmax);
int fk_pool_f64_cuda_host(int which, const fk_pool_geom *g, const double *in, double *out,
                          uint8_t *argmax);

/* Optimizer steps (fastkeras/cuda/optim_cuda.h) on host tensors. */
int fk_optim_step_f32_cuda_host(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                                float *const *params, const float *const *grads,
                                const double *gscale, float *const *const *slots,
                                float *const *ema);
int fk_optim_step_f64_cuda_host(const fk_optim_args *a, int64_t ntensors, const int64_t *sizes,
                                double *const *params, const double *const *grads,
                                const double *gscale, double *const *const *slots,
                                double *const *ema);

/* AUC / KS histograms (fastkeras/cuda/rank_cuda.h) from host arrays, uint8 labels. */
int fk_rank_hist_f32_cuda_host(int64_t n, const float *scores, const uint8_t *labels,
                               const float *weights, int64_t num_thresholds, double *pos,
                               double *neg);
int fk_rank_hist_f64_cuda_host(int64_t n, const double *scores, const uint8_t *labels,
                               const double *weights, int64_t num_thresholds, double *pos,
                               double *neg);

#ifdef __cplusplus
}
#endif
#endif
