/* Body of the convolution kernels, included once per dtype by conv.c with
 * T, SUF and GEMM (the BLAS gemm for T) defined. */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* Gather the receptive fields of output pixels [p0, p0+np) of one image,
 * channels [c0, c0+cg), into col [np, K*cg] (zeros where the window leaves
 * the input). Column order (kd, kh, kw, c) matches the kernel's layout. */
static void FK_FN(im2col)(const fk_conv_geom *g, const T *x, int64_t p0, int64_t np, int64_t c0,
                          int64_t cg, T *col) {
    const int64_t Ho = g->out[1], Wo = g->out[2];
    const int64_t Di = g->in[0], Hi = g->in[1], Wi = g->in[2];
    for (int64_t p = p0; p < p0 + np; ++p) {
        const int64_t od = p / (Ho * Wo), oh = (p / Wo) % Ho, ow = p % Wo;
        T *row = col + (p - p0) * g->k[0] * g->k[1] * g->k[2] * cg;
        for (int64_t kd = 0; kd < g->k[0]; ++kd) {
            const int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
            for (int64_t kh = 0; kh < g->k[1]; ++kh) {
                const int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
                const int okdh = id >= 0 && id < Di && ih >= 0 && ih < Hi;
                for (int64_t kw = 0; kw < g->k[2]; ++kw, row += cg) {
                    const int64_t iw = ow * g->stride[2] - g->pad[2] + kw * g->dil[2];
                    if (okdh && iw >= 0 && iw < Wi)
                        memcpy(row, x + ((id * Hi + ih) * Wi + iw) * g->cin + c0,
                               (size_t)cg * sizeof(T));
                    else
                        memset(row, 0, (size_t)cg * sizeof(T));
                }
            }
        }
    }
}

/* The adjoint of im2col: add col rows back onto the input positions they came from. */
static void FK_FN(col2im)(const fk_conv_geom *g, const T *col, int64_t p0, int64_t np, int64_t c0,
                          int64_t cg, T *dx) {
    const int64_t Ho = g->out[1], Wo = g->out[2];
    const int64_t Di = g->in[0], Hi = g->in[1], Wi = g->in[2];
    for (int64_t p = p0; p < p0 + np; ++p) {
        const int64_t od = p / (Ho * Wo), oh = (p / Wo) % Ho, ow = p % Wo;
        const T *row = col + (p - p0) * g->k[0] * g->k[1] * g->k[2] * cg;
        for (int64_t kd = 0; kd < g->k[0]; ++kd) {
            const int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
            for (int64_t kh = 0; kh < g->k[1]; ++kh) {
                const int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
                const int okdh = id >= 0 && id < Di && ih >= 0 && ih < Hi;
                for (int64_t kw = 0; kw < g->k[2]; ++kw, row += cg) {
                    const int64_t iw = ow * g->stride[2] - g->pad[2] + kw * g->dil[2];
                    if (!(okdh && iw >= 0 && iw < Wi)) continue;
                    T *d = dx + ((id * Hi + ih) * Wi + iw) * g->cin + c0;
                    for (int64_t c = 0; c < cg; ++c) d[c] += row[c];
                }
            }
        }
    }
}

/* Direct loops for tiny per-group channel products (depthwise and friends),
 * where a GEMM of width 1 would waste the BLAS. One output pixel, all groups. */
static void FK_FN(direct_pixel)(const fk_conv_geom *g, const T *x, const T *w, const T *bias,
                                int64_t p, T *y) {
    const int64_t Ho = g->out[1], Wo = g->out[2], Di = g->in[0], Hi = g->in[1], Wi = g->in[2];
    const int64_t cig = g->cin / g->groups, cog = g->cout / g->groups;
    const int64_t od = p / (Ho * Wo), oh = (p / Wo) % Ho, ow = p % Wo;
    for (int64_t co = 0; co < g->cout; ++co) y[co] = bias ? bias[co] : (T)0;
    const T *wk = w;
    for (int64_t kd = 0; kd < g->k[0]; ++kd) {
        const int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
        for (int64_t kh = 0; kh < g->k[1]; ++kh) {
            const int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
            for (int64_t kw = 0; kw < g->k[2]; ++kw, wk += cig * g->cout) {
                const int64_t iw = ow * g->stride[2] - g->pad[2] + kw * g->dil[2];
                if (id < 0 || id >= Di || ih < 0 || ih >= Hi || iw < 0 || iw >= Wi) continue;
                const T *xi = x + ((id * Hi + ih) * Wi + iw) * g->cin;
                for (int64_t gr = 0; gr < g->groups; ++gr)
                    for (int64_t ci = 0; ci < cig; ++ci) {
                        const T xv = xi[gr * cig + ci];
                        const T *wr = wk + ci * g->cout + gr * cog;
                        T *yr = y + gr * cog;
                        for (int64_t co = 0; co < cog; ++co) yr[co] += xv * wr[co];
                    }
            }
        }
    }
}

static int FK_FN(use_direct)(const fk_conv_geom *g) {
    return g->groups > 1 && (g->cin / g->groups) * (g->cout / g->groups) <= FK_DIRECT_MAX;
}

/* What the passes' work items read: the geometry, the operands and the sizes derived
 * from them once per call. */
typedef struct {
    const fk_conv_geom *g;
    const T *a, *b, *bias; /* forward: x, w; backward-data: dy, w; backward-filter: x, dy */
    T *out;                /* y, dx, or the slots' partial dW */
    T *ws;                 /* per-slot im2col buffers first */
    int64_t P, Pin, cig, cog, K, tile, ipi, tiles;
    int direct, pointwise;
} FK_FN(conv_job);

/* The first operand of one group's product: x itself for pointwise kernels, else the
 * im2col rows of `nimg` images' pixels [p0, p0 + np) gathered into col. */
static const T *FK_FN(group_rows)(const FK_FN(conv_job) *j, const T *xi, int64_t nimg,
                                  int64_t p0, int64_t np, int64_t gr, T *col, int64_t *lda) {
    const fk_conv_geom *g = j->g;
    if (j->pointwise) {
        *lda = g->cin;
        return xi + p0 * g->cin + gr * j->cig;
    }
    for (int64_t i = 0; i < nimg; ++i)
        FK_FN(im2col)(g, xi + i * j->Pin * g->cin, p0, np, gr * j->cig, j->cig,
                      col + i * np * j->K);
    *lda = j->K;
    return col;
}

/* Forward, one item: `ipi` whole images, or one tile of output pixels of one image. Runs
 * on the worker pool (workers.h): a descheduled thread never holds the others back. */
static void FK_FN(conv_fwd_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(conv_job) *j = (const FK_FN(conv_job) *)ctx;
    const fk_conv_geom *g = j->g;
    const T *x = j->a, *w = j->b, *bias = j->bias;
    const int64_t P = j->P, Pin = j->Pin, cog = j->cog, K = j->K, tile = j->tile;
    const int64_t ipi = j->ipi, tiles = j->tiles;
    const int64_t img = (item / tiles) * ipi, p0 = (item % tiles) * tile;
    const int64_t nimg = g->n - img < ipi ? g->n - img : ipi;
    const int64_t np = ipi > 1 ? P : (P - p0 < tile ? P - p0 : tile);
    const int64_t rows = nimg * np;
    const T *xi = x + img * Pin * g->cin;
    T *yi = j->out + img * P * g->cout;
    if (j->direct) {
        for (int64_t p = p0; p < p0 + np; ++p) FK_FN(direct_pixel)(g, xi, w, bias, p, yi + p * g->cout);
        return;
    }
    T *col = j->ws + (int64_t)slot * tile * K;
    T *yt = yi + p0 * g->cout;
    const T beta = bias ? (T)1 : (T)0;
    if (bias)
        for (int64_t p = 0; p < rows; ++p) memcpy(yt + p * g->cout, bias, (size_t)g->cout * sizeof(T));
    for (int64_t gr = 0; gr < g->groups; ++gr) {
        int64_t lda;
        const T *a = FK_FN(group_rows)(j, xi, nimg, p0, np, gr, col, &lda);
        GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasNoTrans, (int)rows, (int)cog, (int)K,
             (T)1, a, (int)lda, w + gr * cog, (int)g->cout, beta, yt + gr * cog,
             (int)g->cout);
    }
}

/* Backward data, one item: one image (windows of neighbouring tiles overlap in dx). */
static void FK_FN(conv_bwd_data_item)(void *ctx, int64_t img, int slot) {
    const FK_FN(conv_job) *j = (const FK_FN(conv_job) *)ctx;
    const fk_conv_geom *g = j->g;
    const T *dy = j->a, *w = j->b;
    const int64_t P = j->P, Pin = j->Pin, cig = j->cig, cog = j->cog, K = j->K, tile = j->tile;
    const T *dyi = dy + img * P * g->cout;
    T *dxi = j->out + img * Pin * g->cin;
    T *col = j->ws + (int64_t)slot * tile * K;
    if (!j->pointwise) memset(dxi, 0, (size_t)(Pin * g->cin) * sizeof(T));
    for (int64_t p0 = 0; p0 < P; p0 += tile) {
        const int64_t np = P - p0 < tile ? P - p0 : tile;
        const T *dyt = dyi + p0 * g->cout;
        if (j->direct) {
            /* dcol[p, (k, ci)] for every group, written group-interleaved as im2col reads */
            for (int64_t gr = 0; gr < g->groups; ++gr) {
                for (int64_t p = 0; p < np; ++p) {
                    T *row = col + p * K;
                    const T *dyr = dyt + p * g->cout + gr * cog;
                    for (int64_t kk = 0; kk < g->k[0] * g->k[1] * g->k[2]; ++kk)
                        for (int64_t ci = 0; ci < cig; ++ci) {
                            const T *wr = w + (kk * cig + ci) * g->cout + gr * cog;
                            T acc = (T)0;
                            for (int64_t co = 0; co < cog; ++co) acc += dyr[co] * wr[co];
                            row[kk * cig + ci] = acc;
                        }
                }
                FK_FN(col2im)(g, col, p0, np, gr * cig, cig, dxi);
            }
            continue;
        }
        for (int64_t gr = 0; gr < g->groups; ++gr) {
            if (j->pointwise) {
                GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasTrans, (int)np, (int)cig,
                     (int)cog, (T)1, dyt + gr * cog, (int)g->cout, w + gr * cog,
                     (int)g->cout, (T)0, dxi + p0 * g->cin + gr * cig, (int)g->cin);
            } else {
                GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasTrans, (int)np, (int)K,
                     (int)cog, (T)1, dyt + gr * cog, (int)g->cout, w + gr * cog,
                     (int)g->cout, (T)0, col, (int)K);
                FK_FN(col2im)(g, col, p0, np, gr * cig, cig, dxi);
            }
        }
    }
}

/* Backward filter, one item: slot s of the fixed slot count accumulates its own partial
 * dW (and a double db) over images s, s + S, ... in image order. */
typedef struct {
    FK_FN(conv_job) c;
    int64_t S;
    double *dbp;
} FK_FN(conv_filter_job);

static void FK_FN(conv_bwd_filter_item)(void *ctx, int64_t s, int slot) {
    const FK_FN(conv_filter_job) *jf = (const FK_FN(conv_filter_job) *)ctx;
    const FK_FN(conv_job) *j = &jf->c;
    const fk_conv_geom *g = j->g;
    const T *x = j->a, *dy = j->b;
    const int64_t P = j->P, Pin = j->Pin, cog = j->cog, K = j->K, tile = j->tile;
    const int64_t wsize = K * g->cout;
    T *col = j->ws + (int64_t)slot * tile * K;
    T *dws = j->out + s * wsize;
    double *dbs = jf->dbp + s * g->cout;
    memset(dws, 0, (size_t)wsize * sizeof(T));
    for (int64_t c = 0; c < g->cout; ++c) dbs[c] = 0.0;
    for (int64_t img = s; img < g->n; img += jf->S) {
        const T *xi = x + img * Pin * g->cin;
        const T *dyi = dy + img * P * g->cout;
        for (int64_t p0 = 0; p0 < P; p0 += tile) {
            const int64_t np = P - p0 < tile ? P - p0 : tile;
            const T *dyt = dyi + p0 * g->cout;
            for (int64_t p = 0; p < np; ++p)
                for (int64_t c = 0; c < g->cout; ++c) dbs[c] += (double)dyt[p * g->cout + c];
            for (int64_t gr = 0; gr < g->groups; ++gr) {
                int64_t lda;
                const T *a = FK_FN(group_rows)(j, xi, 1, p0, np, gr, col, &lda);
                if (j->direct) {
                    for (int64_t p = 0; p < np; ++p)
                        for (int64_t kk = 0; kk < K; ++kk) {
                            const T av = a[p * lda + kk];
                            T *dr = dws + kk * g->cout + gr * cog;
                            const T *dyr = dyt + p * g->cout + gr * cog;
                            for (int64_t co = 0; co < cog; ++co) dr[co] += av * dyr[co];
                        }
                } else {
                    GEMM(FK_CblasRowMajor, FK_CblasTrans, FK_CblasNoTrans, (int)K, (int)cog,
                         (int)np, (T)1, a, (int)lda, dyt + gr * cog, (int)g->cout, (T)1,
                         dws + gr * cog, (int)g->cout);
                }
            }
        }
    }
}

/* The slots' ordered sum, one item: a chunk of dW's elements (serial over slots). */
typedef struct {
    const T *partial;
    T *dw;
    int64_t S, wsize, chunk;
} FK_FN(slot_sum_job);

static void FK_FN(slot_sum_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(slot_sum_job) *j = (const FK_FN(slot_sum_job) *)ctx;
    (void)slot;
    const int64_t e0 = item * j->chunk;
    const int64_t e1 = e0 + j->chunk < j->wsize ? e0 + j->chunk : j->wsize;
    for (int64_t e = e0; e < e1; ++e) {
        double acc = 0.0;
        for (int64_t s = 0; s < j->S; ++s) acc += (double)j->partial[s * j->wsize + e];
        j->dw[e] = (T)acc;
    }
}

int FK_FN(fk_conv_fwd)(const fk_conv_geom *g, const T *x, const T *w, const T *bias, T *y,
                       void *ws, int64_t ws_bytes, int n_threads) {
    int nt;
    int st = fk_conv_begin(g, (int)sizeof(T), x, w, y, ws, ws_bytes, n_threads, &nt);
    if (st != FK_OK) return st;
    if (fk_conv_wino_ok(g)) {
        FK_FN(wino_run)(g->n, g->in[1], g->in[2], g->cin, x, g->out[1], g->out[2], g->cout,
                        g->pad[1], g->pad[2], w, 0, bias, y, ws, nt);
        return FK_OK;
    }
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t cig = g->cin / g->groups, cog = g->cout / g->groups;
    const int64_t K = g->k[0] * g->k[1] * g->k[2] * cig;
    const int64_t tile = fk_conv_tile(g, (int)sizeof(T));
    const int direct = FK_FN(use_direct)(g);
    const int pointwise = fk_conv_pointwise(g);
    /* Small images: one work item takes several whole images, so that one GEMM covers
     * up to `tile` rows (consecutive images are consecutive rows of x and y). */
    int64_t ipi = 1;
    if (!direct && P < tile && g->n > 1) {
        ipi = tile / P;
        const int64_t per_thread = (g->n + nt - 1) / nt;
        if (ipi > per_thread) ipi = per_thread;
        if (ipi < 1) ipi = 1;
    }
    const int64_t tiles = ipi > 1 ? 1 : (P + tile - 1) / tile;
    const int64_t groups_of_images = (g->n + ipi - 1) / ipi;
    FK_FN(conv_job) job = {g, x, w, bias, y, (T *)ws, P, Pin, cig, cog, K, tile, ipi, tiles,
                           direct, pointwise};
    fk_workers_run(nt, groups_of_images * tiles, FK_FN(conv_fwd_item), &job);
    return FK_OK;
}

int FK_FN(fk_conv_bwd_data)(const fk_conv_geom *g, const T *dy, const T *w, T *dx, void *ws,
                            int64_t ws_bytes, int n_threads) {
    int nt;
    int st = fk_conv_begin(g, (int)sizeof(T), dy, w, dx, ws, ws_bytes, n_threads, &nt);
    if (st != FK_OK) return st;
    if (fk_conv_wino_ok(g)) {
        /* dx[i] = sum_k dy[i + pad - k] w[k]: a 3x3 correlation of dy with the
         * flipped, channel-transposed kernel and padding 2 - pad */
        FK_FN(wino_run)(g->n, g->out[1], g->out[2], g->cout, dy, g->in[1], g->in[2], g->cin,
                        2 - g->pad[1], 2 - g->pad[2], w, 1, (const T *)0, dx, ws, nt);
        return FK_OK;
    }
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t cig = g->cin / g->groups, cog = g->cout / g->groups;
    const int64_t K = g->k[0] * g->k[1] * g->k[2] * cig;
    const int64_t tile = fk_conv_tile(g, (int)sizeof(T));
    const int direct = FK_FN(use_direct)(g);
    const int pointwise = fk_conv_pointwise(g);
    /* One image per work item: windows of neighbouring tiles overlap in dx. */
    const int nti = (int)(g->n < nt ? g->n : nt);
    FK_FN(conv_job) job = {g, dy, w, (const T *)0, dx, (T *)ws, P, Pin, cig, cog, K, tile, 1, 1,
                           direct, pointwise};
    fk_workers_run(nti, g->n, FK_FN(conv_bwd_data_item), &job);
    return FK_OK;
}

int FK_FN(fk_conv_bwd_filter)(const fk_conv_geom *g, const T *x, const T *dy, T *dw, T *db,
                              void *ws, int64_t ws_bytes, int n_threads) {
    int nt;
    int st = fk_conv_begin(g, (int)sizeof(T), x, dy, dw, ws, ws_bytes, n_threads, &nt);
    if (st != FK_OK) return st;
    if (fk_conv_wino_ok(g)) {
        FK_FN(wino_filter_run)(g, x, dy, dw, db, ws, nt);
        return FK_OK;
    }
    const int64_t P = g->out[0] * g->out[1] * g->out[2];
    const int64_t Pin = g->in[0] * g->in[1] * g->in[2];
    const int64_t cig = g->cin / g->groups, cog = g->cout / g->groups;
    const int64_t K = g->k[0] * g->k[1] * g->k[2] * cig;
    const int64_t tile = fk_conv_tile(g, (int)sizeof(T));
    const int direct = FK_FN(use_direct)(g);
    const int pointwise = fk_conv_pointwise(g);
    /* Images are dealt to a fixed number of slots (independent of n_threads);
     * each slot accumulates its own partial dW in image order, and the slots
     * are summed in slot order: the same arithmetic whatever the thread count. */
    const int64_t S = fk_conv_slots(g);
    const int64_t wsize = K * g->cout;
    T *cols = (T *)ws;
    T *partial = cols + (int64_t)nt * tile * K;
    size_t db_off = ((size_t)((int64_t)nt * tile * K + S * wsize) * sizeof(T) + 7) & ~(size_t)7;
    double *dbp = (double *)((char *)ws + db_off);
    const int nts = (int)(S < nt ? S : nt);
    FK_FN(conv_filter_job) job = {{g, x, dy, (const T *)0, partial, cols, P, Pin, cig, cog, K,
                                   tile, 1, 1, direct, pointwise}, S, dbp};
    fk_workers_run(nts, S, FK_FN(conv_bwd_filter_item), &job);
    /* Ordered reduction of the slots (parallel over elements, serial over slots). */
    const int64_t chunk = 4096;
    const int ntr = (int)(wsize / chunk + 1 < nt ? wsize / chunk + 1 : nt);
    FK_FN(slot_sum_job) sum = {partial, dw, S, wsize, chunk};
    fk_workers_run(ntr, (wsize + chunk - 1) / chunk, FK_FN(slot_sum_item), &sum);
    if (db)
        for (int64_t c = 0; c < g->cout; ++c) {
            double acc = 0.0;
            for (int64_t s = 0; s < S; ++s) acc += dbp[s * g->cout + c];
            db[c] = (T)acc;
        }
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
