/* fastkeras C core: max and average pooling 1-D/2-D/3-D, forward and backward.
 *
 * Layout: channels-last, x [N, Di, Hi, Wi, C] -> y [N, Do, Ho, Wo, C]; 1-D and
 * 2-D use size 1 in the leading spatial dims. pad[] is the padding before each
 * dim; padded positions never win a max and are not counted by the average
 * (tf.keras' "same" semantics). Max pooling can record, per output element,
 * the flat input pixel (d*Hi + h)*Wi + w of its maximum (the first one in
 * window order on ties, as TensorFlow's CPU kernels do); the backward pass
 * sends each gradient there. */
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

/* argmax: [N, Do, Ho, Wo, C] int32 or NULL. */
int fk_maxpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, int32_t *argmax,
                       int n_threads);
int fk_maxpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, int32_t *argmax,
                       int n_threads);
/* dx (overwritten) from dy and the argmax recorded by the forward pass. */
int fk_maxpool_bwd_f32(const fk_pool_geom *g, const float *dy, const int32_t *argmax, float *dx,
                       int n_threads);
int fk_maxpool_bwd_f64(const fk_pool_geom *g, const double *dy, const int32_t *argmax,
                       double *dx, int n_threads);
/* dx (overwritten) where every element equal to its window's maximum receives
 * that window's gradient: TensorFlow's rule for 3-D max pooling, whose gradient
 * goes to all tied maxima. x and y are the forward input and output. */
int fk_maxpool_bwd_ties_f32(const fk_pool_geom *g, const float *x, const float *y,
                            const float *dy, float *dx, int n_threads);
int fk_maxpool_bwd_ties_f64(const fk_pool_geom *g, const double *x, const double *y,
                            const double *dy, double *dx, int n_threads);
int fk_avgpool_fwd_f32(const fk_pool_geom *g, const float *x, float *y, int n_threads);
int fk_avgpool_fwd_f64(const fk_pool_geom *g, const double *x, double *y, int n_threads);
int fk_avgpool_bwd_f32(const fk_pool_geom *g, const float *dy, float *dx, int n_threads);
int fk_avgpool_bwd_f64(const fk_pool_geom *g, const double *dy, double *dx, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
