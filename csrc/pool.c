/* Pooling kernels (float32 and float64 from one body). Direct loops,
 * vectorised over the contiguous channel axis. */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fastkeras/pool.h"
#include "workers.h"

int fk_pool_check(const fk_pool_geom *g) {
    if (!g) return FK_ENULL;
    if (g->n < 0 || g->c < 1) return FK_EBADSHAPE;
    int64_t pin = 1, pout = 1;
    for (int d = 0; d < 3; ++d) {
        if (g->in[d] < 1 || g->out[d] < 1 || g->k[d] < 1) return FK_EBADSHAPE;
        if (g->stride[d] < 1 || g->pad[d] < 0 || g->pad[d] >= g->k[d]) return FK_EBADARG;
        if (g->in[d] > INT32_MAX || g->out[d] > INT32_MAX) return FK_EBADSHAPE;
        /* window positions o * stride - pad (+ k) must not overflow int64 */
        const int64_t big = (int64_t)1 << 61;
        if (g->k[d] > big || g->stride[d] > big / g->out[d]) return FK_EBADSHAPE;
        /* the last window must start inside the input */
        if ((g->out[d] - 1) * g->stride[d] - g->pad[d] >= g->in[d]) return FK_EBADSHAPE;
        pin *= g->in[d];
        pout *= g->out[d];
        if (pin > INT32_MAX || pout > INT32_MAX) return FK_EBADSHAPE; /* argmax is int32 */
    }
    if (g->c > INT64_MAX / 8 / pin || (g->n > 0 && g->c * pin > INT64_MAX / 8 / g->n))
        return FK_EBADSHAPE;
    return FK_OK;
}

/* First input position (possibly negative: padding) of output pixel p's window. */
static inline void fk_pool_window_start(const fk_pool_geom *g, int64_t p, int64_t s0[3]) {
    const int64_t o0 = p / (g->out[1] * g->out[2]), o1 = (p / g->out[2]) % g->out[1];
    const int64_t o2 = p % g->out[2];
    s0[0] = o0 * g->stride[0] - g->pad[0];
    s0[1] = o1 * g->stride[1] - g->pad[1];
    s0[2] = o2 * g->stride[2] - g->pad[2];
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#else
#define FK_CLONES
#endif

/* Channels per block of the max-pool forward's int32 position tracker. */
#define FK_POOL_CBLOCK 256

static int fk_pool_threads(const fk_pool_geom *g, int requested) {
    int nt = requested < 1 ? 1 : requested;
    const double work = (double)g->n * (double)(g->out[0] * g->out[1] * g->out[2]) *
                        (double)(g->k[0] * g->k[1] * g->k[2]) * (double)g->c;
    if (work < 32768) nt = 1;
    return nt;
}

/* Items of the worker pool (workers.h) for a loop of `total` cheap iterations: about four
 * per thread, so that a thread the scheduler parks leaves little for the others to take. */
static int64_t fk_pool_chunk(int64_t total, int nt) {
    const int64_t parts = nt <= 1 ? 1 : 4 * (int64_t)nt;
    return total <= parts ? 1 : (total + parts - 1) / parts;
}

#define T float
#define SUF f32
#include "pool_impl.h"
#undef T
#undef SUF

#define T double
#define SUF f64
#include "pool_impl.h"
