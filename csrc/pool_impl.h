/* Body of the pooling kernels, included once per dtype by pool.c (T, SUF). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)
#define FK_POOL_LOWEST ((T)(sizeof(T) == 4 ? -FLT_MAX : -DBL_MAX))

/* The valid window of output pixel p: [lo, hi) per dim, clipped to the input. */
static inline void FK_FN(window)(const fk_pool_geom *g, int64_t p, int64_t lo[3], int64_t hi[3]) {
    int64_t o[3];
    o[0] = p / (g->out[1] * g->out[2]);
    o[1] = (p / g->out[2]) % g->out[1];
    o[2] = p % g->out[2];
    for (int d = 0; d < 3; ++d) {
        int64_t s = o[d] * g->stride[d] - g->pad[d];
        int64_t e = s + g->k[d];
        lo[d] = s < 0 ? 0 : s;
        hi[d] = e > g->in[d] ? g->in[d] : e;
    }
}

/* yo = max(yo, xr), ai = loc where xr wins (strictly: the first maximum in window
 * order stays). int32 positions keep the loop one element width, so it vectorises. */
static inline void FK_FN(max_update)(int64_t C, const T *restrict xr, T *restrict yo,
                                     int32_t *restrict ai, int32_t loc) {
    for (int64_t c = 0; c < C; ++c) {
        const T v = xr[c], m = yo[c];
        const int32_t gt = -(int32_t)(v > m); /* all ones or zero */
        yo[c] = v > m ? v : m;
        ai[c] = (ai[c] & ~gt) | (loc & gt);
    }
}

/* o = dy where the recorded window position equals loc, else 0 (per ISA, as above). */
FK_CLONES static void FK_FN(gather_row)(int64_t C, const uint8_t *restrict a, uint8_t loc,
                                        const T *restrict dyo, T *restrict o) {
    for (int64_t c = 0; c < C; ++c) o[c] = a[c] == loc ? dyo[c] : (T)0;
}

/* One output pixel of max pooling (all channels), compiled per ISA (FK_CLONES):
 * the channel loops are the whole cost and vectorise 4x wider with AVX-512. */
FK_CLONES static void FK_FN(maxpool_pixel)(const fk_pool_geom *g, const T *xi, int64_t p,
                                           T *restrict yo, uint8_t *restrict ao) {
    const int64_t C = g->c;
    int64_t lo[3], hi[3], s0[3];
    FK_FN(window)(g, p, lo, hi);
    fk_pool_window_start(g, p, s0);
    /* channels in blocks: positions are tracked as int32 and narrowed at the end */
    for (int64_t c0 = 0; c0 < C; c0 += FK_POOL_CBLOCK) {
        const int64_t cb = C - c0 < FK_POOL_CBLOCK ? C - c0 : FK_POOL_CBLOCK;
        int32_t ai[FK_POOL_CBLOCK];
        int first = 1;
        for (int64_t d = lo[0]; d < hi[0]; ++d)
            for (int64_t h = lo[1]; h < hi[1]; ++h)
                for (int64_t w = lo[2]; w < hi[2]; ++w) {
                    const T *restrict xr = xi + ((d * g->in[1] + h) * g->in[2] + w) * C + c0;
                    const int32_t loc =
                        (int32_t)(((d - s0[0]) * g->k[1] + (h - s0[1])) * g->k[2] + (w - s0[2]));
                    if (first) { /* TensorFlow's start: the lowest finite value, so NaNs
                                  * never win and a window of NaN / -inf gives it */
                        for (int64_t c = 0; c < cb; ++c) {
                            yo[c0 + c] = xr[c] > FK_POOL_LOWEST ? xr[c] : FK_POOL_LOWEST;
                            ai[c] = loc;
                        }
                        first = 0;
                    } else if (ao) {
                        FK_FN(max_update)(cb, xr, yo + c0, ai, loc);
                    } else {
                        T *restrict yb = yo + c0;
                        for (int64_t c = 0; c < cb; ++c) yb[c] = xr[c] > yb[c] ? xr[c] : yb[c];
                    }
                }
        if (ao)
            for (int64_t c = 0; c < cb; ++c) ao[c0 + c] = (uint8_t)ai[c];
    }
}

typedef struct {
    const fk_pool_geom *g;
    const T *x;
    T *y;
    uint8_t *argmax;
    int64_t P, Pin, total, chunk;
} FK_FN(maxpool_fwd_job);

/* Output pixels [item * chunk, ...) of the batch, on the worker pool. */
static void FK_FN(maxpool_fwd_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(maxpool_fwd_job) *j = (const FK_FN(maxpool_fwd_job) *)ctx;
    (void)slot;
    const int64_t C = j->g->c, e0 = item * j->chunk;
    const int64_t e1 = e0 + j->chunk < j->total ? e0 + j->chunk : j->total;
    for (int64_t e = e0; e < e1; ++e) {
        const int64_t img = e / j->P;
        FK_FN(maxpool_pixel)(j->g, j->x + img * j->Pin * C, e % j->P, j->y + e * C,
                             j->argmax ? j->argmax + e * C : (uint8_t *)0);
    }
}

int FK_FN(fk_maxpool_fwd)(const fk_pool_geom *g, const T *x, T *y, uint8_t *argmax,
                          int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y) return FK_ENULL;
    if (argmax && g->k[0] * g->k[1] * g->k[2] > 256) return FK_EBADARG;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int nt = fk_pool_threads(g, n_threads);
    const int64_t total = g->n * P, chunk = fk_pool_chunk(total, nt);
    FK_FN(maxpool_fwd_job) job = {g, x, y, argmax, P, Pin, total, chunk};
    fk_workers_run(nt, (total + chunk - 1) / chunk, FK_FN(maxpool_fwd_item), &job);
    return FK_OK;
}

/* Non-overlapping windows: every dx element belongs to at most one window, so
 * dx can be gathered row by row (no zeroing pass, no scatter) and streamed out. */
typedef struct {
    const fk_pool_geom *g;
    const T *dy;
    const uint8_t *argmax;
    T *dx;
    int64_t rows, chunk;
} FK_FN(gather_job);

static void FK_FN(gather_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(gather_job) *j = (const FK_FN(gather_job) *)ctx;
    (void)slot;
    const fk_pool_geom *g = j->g;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c, W = g->in[2];
    const int64_t r0 = item * j->chunk, r1 = r0 + j->chunk < j->rows ? r0 + j->chunk : j->rows;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / (g->in[0] * g->in[1]);
        const int64_t d = (r / g->in[1]) % g->in[0], h = r % g->in[1];
        T *restrict out = j->dx + img * Pin * C + (d * g->in[1] + h) * W * C;
        /* the window row covering (d, h), if any */
        const int64_t od = (d + g->pad[0]) / g->stride[0], oh = (h + g->pad[1]) / g->stride[1];
        const int64_t kd = (d + g->pad[0]) % g->stride[0], kh = (h + g->pad[1]) % g->stride[1];
        const int covered = od < g->out[0] && oh < g->out[1] && kd < g->k[0] && kh < g->k[1];
        for (int64_t w = 0; w < W; ++w) {
            T *restrict o = out + w * C;
            const int64_t ow = (w + g->pad[2]) / g->stride[2], kw = (w + g->pad[2]) % g->stride[2];
            if (!covered || ow >= g->out[2] || kw >= g->k[2]) {
                memset(o, 0, (size_t)C * sizeof(T));
                continue;
            }
            const int64_t e = (img * P + (od * g->out[1] + oh) * g->out[2] + ow) * C;
            const uint8_t loc = (uint8_t)((kd * g->k[1] + kh) * g->k[2] + kw);
            FK_FN(gather_row)(C, j->argmax + e, loc, j->dy + e, o);
        }
    }
}

static void FK_FN(maxpool_bwd_gather)(const fk_pool_geom *g, const T *dy, const uint8_t *argmax,
                                      T *dx, int nt) {
    const int64_t rows = g->n * g->in[0] * g->in[1], chunk = fk_pool_chunk(rows, nt);
    FK_FN(gather_job) job = {g, dy, argmax, dx, rows, chunk};
    fk_workers_run(nt, (rows + chunk - 1) / chunk, FK_FN(gather_item), &job);
}

int FK_FN(fk_maxpool_bwd)(const fk_pool_geom *g, const T *dy, const uint8_t *argmax, T *dx,
                          int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!dy || !argmax || !dx) return FK_ENULL;
    const int64_t taps = g->k[0] * g->k[1] * g->k[2];
    if (taps > 256) return FK_EBADARG;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
    int overlap = 0;
    for (int d = 0; d < 3; ++d) overlap |= g->stride[d] < g->k[d];
    if (!overlap) {
        /* an index outside the window can only point at no element: harmless here */
        FK_FN(maxpool_bwd_gather)(g, dy, argmax, dx, nt);
        return FK_OK;
    }
    const int nti = (int)(g->n < nt ? g->n : nt);
    int bad = 0;
    /* Overlapping windows: one image per work item, zero then add in window order. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nti) if (nti > 1) reduction(| : bad)
#endif
    for (int64_t img = 0; img < g->n; ++img) {
        T *dxi = dx + img * Pin * C;
        memset(dxi, 0, (size_t)(Pin * C) * sizeof(T));
        for (int64_t p = 0; p < P; ++p) {
            int64_t s0[3];
            fk_pool_window_start(g, p, s0);
            const uint8_t *ap = argmax + (img * P + p) * C;
            const T *dyp = dy + (img * P + p) * C;
            for (int64_t c = 0; c < C; ++c) {
                const int64_t loc = ap[c];
                const int64_t d = s0[0] + loc / (g->k[1] * g->k[2]);
                const int64_t h = s0[1] + (loc / g->k[2]) % g->k[1];
                const int64_t w = s0[2] + loc % g->k[2];
                if (loc >= taps || d < 0 || d >= g->in[0] || h < 0 || h >= g->in[1] || w < 0 ||
                    w >= g->in[2]) { /* never trust an index buffer blindly */
                    bad = 1;
                    continue;
                }
                dxi[((d * g->in[1] + h) * g->in[2] + w) * C + c] += dyp[c];
            }
        }
    }
    return bad ? FK_EBADARG : FK_OK;
}

int FK_FN(fk_maxpool_bwd_recompute)(const fk_pool_geom *g, const T *x, const T *y, const T *dy,
                                    T *dx, int all_ties, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y || !dy || !dx) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
    const int nti = (int)(g->n < nt ? g->n : nt);
    int oom = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nti) if (nti > 1) reduction(| : oom)
#endif
    for (int64_t img = 0; img < g->n; ++img) {
        T *dxi = dx + img * Pin * C;
        const T *xi = x + img * Pin * C;
        memset(dxi, 0, (size_t)(Pin * C) * sizeof(T));
        /* first-maximum mode marks, per channel, windows already credited */
        unsigned char *done = all_ties ? (unsigned char *)0 : (unsigned char *)calloc((size_t)C, 1);
        if (!all_ties && !done) {
            oom = 1;
            continue;
        }
        for (int64_t p = 0; p < P; ++p) {
            const T *yo = y + (img * P + p) * C, *dyo = dy + (img * P + p) * C;
            int64_t lo[3], hi[3];
            FK_FN(window)(g, p, lo, hi);
            if (done) memset(done, 0, (size_t)C);
            for (int64_t d = lo[0]; d < hi[0]; ++d)
                for (int64_t h = lo[1]; h < hi[1]; ++h)
                    for (int64_t w = lo[2]; w < hi[2]; ++w) {
                        const int64_t off = ((d * g->in[1] + h) * g->in[2] + w) * C;
                        if (all_ties) {
                            for (int64_t c = 0; c < C; ++c)
                                dxi[off + c] += xi[off + c] == yo[c] ? dyo[c] : (T)0;
                        } else {
                            for (int64_t c = 0; c < C; ++c)
                                if (!done[c] && xi[off + c] == yo[c]) {
                                    dxi[off + c] += dyo[c];
                                    done[c] = 1;
                                }
                        }
                    }
        }
        free(done);
    }
    return oom ? FK_ENOMEM : FK_OK;
}

typedef struct {
    const fk_pool_geom *g;
    const T *x;
    T *y;
    int64_t P, Pin, total, chunk;
} FK_FN(avgpool_fwd_job);

static void FK_FN(avgpool_fwd_item)(void *ctx, int64_t chunk_index, int slot) {
    const FK_FN(avgpool_fwd_job) *j = (const FK_FN(avgpool_fwd_job) *)ctx;
    (void)slot;
    const fk_pool_geom *g = j->g;
    const int64_t P = j->P, Pin = j->Pin, C = g->c, e0 = chunk_index * j->chunk;
    const int64_t e1 = e0 + j->chunk < j->total ? e0 + j->chunk : j->total;
    const T *x = j->x;
    T *y = j->y;
    for (int64_t item = e0; item < e1; ++item) {
        const int64_t img = item / P, p = item % P;
        const T *xi = x + img * Pin * C;
        T *yo = y + item * C;
        int64_t lo[3], hi[3];
        FK_FN(window)(g, p, lo, hi);
        for (int64_t c = 0; c < C; ++c) yo[c] = (T)0;
        for (int64_t d = lo[0]; d < hi[0]; ++d)
            for (int64_t h = lo[1]; h < hi[1]; ++h)
                for (int64_t w = lo[2]; w < hi[2]; ++w) {
                    const T *xr = xi + ((d * g->in[1] + h) * g->in[2] + w) * C;
                    for (int64_t c = 0; c < C; ++c) yo[c] += xr[c];
                }
        const T inv = (T)1 / (T)((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
        for (int64_t c = 0; c < C; ++c) yo[c] *= inv;
    }
}

int FK_FN(fk_avgpool_fwd)(const fk_pool_geom *g, const T *x, T *y, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int nt = fk_pool_threads(g, n_threads);
    const int64_t total = g->n * P, chunk = fk_pool_chunk(total, nt);
    FK_FN(avgpool_fwd_job) job = {g, x, y, P, Pin, total, chunk};
    fk_workers_run(nt, (total + chunk - 1) / chunk, FK_FN(avgpool_fwd_item), &job);
    return FK_OK;
}

typedef struct {
    const fk_pool_geom *g;
    const T *dy;
    T *dx;
    int64_t P, Pin;
} FK_FN(avgpool_bwd_job);

/* One image (windows may overlap: zero, then add in window order). */
static void FK_FN(avgpool_bwd_item)(void *ctx, int64_t img, int slot) {
    const FK_FN(avgpool_bwd_job) *j = (const FK_FN(avgpool_bwd_job) *)ctx;
    (void)slot;
    const fk_pool_geom *g = j->g;
    const int64_t P = j->P, Pin = j->Pin, C = g->c;
    const T *dy = j->dy;
    {
        T *dxi = j->dx + img * Pin * C;
        memset(dxi, 0, (size_t)(Pin * C) * sizeof(T));
        for (int64_t p = 0; p < P; ++p) {
            const T *dyo = dy + (img * P + p) * C;
            int64_t lo[3], hi[3];
            FK_FN(window)(g, p, lo, hi);
            const T inv = (T)1 / (T)((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
            for (int64_t d = lo[0]; d < hi[0]; ++d)
                for (int64_t h = lo[1]; h < hi[1]; ++h)
                    for (int64_t w = lo[2]; w < hi[2]; ++w) {
                        T *dr = dxi + ((d * g->in[1] + h) * g->in[2] + w) * C;
                        for (int64_t c = 0; c < C; ++c) dr[c] += dyo[c] * inv;
                    }
        }
    }
}

int FK_FN(fk_avgpool_bwd)(const fk_pool_geom *g, const T *dy, T *dx, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!dy || !dx) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int nt = fk_pool_threads(g, n_threads);
    const int nti = (int)(g->n < nt ? g->n : nt);
    FK_FN(avgpool_bwd_job) job = {g, dy, dx, P, Pin};
    fk_workers_run(nti, g->n, FK_FN(avgpool_bwd_item), &job);
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
