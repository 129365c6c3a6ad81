/* The direct convolution for inference (conv_direct.h): work items, padding, packing. */
#include <string.h>

#include "simd/conv_tile.h"
#include "workers.h"
#include "fastkeras/activation.h"
#include "fastkeras/conv_direct.h"
#include "fastkeras/fk_build.h"

/* A work item's padded input rows stay within this (with the kernel block, in L2). */
#define FK_DIRECT_BAND_BYTES (256 * 1024)
/* Work items per thread, for balance when the thread count is above one. */
#define FK_DIRECT_ITEMS_PER_THREAD 4
#define FK_DIRECT_ALIGN 64

typedef void (*tile_fn)(const fk_conv_tile_args *);

/* The tile of this CPU and its positions per tile, or NULL. */
static tile_fn tile_for_cpu(int *mr) {
    const int level = fk_simd_level();
    (void)level;
#if defined(FK_HAVE_AVX512)
    if (level >= FK_SIMD_AVX512) {
        *mr = FK_CONV_MR_AVX512;
        return fk_conv_tile_avx512;
    }
#endif
#if defined(FK_HAVE_AVX2)
    if (level >= FK_SIMD_AVX2) {
        *mr = FK_CONV_MR_AVX2;
        return fk_conv_tile_avx2;
    }
#endif
    *mr = 0;
    return 0;
}

int fk_conv_direct_tile_rows(void) {
    int mr;
    return tile_for_cpu(&mr) ? mr : 0;
}

int fk_conv_direct_usable(const fk_conv_geom *g) {
    int mr;
    if (!g || fk_conv_check(g) != FK_OK || !tile_for_cpu(&mr)) return 0;
    return g->groups == 1 && g->in[0] == 1 && g->out[0] == 1 && g->k[0] == 1;
}

static int64_t kdim(const fk_conv_geom *g) { return g->k[1] * g->k[2] * g->cin; }
static int64_t cblocks(const fk_conv_geom *g) { return (g->cout + FK_CONV_NR - 1) / FK_CONV_NR; }

int64_t fk_conv_direct_packed_size(const fk_conv_geom *g) {
    if (!fk_conv_direct_usable(g)) return -1;
    return cblocks(g) * (kdim(g) + 1) * FK_CONV_NR;
}

int fk_conv_direct_pack_f32(const fk_conv_geom *g, const float *w, const float *bias,
                            float *packed) {
    if (!g || !w || !packed) return FK_ENULL;
    if (!fk_conv_direct_usable(g)) return FK_EBADARG;
    const int64_t K = kdim(g), cb = cblocks(g), cout = g->cout;
    for (int64_t b = 0; b < cb; ++b) {
        float *blk = packed + b * K * FK_CONV_NR;
        for (int64_t r = 0; r < K; ++r)
            for (int64_t j = 0; j < FK_CONV_NR; ++j) {
                int64_t o = b * FK_CONV_NR + j;
                blk[r * FK_CONV_NR + j] = o < cout ? w[r * cout + o] : 0.0f;
            }
    }
    float *pb = packed + cb * K * FK_CONV_NR;
    for (int64_t o = 0; o < cb * FK_CONV_NR; ++o) pb[o] = o < cout && bias ? bias[o] : 0.0f;
    return FK_OK;
}

/* How a call is cut up and where its inputs live: a function of the geometry, act and
 * the thread count only (the workspace size and the call agree on it). */
typedef struct {
    int64_t H, W, C, OH, OW, cout;
    int64_t sh, sw, dh, dw, ph, pw, kh, kw;
    int padded;           /* the band is copied (zeros around it); else read in place */
    int64_t rs;           /* floats per input row where the tile reads it */
    int64_t wp;           /* positions per such row */
    int64_t taps, len;    /* the reduction as taps runs of len contiguous inputs */
    int64_t band_rows;    /* output rows per work item */
    int64_t bands, items; /* per image, in all */
    int64_t band_floats;  /* padded input floats per work item */
    int64_t scratch;      /* floats of a tile before and after its activation (0: none) */
    int64_t slot_bytes, toff_bytes;
    int threads;
} direct_layout;

static int64_t align_up(int64_t b) { return (b + FK_DIRECT_ALIGN - 1) / FK_DIRECT_ALIGN * FK_DIRECT_ALIGN; }

static void layout_of(const fk_conv_geom *g, int act, int n_threads, int mr, direct_layout *L) {
    L->H = g->in[1], L->W = g->in[2], L->C = g->cin, L->OH = g->out[1], L->OW = g->out[2];
    L->cout = g->cout;
    L->kh = g->k[1], L->kw = g->k[2], L->sh = g->stride[1], L->sw = g->stride[2];
    L->dh = g->dil[1], L->dw = g->dil[2], L->ph = g->pad[1], L->pw = g->pad[2];
    const int64_t need_h = (L->OH - 1) * L->sh + (L->kh - 1) * L->dh + 1;
    const int64_t need_w = (L->OW - 1) * L->sw + (L->kw - 1) * L->dw + 1;
    L->padded = L->ph > 0 || L->pw > 0 || need_h > L->H || need_w > L->W;
    L->wp = L->padded ? need_w : L->W;
    L->rs = L->wp * L->C;
    if (L->dw == 1) { /* a kernel row's inputs are contiguous: Kw * Cin per tap */
        L->taps = L->kh;
        L->len = L->kw * L->C;
    } else {
        L->taps = L->kh * L->kw;
        L->len = L->C;
    }
    double flops = 2.0 * (double)g->n * (double)(L->OH * L->OW) * (double)g->cout *
                   (double)kdim(g);
    int64_t t = (int64_t)(flops / FK_CONV_DIRECT_FLOPS_PER_THREAD);
    if (t > n_threads) t = n_threads;
    L->threads = t < 1 ? 1 : (int)t;
    /* output rows a band may hold within FK_DIRECT_BAND_BYTES of padded input */
    int64_t rows_fit = L->OH;
    if (L->padded) {
        int64_t in_rows = FK_DIRECT_BAND_BYTES / ((int64_t)sizeof(float) * L->rs);
        int64_t halo = (L->kh - 1) * L->dh + 1;
        rows_fit = in_rows < halo ? 1 : (in_rows - halo) / L->sh + 1;
        if (rows_fit > L->OH) rows_fit = L->OH;
    }
    int64_t bands = (L->OH + rows_fit - 1) / rows_fit;
    if (L->threads > 1) {
        int64_t want = (FK_DIRECT_ITEMS_PER_THREAD * L->threads + g->n - 1) / g->n;
        if (want > bands) bands = want;
        if (bands > L->OH) bands = L->OH;
    }
    L->band_rows = (L->OH + bands - 1) / bands;
    L->bands = (L->OH + L->band_rows - 1) / L->band_rows;
    L->items = g->n * L->bands;
    L->band_floats = L->padded ? ((L->band_rows - 1) * L->sh + (L->kh - 1) * L->dh + 1) * L->rs : 0;
    L->scratch = act >= 0 && act != FK_ACT_RELU ? 2 * (int64_t)FK_CONV_MR_MAX * FK_CONV_NR : 0;
    L->slot_bytes = align_up((L->band_floats + L->scratch) * (int64_t)sizeof(float));
    L->toff_bytes = align_up(L->taps * (int64_t)sizeof(int64_t));
}

int64_t fk_conv_direct_workspace_size(const fk_conv_geom *g, int act, int n_threads) {
    int mr;
    if (!fk_conv_direct_usable(g) || !tile_for_cpu(&mr)) return -1;
    direct_layout L;
    layout_of(g, act, n_threads < 1 ? 1 : n_threads, mr, &L);
    return L.toff_bytes + (int64_t)L.threads * L.slot_bytes + FK_DIRECT_ALIGN;
}

typedef struct {
    const direct_layout *L;
    const float *x, *packed;
    float *y;
    char *slots;
    const int64_t *toff;
    int64_t K, cb;
    int act, mr;
    float alpha;
    tile_fn tile;
} direct_job;

/* The padded input rows of band [r0, r1) of an image into buf (zeros outside). */
static void pad_band(const direct_layout *L, const float *img, int64_t r0, int64_t r1,
                     float *buf) {
    const int64_t rows = (r1 - r0 - 1) * L->sh + (L->kh - 1) * L->dh + 1;
    const int64_t ih0 = r0 * L->sh - L->ph;
    int64_t w_lo = L->pw, w_hi = L->pw + L->W; /* columns of buf holding input */
    if (w_hi > L->wp) w_hi = L->wp;
    for (int64_t r = 0; r < rows; ++r) {
        float *dst = buf + r * L->rs;
        const int64_t ih = ih0 + r;
        if (ih < 0 || ih >= L->H || w_hi <= w_lo) {
            memset(dst, 0, (size_t)L->rs * sizeof(float));
            continue;
        }
        memset(dst, 0, (size_t)(w_lo * L->C) * sizeof(float));
        memcpy(dst + w_lo * L->C, img + ih * L->W * L->C,
               (size_t)((w_hi - w_lo) * L->C) * sizeof(float));
        memset(dst + w_hi * L->C, 0, (size_t)((L->wp - w_hi) * L->C) * sizeof(float));
    }
}

static void direct_item(void *ctx, int64_t item, int slot) {
    const direct_job *j = (const direct_job *)ctx;
    const direct_layout *L = j->L;
    const int64_t n = item / L->bands, band = item % L->bands;
    const int64_t r0 = band * L->band_rows;
    const int64_t r1 = r0 + L->band_rows < L->OH ? r0 + L->band_rows : L->OH;
    const float *img = j->x + n * L->H * L->W * L->C;
    float *ws = (float *)(j->slots + (int64_t)slot * L->slot_bytes);
    const float *base;
    if (L->padded) {
        pad_band(L, img, r0, r1, ws);
        base = ws;
    } else {
        base = img + r0 * L->sh * L->rs;
    }
    float *scratch = ws + L->band_floats;
    const int64_t P = (r1 - r0) * L->OW;
    float *yb = j->y + (n * L->OH + r0) * L->OW * L->cout;
    int64_t poff[FK_CONV_MR_MAX];
    fk_conv_tile_args a;
    a.in = base;
    a.poff = poff;
    a.toff = j->toff;
    a.taps = L->taps;
    a.len = L->len;
    a.relu = j->act == FK_ACT_RELU;
    /* channel blocks outside, positions inside: one block's weights (K x 32) and the
     * band stay in L2 however large the layer's kernel is */
    for (int64_t b = 0; b < j->cb; ++b) {
        const int nr = L->cout - b * FK_CONV_NR < FK_CONV_NR ? (int)(L->cout - b * FK_CONV_NR)
                                                             : FK_CONV_NR;
        a.w = j->packed + b * j->K * FK_CONV_NR;
        a.bias = j->packed + j->cb * j->K * FK_CONV_NR + b * FK_CONV_NR;
        a.nr = L->scratch ? FK_CONV_NR : nr;
        a.ldo = L->scratch ? FK_CONV_NR : L->cout;
        for (int64_t p0 = 0; p0 < P; p0 += j->mr) {
            const int mr = P - p0 < j->mr ? (int)(P - p0) : j->mr;
            for (int i = 0; i < FK_CONV_MR_MAX; ++i) {
                const int64_t p = p0 + (i < mr ? i : 0), oh = p / L->OW, ow = p % L->OW;
                poff[i] = oh * L->sh * L->rs + ow * L->sw * L->C;
            }
            float *yt = yb + p0 * L->cout + b * FK_CONV_NR;
            a.mr = mr;
            a.out = L->scratch ? scratch : yt;
            j->tile(&a);
            if (L->scratch) { /* the activation on the tile, then its nr columns out */
                float *post = scratch + FK_CONV_MR_MAX * FK_CONV_NR;
                fk_act_fwd_f32(j->act, (int64_t)mr * FK_CONV_NR, scratch, post, j->alpha, 1);
                for (int i = 0; i < mr; ++i)
                    memcpy(yt + i * L->cout, post + i * FK_CONV_NR, (size_t)nr * sizeof(float));
            }
        }
    }
}

int fk_conv_direct_fwd_f32(const fk_conv_geom *g, const float *x, const float *packed, int act,
                           double alpha, float *y, void *ws, int64_t ws_bytes, int n_threads) {
    if (!g) return FK_ENULL;
    int st = fk_conv_check(g);
    if (st != FK_OK) return st;
    int mr;
    tile_fn tile = tile_for_cpu(&mr);
    if (!fk_conv_direct_usable(g) || !tile) return FK_EBADARG;
    if (act < -1 || act >= FK_ACT_COUNT) return FK_EBADARG;
    if (g->n == 0) return FK_OK;
    if (!x || !packed || !y || !ws) return FK_ENULL;
    direct_layout L;
    layout_of(g, act, n_threads < 1 ? 1 : n_threads, mr, &L);
    if (ws_bytes < L.toff_bytes + (int64_t)L.threads * L.slot_bytes + FK_DIRECT_ALIGN)
        return FK_EBADARG;
    char *base = (char *)ws;
    base += (FK_DIRECT_ALIGN - (uintptr_t)base % FK_DIRECT_ALIGN) % FK_DIRECT_ALIGN;
    int64_t *toff = (int64_t *)base;
    for (int64_t t = 0; t < L.taps; ++t)
        toff[t] = L.dw == 1 ? t * L.dh * L.rs
                            : (t / L.kw) * L.dh * L.rs + (t % L.kw) * L.dw * L.C;
    direct_job j;
    j.L = &L;
    j.x = x;
    j.packed = packed;
    j.y = y;
    j.slots = base + L.toff_bytes;
    j.toff = toff;
    j.K = kdim(g);
    j.cb = cblocks(g);
    j.act = act;
    j.mr = mr;
    j.alpha = (float)alpha;
    j.tile = tile;
    fk_workers_run(L.threads, L.items, direct_item, &j);
    return FK_OK;
}
