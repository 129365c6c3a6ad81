// Convolution and pooling on device memory (conv_pool.cu), for the internal host wrappers
// (host_copies.h) and the training primitives (device_ops.cu). The geometry must have passed
// fk_conv_check / fk_pool_check. which: conv 0 forward (out = y from a = x, b = w, bias),
// 1 data gradient (out = dx from a = dy, b = w), 2 filter gradient (out = dw from a = x,
// b = dy; out2 = dbias or NULL); pool 0 max forward (argmax written when not NULL),
// 1 max backward (in = dy, argmax read), 2 average forward, 3 average backward.
#ifndef FASTKERAS_CUDA_CONV_POOL_CUH
#define FASTKERAS_CUDA_CONV_POOL_CUH

#include "common.cuh"
#include "fastkeras/conv.h"
#include "fastkeras/pool.h"

namespace fkcuda {

template <typename T>
int conv_launch(int which, const fk_conv_geom *g, const T *a, const T *b, const T *bias, T *out,
                T *out2, cudaStream_t st);
template <typename T>
int pool_launch(int which, const fk_pool_geom *g, const T *in, T *out, uint8_t *argmax,
                cudaStream_t st);

}  // namespace fkcuda

#endif
