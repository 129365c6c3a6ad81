/* Convolution kernels (float32 and float64 from one body) and the BLAS glue. */
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "blas.h"
#include "workers.h"
#include "fastkeras/conv.h"

/* Groups whose per-group channel product is at most this use direct loops. */
#define FK_DIRECT_MAX 16
/* Target size of one thread's im2col tile: 1 MB measured best on the 2 MB-L2 machine
 * (256 KB: 152/134/153 GFLOP/s fwd/data/filter, 1 MB: 171/153/159, 2 MB: 158/145/149). */
#define FK_COL_TILE_BYTES (1024 * 1024)
/* Fixed number of partial-dW slots: independent of n_threads, so dW is too. */
#define FK_MAX_SLOTS 8
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FK_CLONES
#endif
/* Below this many input or output channels the Winograd GEMMs are too thin. */
#define FK_WINO_MIN_CHANNELS 8
/* below this many output positions (all images together) the transforms and the 16
 * small products cost more than one im2col product saves. Measured forward, 3x3
 * same, f32, 2 threads (Winograd / im2col, us): 1x8x8x32->32 47 / 12, 32x8x8x32->32
 * 274 / 231, 1x32x32x64->64 797 / 462, 1x64x64x32->32 552 / 544, 8x32x32x32->32
 * 980 / 1140. */
/* (FK_CONV_WINOGRAD_MIN_POSITIONS in conv.h: where FK_CONV_AUTO switches.) */

#if defined(FK_BLAS_OPENBLAS)
void FK_BLAS(openblas_set_num_threads)(int n);
char *FK_BLAS(openblas_get_config)(void);
#endif

static int g_blas_state = 0; /* 0: not yet, 1: in progress, 2: done */

void fk_blas_init(void) {
    if (__atomic_load_n(&g_blas_state, __ATOMIC_ACQUIRE) == 2) return;
    int expected = 0;
    if (__atomic_compare_exchange_n(&g_blas_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
#if defined(FK_BLAS_OPENBLAS)
        FK_BLAS(openblas_set_num_threads)(1);
#endif
        __atomic_store_n(&g_blas_state, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&g_blas_state, __ATOMIC_ACQUIRE) != 2) {
    }
}

const char *fk_blas_name(void) {
#if defined(FK_BLAS_OPENBLAS)
    static char buf[160];
    static int done = 0;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        const char *cfg = FK_BLAS(openblas_get_config)();
        snprintf(buf, sizeof buf, "%s (%s)", FK_BLAS_LABEL, cfg ? cfg : "OpenBLAS");
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return buf;
#else
    return FK_BLAS_LABEL;
#endif
}

#define FK_MAX_SPAN ((int64_t)1 << 61)

static int mul_ok(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int fk_conv_check(const fk_conv_geom *g) {
    if (!g) return FK_ENULL;
    if (g->n < 0 || g->cin < 1 || g->cout < 1 || g->groups < 1) return FK_EBADSHAPE;
    if (g->algo < FK_CONV_AUTO || g->algo > FK_CONV_WINOGRAD) return FK_EBADARG;
    if (g->cin % g->groups || g->cout % g->groups) return FK_EBADSHAPE;
    for (int d = 0; d < 3; ++d) {
        if (g->in[d] < 1 || g->out[d] < 1 || g->k[d] < 1) return FK_EBADSHAPE;
        if (g->stride[d] < 1 || g->dil[d] < 1 || g->pad[d] < 0) return FK_EBADARG;
    }
    /* window positions o * stride - pad + k * dil (and those of the adjoint passes) must
     * not overflow int64: each term below 2^61 */
    for (int d = 0; d < 3; ++d) {
        int64_t reach, span;
        if (!mul_ok(g->out[d] - 1, g->stride[d], &reach) ||
            !mul_ok(g->k[d] - 1, g->dil[d], &span) || reach > FK_MAX_SPAN ||
            span > FK_MAX_SPAN || g->pad[d] > FK_MAX_SPAN || g->in[d] > FK_MAX_SPAN)
            return FK_EBADSHAPE;
    }
    int64_t taps, kdim, pin, pout, t;
    if (!mul_ok(g->k[0], g->k[1], &t) || !mul_ok(t, g->k[2], &taps)) return FK_EBADSHAPE;
    if (!mul_ok(taps, g->cin / g->groups, &kdim) || kdim > INT_MAX / 8) return FK_EBADSHAPE;
    if (!mul_ok(kdim, g->cout, &t) || t > INT_MAX) return FK_EBADSHAPE;
    if (!mul_ok(g->in[0], g->in[1], &t) || !mul_ok(t, g->in[2], &pin)) return FK_EBADSHAPE;
    if (!mul_ok(g->out[0], g->out[1], &t) || !mul_ok(t, g->out[2], &pout)) return FK_EBADSHAPE;
    if (!mul_ok(pin, g->cin, &t) || !mul_ok(t, g->n, &t) || t > INT64_MAX / 8) return FK_EBADSHAPE;
    if (!mul_ok(pout, g->cout, &t) || !mul_ok(t, g->n, &t) || t > INT64_MAX / 8) return FK_EBADSHAPE;
    if (g->cin > INT_MAX / 8 || g->cout > INT_MAX / 8) return FK_EBADSHAPE;
    return FK_OK;
}

static int64_t fk_conv_kdim(const fk_conv_geom *g) {
    return g->k[0] * g->k[1] * g->k[2] * (g->cin / g->groups);
}

/* Output pixels per work item: a function of the geometry only. */
static int64_t fk_conv_tile(const fk_conv_geom *g, int es) {
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    int64_t tile = FK_COL_TILE_BYTES / (fk_conv_kdim(g) * es);
    if (tile < 32) tile = 32;
    if (tile > 4096) tile = 4096;
    /* small batches: split images so that there are at least 8 work items */
    if (g->n < 8) {
        int64_t per_img = (8 + g->n - 1) / (g->n > 0 ? g->n : 1);
        int64_t t = (P + per_img - 1) / per_img;
        if (t < 16) t = 16;
        if (t < tile) tile = t;
    }
    if (tile > P) tile = P;
    return tile < 1 ? 1 : tile;
}

/* Winograd F(2x2,3x3) applies to 2-D 3x3 stride-1 undilated ungrouped convolutions
 * with enough channels for its per-position GEMMs to run at BLAS speed. */
static int fk_conv_wino_ok(const fk_conv_geom *g) {
    if (g->k[0] != 1 || g->k[1] != 3 || g->k[2] != 3) return 0;
    if (g->in[0] != 1 || g->out[0] != 1 || g->pad[0] != 0 || g->groups != 1) return 0;
    for (int d = 0; d < 3; ++d)
        if (g->stride[d] != 1 || g->dil[d] != 1) return 0;
    if (g->algo == FK_CONV_IM2COL) return 0;
    if (g->algo == FK_CONV_AUTO && g->n * g->out[1] * g->out[2] < FK_CONV_WINOGRAD_MIN_POSITIONS)
        return 0;
    return g->cin >= FK_WINO_MIN_CHANNELS && g->cout >= FK_WINO_MIN_CHANNELS;
}

/* Tiles per Winograd work item: the V and M planes (16 x tiles x (Ci + Co)) fit
 * in about 1.5 MB of L2. A function of the geometry only. */
static int64_t fk_wino_chunk(int64_t ci, int64_t co, int es, int64_t tiles) {
    int64_t chunk = (3 * 512 * 1024) / (16 * (ci + co) * es);
    if (chunk < 16) chunk = 16;
    if (chunk > 512) chunk = 512;
    if (tiles > 0 && chunk > tiles) chunk = tiles;
    return chunk;
}

static int64_t fk_conv_slots(const fk_conv_geom *g);

static int64_t fk_wino_workspace(const fk_conv_geom *g, int es, int64_t nt) {
    if (!fk_conv_wino_ok(g)) return 0;
    const int64_t ci = g->cin, co = g->cout, S = fk_conv_slots(g);
    const int64_t chunk = fk_wino_chunk(ci, co, es, 0);
    const int64_t zlen = ci > co ? ci : co;
    /* forward/data: U, zeros, per-thread V+M; filter: zeros, slot partials, per-thread V+D, db */
    const int64_t fwd = 16 * ci * co + zlen + nt * 16 * chunk * (ci + co);
    const int64_t filt = zlen + S * 16 * ci * co + nt * 16 * chunk * (ci + co);
    return es * (fwd > filt ? fwd : filt) + 8 * S * co + 16;
}

static int64_t fk_conv_slots(const fk_conv_geom *g) {
    return g->n < FK_MAX_SLOTS ? (g->n > 0 ? g->n : 1) : FK_MAX_SLOTS;
}

static int fk_conv_pointwise(const fk_conv_geom *g) {
    for (int d = 0; d < 3; ++d)
        if (g->k[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->in[d] != g->out[d]) return 0;
    return g->groups == 1;
}

static int fk_conv_threads(const fk_conv_geom *g, int requested) {
    int nt = requested < 1 ? 1 : requested;
    const double flops = 2.0 * (double)g->n * (double)(g->out[0] * g->out[1] * g->out[2]) *
                         (double)fk_conv_kdim(g) * (double)(g->cout / g->groups) * g->groups;
    if (flops < 2e5) nt = 1; /* a fork/join costs more than the work */
    return nt;
}

int64_t fk_conv_workspace_size(const fk_conv_geom *g, int elem_size, int n_threads) {
    if (fk_conv_check(g) != FK_OK || (elem_size != 4 && elem_size != 8)) return -1;
    const int64_t nt = fk_conv_threads(g, n_threads);
    const int64_t K = fk_conv_kdim(g), tile = fk_conv_tile(g, elem_size);
    const int64_t S = fk_conv_slots(g);
    const int64_t direct = elem_size * (nt * tile * K + S * K * g->cout) + 8 * S * g->cout + 64;
    const int64_t wino = fk_wino_workspace(g, elem_size, nt) + 64;
    return direct > wino ? direct : wino;
}

/* The checks every pass starts with: geometry, pointers, thread count, workspace. */
static int fk_conv_begin(const fk_conv_geom *g, int es, const void *a, const void *b,
                         const void *c, const void *ws, int64_t ws_bytes, int n_threads,
                         int *nt) {
    int st = fk_conv_check(g);
    if (st != FK_OK) return st;
    if (!a || !b || !c) return FK_ENULL;
    *nt = fk_conv_threads(g, n_threads);
    if (ws_bytes < fk_conv_workspace_size(g, es, *nt) || (!ws && ws_bytes > 0)) return FK_EBADARG;
    fk_blas_init();
    return FK_OK;
}

#define T float
#define SUF f32
#define GEMM FK_BLAS(cblas_sgemm)
#include "conv_wino_impl.h"
#include "conv_impl.h"
#undef T
#undef SUF
#undef GEMM

#define T double
#define SUF f64
#define GEMM FK_BLAS(cblas_dgemm)
#include "conv_wino_impl.h"
#include "conv_impl.h"
#undef T
#undef SUF
#undef GEMM
