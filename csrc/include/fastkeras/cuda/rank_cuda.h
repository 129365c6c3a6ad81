/* fastkeras CUDA twin of fk_rank_hist (rank_hist.h): the AUC / KS score histograms.
 * Each block counts into a histogram in shared memory (integers when unweighted, so the
 * counts are exact and deterministic; doubles when weighted), then adds it to a global
 * one; num_thresholds too large for shared memory count in global memory directly. */
#ifndef FASTKERAS_RANK_CUDA_H
#define FASTKERAS_RANK_CUDA_H

#include <stdint.h>
#include "fastkeras/cuda/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Label element types accepted on the device (0 or 1; anything else is FK_ELABEL). */
enum fk_label_type {
    FK_LABEL_U8 = 0, FK_LABEL_I32 = 1, FK_LABEL_I64 = 2, FK_LABEL_F32 = 3, FK_LABEL_F64 = 4
};

/* scores, labels (label_type) and weights (may be NULL) are device memory; pos and neg
 * ([num_thresholds + 1] doubles) are host memory, added to as fk_rank_hist does, and
 * left unchanged on any error. stream: a cudaStream_t or NULL. */
int fk_rank_hist_f32_cuda(int64_t n, const float *scores, const void *labels, int label_type,
                          const float *weights, int64_t num_thresholds, double *pos,
                          double *neg, void *stream);
int fk_rank_hist_f64_cuda(int64_t n, const double *scores, const void *labels, int label_type,
                          const double *weights, int64_t num_thresholds, double *pos,
                          double *neg, void *stream);

#ifdef __cplusplus
}
#endif
#endif
