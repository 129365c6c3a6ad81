/* fastkeras CUDA twins of conv.h and pool.h (direct kernels, no cuDNN).
 * The *_cuda functions take device pointers and a cudaStream_t as void*;
 * the *_cuda_host wrappers copy host arrays in and out (tests, C callers).
 * Every output element is computed by one thread as a gather, so results
 * are deterministic (no atomics). */
#ifndef FASTKERAS_CONV_CUDA_H
#define FASTKERAS_CONV_CUDA_H

#include <stdint.h>
#include "fastkeras/conv.h"
#include "fastkeras/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* which: 0 forward (y from x, w, bias), 1 backward data (dx from dy, w),
 * 2 backward filter (dw and db from x, dy). a, b, c are the pass's two inputs
 * and optional bias; out/out2 its outputs (out2 = db, may be NULL). */
int fk_conv_f32_cuda_host(int which, const fk_conv_geom *g, const float *a, const float *b,
                          const float *bias, float *out, float *out2);
int fk_conv_f64_cuda_host(int which, const fk_conv_geom *g, const double *a, const double *b,
                          const double *bias, double *out, double *out2);
/* which: 0 max forward (y and argmax), 1 max backward (dx from dy, argmax),
 * 2 average forward, 3 average backward. */
int fk_pool_f32_cuda_host(int which, const fk_pool_geom *g, const float *in, float *out,
                          uint8_t *argmax);
int fk_pool_f64_cuda_host(int which, const fk_pool_geom *g, const double *in, double *out,
                          uint8_t *argmax);

#ifdef __cplusplus
}
#endif
#endif
