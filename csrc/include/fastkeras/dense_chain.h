/* fastkeras C core: a chain of dense layers run in one call, for inference.
 *
 * Each step maps a row-major (n, in) activation to (n, out):
 *   FK_STEP_DENSE:  y = f(x W + b)        W (in, out) row-major, b (out) or NULL
 *   FK_STEP_AFFINE: y = f(x * w + b)      per-feature scale w (in == out) and shift b
 *   FK_STEP_DENSE_INT8: y = f(q(x) Wq + b) w points to an fk_qdense (qdense.h): the
 *                   row quantised to int8, an integer product, dequantised (float32 only)
 * then f is an activation kind of activation.h, FK_STEP_LINEAR (none) or
 * FK_STEP_SOFTMAX (over the out axis). Intermediate rows live in two scratch
 * buffers the call allocates and frees itself, so concurrent calls share nothing
 * but the (read-only) weights. The products use BLAS (or the packed direct tiles, see
 * fk_chain_step.packed), single-threaded; with enough
 * work (about 2 MFLOP per thread, 8 rows or more each) up to n_threads OpenMP
 * threads each run the whole chain on their own block of rows. */
#ifndef FASTKERAS_DENSE_CHAIN_H
#define FASTKERAS_DENSE_CHAIN_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FK_STEP_DENSE = 0, FK_STEP_AFFINE = 1, FK_STEP_DENSE_INT8 = 2 };
enum { FK_STEP_LINEAR = -1, FK_STEP_SOFTMAX = -2 };

typedef struct fk_chain_step {
    int type;           /* FK_STEP_DENSE, FK_STEP_AFFINE or FK_STEP_DENSE_INT8 */
    int64_t in, out;    /* widths; AFFINE needs in == out */
    const void *w;      /* (in, out) matrix, (out) scales, or an fk_qdense */
    const void *b;      /* (out) bias / shift, or NULL */
    int act;            /* fk_act_kind, FK_STEP_LINEAR or FK_STEP_SOFTMAX */
    double alpha;       /* the activation's parameter (leaky_relu slope, elu alpha) */
    const void *packed; /* FK_STEP_DENSE in float32 only, or NULL: W and b packed by
                           fk_dense_chain_pack_f32; blocks of rows at least as many as the
                           direct tile's then run the direct kernel's register tiles
                           (conv_direct.h, as a 1x1 convolution) instead of BLAS */
} fk_chain_step;

/* Floats fk_dense_chain_pack_f32 writes for an (in, out) dense step; -1 where this CPU has
 * no direct tile (then steps run BLAS). */
int64_t fk_dense_chain_packed_size(int64_t in, int64_t out);
int fk_dense_chain_pack_f32(int64_t in, int64_t out, const float *w, const float *b,
                            float *packed);

int fk_dense_chain_f32(int64_t n, int n_steps, const fk_chain_step *steps, const float *x,
                       float *y, int n_threads);
int fk_dense_chain_f64(int64_t n, int n_steps, const fk_chain_step *steps, const double *x,
                       double *y, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
