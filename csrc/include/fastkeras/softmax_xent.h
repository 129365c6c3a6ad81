/* fastkeras C core: fused softmax + cross-entropy, forward and backward.
 *
 * Layout: x is [N, C] row-major (contiguous); a row is one sample's logits
 * (from_logits=1) or probabilities (from_logits=0, Keras' clipping rules).
 * Sparse labels are int64 [N] in [0, C), or equal to ignore_class when
 * has_ignore_class is set (such rows get loss 0 and gradient 0).
 * Dense targets are [N, C] row-major (one-hot or any distribution).
 *
 * Loss per row (t = smoothed target: t*(1-ls) + ls/C):
 *   logits:        sum_j t_j * (logsumexp(x) - x_j)
 *   probabilities: dense  -sum_j t_j log(clip(x_j / sum x, eps, 1-eps))
 *                  sparse -sum_j t_j log(clip(x_j, eps, 1-eps) / sum_k clip(x_k))
 * which are exactly tf.keras 3's definitions.
 *
 * Every row is independent and sums are accumulated in double in a fixed
 * order, so results do not depend on n_threads. */
#ifndef FASTKERAS_SOFTMAX_XENT_H
#define FASTKERAS_SOFTMAX_XENT_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_xent_opts {
    int from_logits;          /* 1: x holds logits; 0: x holds probabilities */
    double label_smoothing;   /* in [0, 1] */
    double epsilon;           /* clipping for probabilities, in (0, 0.5) */
    int has_ignore_class;     /* sparse only: rows whose label == ignore_class are skipped */
    int64_t ignore_class;
    double grad_scale;        /* multiplies every gradient row (with gscale); default 1 */
} fk_xent_opts;

/* Fill opts with tf.keras defaults (from_logits=1, no smoothing, eps=1e-7, grad_scale=1). */
void fk_xent_opts_init(fk_xent_opts *opts);

/* Forward only. loss: [N] per-row loss. */
int fk_softmax_xent_sparse_fwd_f32(int64_t n, int64_t c, const float *x, const int64_t *labels,
                                   float *loss, const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_sparse_fwd_f64(int64_t n, int64_t c, const double *x, const int64_t *labels,
                                   double *loss, const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_dense_fwd_f32(int64_t n, int64_t c, const float *x, const float *targets,
                                  float *loss, const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_dense_fwd_f64(int64_t n, int64_t c, const double *x, const double *targets,
                                  double *loss, const fk_xent_opts *opts, int n_threads);

/* Backward, optionally fused with the forward in the same pass over x.
 * grad: [N, C], grad[i, :] = gscale[i] * d loss_i / d x[i, :]  (gscale NULL means 1).
 * loss: [N] or NULL; when given, the per-row loss is written in the same pass. */
int fk_softmax_xent_sparse_bwd_f32(int64_t n, int64_t c, const float *x, const int64_t *labels,
                                   const float *gscale, float *grad, float *loss,
                                   const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_sparse_bwd_f64(int64_t n, int64_t c, const double *x, const int64_t *labels,
                                   const double *gscale, double *grad, double *loss,
                                   const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_dense_bwd_f32(int64_t n, int64_t c, const float *x, const float *targets,
                                  const float *gscale, float *grad, float *loss,
                                  const fk_xent_opts *opts, int n_threads);
int fk_softmax_xent_dense_bwd_f64(int64_t n, int64_t c, const double *x, const double *targets,
                                  const double *gscale, double *grad, double *loss,
                                  const fk_xent_opts *opts, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
