/* fastkeras C core: the direct convolution for inference (float32, 1-D and 2-D,
 * channels-last, ungrouped), for the small shapes where im2col's copies and one BLAS
 * call per tile cost more than the products (a served model's 8x8 images, K = 9).
 *
 * The kernel is packed once (fk_conv_direct_pack_f32: blocks of 32 output channels, the
 * bias beside them); each call pads only the input rows a work item reads (a band of
 * output rows of one image) into that thread's workspace and runs register-blocked tiles
 * of output positions by 32 channels (AVX-512: 8 positions, AVX2: 3), with the bias, ReLU
 * or any other activation applied while the tile is in cache. Every output is one sum in
 * a fixed order (taps, then input channels), so results do not depend on n_threads.
 * Threads are used only where the products pay for them: the count comes from the
 * geometry (FK_CONV_DIRECT_FLOPS_PER_THREAD), at most n_threads. */
#ifndef FASTKERAS_CONV_DIRECT_H
#define FASTKERAS_CONV_DIRECT_H

#include <stdint.h>
#include "fastkeras/conv.h"
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Below this many FLOPs per thread a call runs on fewer threads. */
#define FK_CONV_DIRECT_FLOPS_PER_THREAD 4e6

/* 1 when the direct kernel computes this geometry on this CPU (fk_conv_check passes,
 * groups 1, no depth dimension, AVX2 or AVX-512 at run time), else 0. */
int fk_conv_direct_usable(const fk_conv_geom *g);

/* Output positions per register tile on this CPU (8 with AVX-512, 3 with AVX2), 0 when the
 * direct kernel does not run here. */
int fk_conv_direct_tile_rows(void);

/* Floats of the packed kernel and bias; -1 when not usable. */
int64_t fk_conv_direct_packed_size(const fk_conv_geom *g);

/* packed = the kernel w [Kh, Kw, Cin, Cout] and bias [Cout] (NULL: zeros) in the
 * direct kernel's layout (fk_conv_direct_packed_size floats). */
int fk_conv_direct_pack_f32(const fk_conv_geom *g, const float *w, const float *bias,
                            float *packed);

/* Workspace bytes fk_conv_direct_fwd_f32 needs for g (g->n images) and these arguments. */
int64_t fk_conv_direct_workspace_size(const fk_conv_geom *g, int act, int n_threads);

/* y = act(conv(x, w) + bias): x [N, Hi, Wi, Cin], y [N, Ho, Wo, Cout]; act an
 * fk_act_kind of activation.h or -1 (linear); alpha as fk_act_fwd's. */
int fk_conv_direct_fwd_f32(const fk_conv_geom *g, const float *x, const float *packed, int act,
                           double alpha, float *y, void *ws, int64_t ws_bytes, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
