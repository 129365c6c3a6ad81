/* fastkeras C core: max and average pooling 1-D/2-D/3-D, forward and backward.
 *
 * Layout: channels-last, x [N, Di, Hi, Wi, C] -> y [N, Do, Ho, Wo, C]; 1-D and
 * 2-D use size 1 in the leading spatial dims. pad[] is the padding before each
 * dim; padded positions never win a max and are not counted by the average
 * (tf.keras' "same" semantics). Max pooling can record, per output element,
 * the position of its maximum inside the window, (kd*Kh + kh)*Kw + kw as a
 * byte (windows of up to 256 elements; the first maximum in window order on
 * ties, as TensorFlow's 1-D/2-D CPU kernels do); the backward pass sends each
 * gradient there. */
#ifndef FASTKERAS_POOL_H
#define FASTKERAS_POOL_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_pool_geom {
    int64_t n;                              /* images */
    int64_t in[3], out[3], k[3], stride[3]; /* spatial sizes, window, stride */
    int64_t pad[3];                         /* padding before, per dim (< k) */
    int64_t c;                              /* channels */
} fk_pool_geom;

/* FK_OK if sizes are positive, pad < k, and every window has a valid element. */
int fk_pool_check(const fk_pool_geom *g);

/* argmax: [N, Do, Ho, Wo, C] window positions, or NULL (required <= 256 taps). */
int fk_maxpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, uint8_t *argmax,
                       int n_threads);
int fk_maxpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, uint8_t *argmax,
                       int n_threads);
/* dx (overwritten) from dy and the argmax recorded by the forward pass. Windows
 * that do not overlap are gathered row by row (one write of dx, no zeroing pass). */
int fk_maxpool_bwd_f32(const fk_pool_geom *g, const float *dy, const uint8_t *argmax, float *dx,
                       int n_threads);
int fk_maxpool_bwd_f64(const fk_pool_geom *g, const double *dy, const uint8_t *argmax,
                       double *dx, int n_threads);
/* dx (overwritten) recomputed from the forward input x and output y, for any
 * window size: all_ties = 1 gives every element equal to its window's maximum
 * the window's gradient (TensorFlow's rule for 3-D max pooling); all_ties = 0
 * gives it to the first maximum in window order only. */
int fk_maxpool_bwd_recompute_f32(const fk_pool_geom *g, const float *x, const float *y,
                                 const float *dy, float *dx, int all_ties, int n_threads);
int fk_maxpool_bwd_recompute_f64(const fk_pool_geom *g, const double *x, const double *y,
                                 const double *dy, double *dx, int all_ties, int n_threads);
int fk_avgpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, int n_threads);
int fk_avgpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, int n_threads);
int fk_avgpool_bwd_f32(const fk_pool_geom *g, const float *dy, float *dx, int n_threads);
int fk_avgpool_bwd_f64(const fk_pool_geom *g, const double *dy, double *dx, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
