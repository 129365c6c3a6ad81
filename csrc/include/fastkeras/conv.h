/* fastkeras C core: convolution 1-D/2-D/3-D, forward and backward.
 *
 * Layout: channels-last. x is [N, Di, Hi, Wi, Cin], y is [N, Do, Ho, Wo, Cout]
 * (1-D and 2-D use Di = Hi = 1 and kernel/stride/dilation 1 there). The kernel
 * w is [Kd, Kh, Kw, Cin/groups, Cout] (tf.keras' layout); group g reads input
 * channels [g*Cin/G, (g+1)*Cin/G) and writes output channels [g*Cout/G, ...).
 * pad[] is the padding before each spatial dim (after-padding is implied by out[]).
 *
 * Matrix products go through BLAS (sgemm/dgemm, single-threaded per call):
 * the kernels parallelise over (image, tile) work items with OpenMP, so the
 * results do not depend on n_threads. The caller provides the workspace
 * (fk_conv_workspace_size bytes). */
#ifndef FASTKERAS_CONV_H
#define FASTKERAS_CONV_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the products are formed. Winograd F(2x2,3x3) applies only to 2-D 3x3 stride-1
 * undilated ungrouped convolutions with 8+ input and output channels; elsewhere every
 * choice is im2col. FK_CONV_AUTO (what a zeroed geometry says) takes Winograd from
 * FK_CONV_WINOGRAD_MIN_POSITIONS output positions (all images together). */
typedef enum fk_conv_algo {
    FK_CONV_AUTO = 0,
    FK_CONV_IM2COL = 1,
    FK_CONV_WINOGRAD = 2
} fk_conv_algo;
#define FK_CONV_WINOGRAD_MIN_POSITIONS 8192

typedef struct fk_conv_geom {
    int64_t n;                       /* images (leading batch dims flattened) */
    int64_t in[3], out[3];           /* spatial sizes, depth/height/width */
    int64_t k[3], stride[3], dil[3]; /* kernel size, stride, dilation per dim */
    int64_t pad[3];                  /* padding before, per dim */
    int64_t cin, cout, groups;
    int32_t algo;                    /* an fk_conv_algo */
} fk_conv_geom;

/* FK_OK if the geometry is consistent (sizes positive, out[] matching in/k/
 * stride/dil/pad, channels divisible by groups, sizes within BLAS int range). */
int fk_conv_check(const fk_conv_geom *g);

/* Workspace in bytes that every pass below needs for this geometry and thread count. */
int64_t fk_conv_workspace_size(const fk_conv_geom *g, int elem_size, int n_threads);

/* y = conv(x, w) + bias (bias [Cout] or NULL). */
int fk_conv_fwd_f32(const fk_conv_geom *g, const float *x, const float *w, const float *bias,
                    float *y, void *ws, int64_t ws_bytes, int n_threads);
int fk_conv_fwd_f64(const fk_conv_geom *g, const double *x, const double *w, const double *bias,
                    double *y, void *ws, int64_t ws_bytes, int n_threads);
/* dx = d conv / d x applied to dy (dx is overwritten). */
int fk_conv_bwd_data_f32(const fk_conv_geom *g, const float *dy, const float *w, float *dx,
                         void *ws, int64_t ws_bytes, int n_threads);
int fk_conv_bwd_data_f64(const fk_conv_geom *g, const double *dy, const double *w, double *dx,
                         void *ws, int64_t ws_bytes, int n_threads);
/* dw = d conv / d w applied to dy (overwritten); db = sum of dy over pixels (or NULL). */
int fk_conv_bwd_filter_f32(const fk_conv_geom *g, const float *x, const float *dy, float *dw,
                           float *db, void *ws, int64_t ws_bytes, int n_threads);
int fk_conv_bwd_filter_f64(const fk_conv_geom *g, const double *x, const double *dy, double *dw,
                           double *db, void *ws, int64_t ws_bytes, int n_threads);

/* Which BLAS the core was linked with, e.g. "scipy-openblas32 (OpenBLAS 0.3.34 ...)". */
const char *fk_blas_name(void);

#ifdef __cplusplus
}
#endif
#endif
