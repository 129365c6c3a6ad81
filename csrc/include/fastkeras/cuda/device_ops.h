/* fastkeras device primitives for training on the GPU (fastkeras.config.set_device("cuda")).
 *
 * One entry point runs one primitive on device memory, described by an fk_dev_op; every
 * array is row-major and C-contiguous, of the op's float type (f64: 0 float32, 1 float64),
 * except labels (int64). m, n, k are sizes; a, b, c inputs; y, z outputs.
 *
 *   FK_DOP_GEMM        y (m, n) = op(a) op(b) + beta y: op(a) (m, k) is a, or a (k, m)
 *                      transposed when ta; op(b) (k, n) is b, or b (n, k) transposed when tb.
 *                      beta = 0 never reads y.
 *   FK_DOP_BIAS_ACT    z (m, n) += b (n) (b may be NULL), then y = f(z) with f the activation
 *                      `kind` of activation.h (alpha its parameter), FK_STEP_LINEAR (y = z;
 *                      y may be z) or FK_STEP_SOFTMAX (rows of n).
 *   FK_DOP_ACT_BWD     y (m, n) = c * f'(a) with a = f's input, b = f's output (the gradient
 *                      c flows back through f); softmax: y = b (c - rowsum(c b)).
 *   FK_DOP_COL_SUM     y (n) = beta y + sum over the m rows of a (m, n).
 *   FK_DOP_MUL         y = a * b element-wise, m * n elements (y may be a).
 *   FK_DOP_MSE         z (m) = mean over n of (a - b)^2 (a predictions, b targets); when y
 *                      is not NULL, y (m, n) = 2 (a - b) / n * c[row] * alpha (c NULL: 1).
 *   FK_DOP_XENT_SPARSE / FK_DOP_XENT_DENSE
 *                      the fused softmax cross-entropy of softmax_xent.h on a (m, n) with
 *                      int64 labels b (m) or targets b (m, n), row scale c (m) or NULL,
 *                      gradient y (m, n) or NULL, per-row loss z (m); options in xent.
 *   FK_DOP_GATHER      y (m, n) = rows b[i] of a (k, n), b int64 (m); every b[i] in [0, k)
 *                      (checked on the host by the caller: the kernel clamps nothing).
 *   FK_DOP_REGULARIZE  L1 / L2 weight penalty of a (n elements; m = 1): y (the gradient,
 *                      n; NULL: none) += alpha sign(a) + 2 beta a, and z[0] = alpha sum|a|
 *                      + beta sum a^2 (sums in double); alpha, beta >= 0.
 *   FK_DOP_BATCHNORM   batch normalization over the m rows of (m, n), per column, alpha =
 *                      epsilon; b = gamma (n) or NULL (1), c = beta (n) or NULL (0); stats
 *                      are (2n): means then variances (biased, as Keras). kind 0 training
 *                      forward: y from a = x, the batch's stats into z, and the moving
 *                      stats w (2n) = w beta + stats (1 - beta) (beta = momentum); kind 1
 *                      inference forward: y from a = x with the stats d; kind 2 training
 *                      backward: y = dx from a = x, c = dy, the batch stats d, and z (2n) =
 *                      (dgamma, dbeta); kind 3 inference backward: y = dx from c = dy and
 *                      the stats d.
 *   FK_DOP_GLOBAL_MAX  a = x (m, k, n): m samples, k positions, n channels. kind 0:
 *                      y (m, n) = the max over the k positions; kind 1: y = dx (m, k, n)
 *                      from b = that max and c = its gradient (m, n), shared equally among
 *                      the positions equal to the max (TensorFlow's rule for ties).
 *   FK_DOP_CONV        convolution.h's geometry in conv (channels last, m n k unused);
 *                      kind 0: y = conv(a = x, b = w) + c (bias, or NULL); 1: y = dx from
 *                      a = dy, b = w; 2: y = dw from a = x, b = dy, and z = dbias unless NULL.
 *   FK_DOP_POOL        pool.h's geometry in pool; kind 0: max, y from a, z = the argmax
 *                      bytes (uint8, one per output; NULL: none; at most 256 taps);
 *                      1: y = dx from a = dy and the argmax bytes b; 2: average, y from a;
 *                      3: y = dx from a = dy.
 *
 * Validation (op, kind, sizes, NULL pointers, m * n * k below 2**62) happens before any
 * launch; the work is queued on `stream` (NULL: the default stream) and a launch failure
 * comes back as FK_ECUDA. Deterministic: no atomics. */
#ifndef FASTKERAS_DEVICE_OPS_H
#define FASTKERAS_DEVICE_OPS_H

#include <stdint.h>
#include "fastkeras/softmax_xent.h"
#include "fastkeras/conv.h"
#include "fastkeras/pool.h"
#include "fastkeras/cuda/device.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FK_DOP_GEMM = 0,
    FK_DOP_BIAS_ACT,
    FK_DOP_ACT_BWD,
    FK_DOP_COL_SUM,
    FK_DOP_MUL,
    FK_DOP_MSE,
    FK_DOP_XENT_SPARSE,
    FK_DOP_XENT_DENSE,
    FK_DOP_CONV,
    FK_DOP_POOL,
    FK_DOP_GATHER,
    FK_DOP_REGULARIZE,
    FK_DOP_BATCHNORM,
    FK_DOP_GLOBAL_MAX,
    FK_DOP_COUNT
};

typedef struct fk_dev_op {
    int op, f64, kind, ta, tb;
    int64_t m, n, k;
    double alpha, beta;
    const void *a, *b, *c, *d;
    void *y, *z, *w;
    const fk_xent_opts *xent;
    const fk_conv_geom *conv;
    const fk_pool_geom *pool;
} fk_dev_op;

int fk_cuda_dev_op(const fk_dev_op *op, void *stream);

/* Which code computes the products (FK_DOP_GEMM and the dense chain): 1 cuBLAS, loaded at
 * run time with dlopen, 0 fastkeras' tiled kernel. request 1 or 0 chooses (1 falls back
 * to 0 when cuBLAS cannot be loaded), -1 only asks; returns the backend in force. The
 * first decision follows FASTKERAS_CUBLAS=0 in the environment. CPU-only builds: 0. */
int fk_cuda_gemm_backend(int request);

#ifdef __cplusplus
}
#endif
#endif
