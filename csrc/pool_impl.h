/* Body of the pooling kernels, included once per dtype by pool.c (T, SUF). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

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

int FK_FN(fk_maxpool_fwd)(const fk_pool_geom *g, const T *x, T *y, int32_t *argmax,
                          int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t item = 0; item < g->n * P; ++item) {
        const int64_t img = item / P, p = item % P;
        const T *xi = x + img * Pin * C;
        T *restrict yo = y + item * C;
        int32_t *restrict ao = argmax ? argmax + item * C : (int32_t *)0;
        int64_t lo[3], hi[3];
        FK_FN(window)(g, p, lo, hi);
        int first = 1;
        for (int64_t d = lo[0]; d < hi[0]; ++d)
            for (int64_t h = lo[1]; h < hi[1]; ++h)
                for (int64_t w = lo[2]; w < hi[2]; ++w) {
                    const int64_t idx = (d * g->in[1] + h) * g->in[2] + w;
                    const T *restrict xr = xi + idx * C;
                    const int32_t id32 = (int32_t)idx;
                    if (first) {
                        memcpy(yo, xr, (size_t)C * sizeof(T));
                        if (ao) for (int64_t c = 0; c < C; ++c) ao[c] = (int32_t)idx;
                        first = 0;
                    } else if (ao) {
                        for (int64_t c = 0; c < C; ++c) {
                            const T v = xr[c], m = yo[c];
                            const int32_t a = ao[c];
                            /* strict: the first maximum in window order wins */
                            const int32_t gt = -(int32_t)(v > m); /* all ones or zero */
                            yo[c] = v > m ? v : m;
                            ao[c] = (a & ~gt) | (id32 & gt); /* branch-free: vectorises */
                        }
                    } else {
                        for (int64_t c = 0; c < C; ++c) yo[c] = xr[c] > yo[c] ? xr[c] : yo[c];
                    }
                }
    }
    return FK_OK;
}

int FK_FN(fk_maxpool_bwd)(const fk_pool_geom *g, const T *dy, const int32_t *argmax, T *dx,
                          int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!dy || !argmax || !dx) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
    const int nti = (int)(g->n < nt ? g->n : nt);
    int bad = 0;
    /* One image per work item: overlapping windows add into the same dx. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nti) if (nti > 1) reduction(| : bad)
#endif
    for (int64_t img = 0; img < g->n; ++img) {
        T *dxi = dx + img * Pin * C;
        memset(dxi, 0, (size_t)(Pin * C) * sizeof(T));
        const T *dyi = dy + img * P * C;
        const int32_t *ai = argmax + img * P * C;
        for (int64_t p = 0; p < P; ++p) {
            const int32_t *ap = ai + p * C;
            const T *dyp = dyi + p * C;
            for (int64_t c = 0; c < C; ++c) {
                const int64_t idx = ap[c];
                if (idx < 0 || idx >= Pin) { /* never trust an index buffer blindly */
                    bad = 1;
                    continue;
                }
                dxi[idx * C + c] += dyp[c];
            }
        }
    }
    return bad ? FK_EBADARG : FK_OK;
}

int FK_FN(fk_maxpool_bwd_ties)(const fk_pool_geom *g, const T *x, const T *y, const T *dy,
                               T *dx, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y || !dy || !dx) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
    const int nti = (int)(g->n < nt ? g->n : nt);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nti) if (nti > 1)
#endif
    for (int64_t img = 0; img < g->n; ++img) {
        T *dxi = dx + img * Pin * C;
        const T *xi = x + img * Pin * C;
        memset(dxi, 0, (size_t)(Pin * C) * sizeof(T));
        for (int64_t p = 0; p < P; ++p) {
            const T *yo = y + (img * P + p) * C, *dyo = dy + (img * P + p) * C;
            int64_t lo[3], hi[3];
            FK_FN(window)(g, p, lo, hi);
            for (int64_t d = lo[0]; d < hi[0]; ++d)
                for (int64_t h = lo[1]; h < hi[1]; ++h)
                    for (int64_t w = lo[2]; w < hi[2]; ++w) {
                        const int64_t off = ((d * g->in[1] + h) * g->in[2] + w) * C;
                        for (int64_t c = 0; c < C; ++c)
                            dxi[off + c] += xi[off + c] == yo[c] ? dyo[c] : (T)0;
                    }
        }
    }
    return FK_OK;
}

int FK_FN(fk_avgpool_fwd)(const fk_pool_geom *g, const T *x, T *y, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!x || !y) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t item = 0; item < g->n * P; ++item) {
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
    return FK_OK;
}

int FK_FN(fk_avgpool_bwd)(const fk_pool_geom *g, const T *dy, T *dx, int n_threads) {
    int st = fk_pool_check(g);
    if (st != FK_OK) return st;
    if (!dy || !dx) return FK_ENULL;
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t C = g->c;
    const int nt = fk_pool_threads(g, n_threads);
    const int nti = (int)(g->n < nt ? g->n : nt);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nti) if (nti > 1)
#endif
    for (int64_t img = 0; img < g->n; ++img) {
        T *dxi = dx + img * Pin * C;
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
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
