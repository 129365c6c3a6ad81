// The fused softmax cross-entropy on device pointers (softmax_xent.cu), for the training
// primitives: labels (sparse) or targets (dense), exactly one given; checks its arguments.
#ifndef FASTKERAS_CUDA_SOFTMAX_XENT_CUH
#define FASTKERAS_CUDA_SOFTMAX_XENT_CUH

#include "common.cuh"
#include "fastkeras/softmax_xent.h"

namespace fkcuda {

template <typename T>
int xent_launch(int64_t n, int64_t c, const T *x, const int64_t *labels, const T *targets,
                const T *gscale, T *grad, T *loss, const fk_xent_opts *opts, void *stream);

}  // namespace fkcuda

#endif
