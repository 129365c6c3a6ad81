/* Winograd F(2x2, 3x3) for 2-D 3x3 stride-1 undilated ungrouped convolution,
 * included once per dtype by conv.c (T, SUF, GEMM). Each 2x2 output tile
 * needs a 4x4 input tile; the 16 element-wise products over channels become
 * 16 GEMMs [tiles x Ci] x [Ci x Co], 2.25x fewer multiplications than the
 * direct product. y[o] = sum_k x[o - pad + k] * g[k] (correlation, zeros
 * outside x). The backward-data pass is the same computation with the kernel
 * flipped and its channel axes swapped, and padding 2 - pad. */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* U[16][Ci][Co] = G g G^T per (ci, co). flip: g[a][b] = w[2-a][2-b][co][ci]
 * (w is [3][3][Co'][Ci'] seen from the backward pass), else w[a][b][ci][co]. */
static void FK_FN(wino_kernel)(const T *w, int64_t ci_n, int64_t co_n, int flip, T *U) {
    for (int64_t ci = 0; ci < ci_n; ++ci)
        for (int64_t co = 0; co < co_n; ++co) {
            double g[3][3], gg[4][3], u[4][4];
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b)
                    g[a][b] = flip ? (double)w[(((2 - a) * 3 + (2 - b)) * co_n + co) * ci_n + ci]
                                   : (double)w[((a * 3 + b) * ci_n + ci) * co_n + co];
            for (int b = 0; b < 3; ++b) {
                gg[0][b] = g[0][b];
                gg[1][b] = 0.5 * (g[0][b] + g[1][b] + g[2][b]);
                gg[2][b] = 0.5 * (g[0][b] - g[1][b] + g[2][b]);
                gg[3][b] = g[2][b];
            }
            for (int a = 0; a < 4; ++a) {
                u[a][0] = gg[a][0];
                u[a][1] = 0.5 * (gg[a][0] + gg[a][1] + gg[a][2]);
                u[a][2] = 0.5 * (gg[a][0] - gg[a][1] + gg[a][2]);
                u[a][3] = gg[a][2];
            }
            for (int k = 0; k < 16; ++k) U[(k * ci_n + ci) * co_n + co] = (T)u[k / 4][k % 4];
        }
}

/* Input transform of tiles [t0, t0+nt): V[k][t][c] = (B^T d B)[k] of the 4x4
 * input tile at (2 ti - ph, 2 tj - pw) (zeros outside the image). */
FK_CLONES static void FK_FN(wino_input)(int64_t H, int64_t W, int64_t Ci, const T *x, int64_t tw,
                                        int64_t ph, int64_t pw, int64_t t0, int64_t nt, T *V,
                                        const T *zeros) {
    for (int64_t t = 0; t < nt; ++t) {
        const int64_t ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        const int64_t r0 = 2 * ti - ph, c0 = 2 * tj - pw;
        const T *p[4][4];
        for (int a = 0; a < 4; ++a)
            for (int b = 0; b < 4; ++b) {
                const int64_t r = r0 + a, c = c0 + b;
                p[a][b] = (r >= 0 && r < H && c >= 0 && c < W) ? x + (r * W + c) * Ci : zeros;
            }
        T *restrict v = V + t * Ci;
        const int64_t ks = nt * Ci; /* stride between the 16 planes */
#pragma GCC ivdep
        for (int64_t c = 0; c < Ci; ++c) {
            T s[4][4];
            for (int b = 0; b < 4; ++b) {
                const T d0 = p[0][b][c], d1 = p[1][b][c], d2 = p[2][b][c], d3 = p[3][b][c];
                s[0][b] = d0 - d2;
                s[1][b] = d1 + d2;
                s[2][b] = d2 - d1;
                s[3][b] = d1 - d3;
            }
            for (int a = 0; a < 4; ++a) {
                v[(a * 4 + 0) * ks + c] = s[a][0] - s[a][2];
                v[(a * 4 + 1) * ks + c] = s[a][1] + s[a][2];
                v[(a * 4 + 2) * ks + c] = s[a][2] - s[a][1];
                v[(a * 4 + 3) * ks + c] = s[a][1] - s[a][3];
            }
        }
    }
}

/* One chunk of tiles [t0, t0+nt) of one image: x [H][W][Ci] -> y [Ho][Wo][Co].
 * The transforms are vectorised over the contiguous channel axis, compiled for
 * AVX-512, AVX2 and the baseline with run-time selection (FK_CLONES). */
FK_CLONES static void FK_FN(wino_chunk)(int64_t H, int64_t W, int64_t Ci, const T *x, int64_t Ho,
                              int64_t Wo, int64_t Co, int64_t ph, int64_t pw, const T *U,
                              const T *bias, int64_t t0, int64_t nt, T *V, T *M, const T *zeros,
                              T *y) {
    const int64_t tw = (Wo + 1) / 2;
    FK_FN(wino_input)(H, W, Ci, x, tw, ph, pw, t0, nt, V, zeros);
    /* 16 products over channels */
    for (int k = 0; k < 16; ++k)
        GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasNoTrans, (int)nt, (int)Co, (int)Ci, (T)1,
             V + k * nt * Ci, (int)Ci, U + k * Ci * Co, (int)Co, (T)0, M + k * nt * Co, (int)Co);
    /* output transform Y = A^T m A, plus bias, clipped to the output */
    for (int64_t t = 0; t < nt; ++t) {
        const int64_t ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        const int64_t oh = 2 * ti, ow = 2 * tj;
        const int h2 = oh + 1 < Ho, w2 = ow + 1 < Wo;
        const T *m = M + t * Co;
        const int64_t ks = nt * Co;
        T *restrict y00 = y + (oh * Wo + ow) * Co;
        T *restrict y01 = y00 + Co;
        T *restrict y10 = y00 + Wo * Co;
        T *restrict y11 = y10 + Co;
#pragma GCC ivdep
        for (int64_t c = 0; c < Co; ++c) {
            T r[2][4];
            for (int b = 0; b < 4; ++b) {
                const T m0 = m[(0 + b) * ks + c], m1 = m[(4 + b) * ks + c];
                const T m2 = m[(8 + b) * ks + c], m3 = m[(12 + b) * ks + c];
                r[0][b] = m0 + m1 + m2;
                r[1][b] = m1 - m2 - m3;
            }
            const T bv = bias ? bias[c] : (T)0;
            y00[c] = r[0][0] + r[0][1] + r[0][2] + bv;
            if (w2) y01[c] = r[0][1] - r[0][2] - r[0][3] + bv;
            if (h2) {
                y10[c] = r[1][0] + r[1][1] + r[1][2] + bv;
                if (w2) y11[c] = r[1][1] - r[1][2] - r[1][3] + bv;
            }
        }
    }
}

/* The whole pass over n images; ws holds U, a zero row and per-thread V and M. */
/* One work item of wino_run: one chunk of tiles of one image, on the worker pool. */
typedef struct {
    int64_t H, W, Ci;
    const T *x;
    int64_t Ho, Wo, Co, ph, pw;
    const T *U, *bias;
    T *y;
    const T *zeros;
    T *per_thread;
    int64_t tiles, chunk, chunks;
} FK_FN(wino_job);

static void FK_FN(wino_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(wino_job) *j = (const FK_FN(wino_job) *)ctx;
    const int64_t img = item / j->chunks, t0 = (item % j->chunks) * j->chunk;
    const int64_t ntl = j->tiles - t0 < j->chunk ? j->tiles - t0 : j->chunk;
    T *V = j->per_thread + (int64_t)slot * 16 * j->chunk * (j->Ci + j->Co);
    T *M = V + 16 * j->chunk * j->Ci;
    FK_FN(wino_chunk)(j->H, j->W, j->Ci, j->x + img * j->H * j->W * j->Ci, j->Ho, j->Wo, j->Co,
                      j->ph, j->pw, j->U, j->bias, t0, ntl, V, M, j->zeros,
                      j->y + img * j->Ho * j->Wo * j->Co);
}

static void FK_FN(wino_run)(int64_t n, int64_t H, int64_t W, int64_t Ci, const T *x, int64_t Ho,
                            int64_t Wo, int64_t Co, int64_t ph, int64_t pw, const T *w, int flip,
                            const T *bias, T *y, void *ws, int nt_req) {
    const int64_t tiles = ((Ho + 1) / 2) * ((Wo + 1) / 2);
    const int64_t chunk = fk_wino_chunk(Ci, Co, (int)sizeof(T), tiles);
    const int64_t chunks = (tiles + chunk - 1) / chunk;
    const int64_t zlen = Ci > Co ? Ci : Co;
    T *U = (T *)ws;
    T *zeros = U + 16 * Ci * Co;
    T *per_thread = zeros + zlen;
    FK_FN(wino_kernel)(w, Ci, Co, flip, U);
    memset(zeros, 0, (size_t)zlen * sizeof(T));
    const int64_t items = n * chunks;
    const int nt = (int)(items < nt_req ? items : nt_req);
    FK_FN(wino_job) job = {H, W, Ci, x, Ho, Wo, Co, ph, pw, U, bias, y, zeros, per_thread,
                           tiles, chunk, chunks};
    fk_workers_run(nt, items, FK_FN(wino_item), &job);
}

/* Weight gradient of one chunk: Wt[k] += V[k]^T D[k] with D[k] = (A e A^T)[k]
 * for the 2x2 output-gradient tile e (zeros beyond the output). */
FK_CLONES static void FK_FN(wino_filter_chunk)(int64_t H, int64_t W, int64_t Ci, const T *x,
                                               int64_t Ho, int64_t Wo, int64_t Co, const T *dy,
                                               int64_t ph, int64_t pw, int64_t t0, int64_t nt,
                                               T *V, T *D, const T *zeros, T *Wt) {
    const int64_t tw = (Wo + 1) / 2;
    FK_FN(wino_input)(H, W, Ci, x, tw, ph, pw, t0, nt, V, zeros);
    for (int64_t t = 0; t < nt; ++t) {
        const int64_t ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        const int64_t oh = 2 * ti, ow = 2 * tj;
        const int h2 = oh + 1 < Ho, w2 = ow + 1 < Wo;
        const T *e00 = dy + (oh * Wo + ow) * Co;
        const T *e01 = w2 ? e00 + Co : zeros;
        const T *e10 = h2 ? e00 + Wo * Co : zeros;
        const T *e11 = (h2 && w2) ? e00 + (Wo + 1) * Co : zeros;
        T *restrict d = D + t * Co;
        const int64_t ks = nt * Co;
#pragma GCC ivdep
        for (int64_t c = 0; c < Co; ++c) {
            const T a00 = e00[c], a01 = e01[c], a10 = e10[c], a11 = e11[c];
            /* rows: (e0, e0 + e1, e0 - e1, -e1) for each of the 2 columns */
            const T r[4][2] = {{a00, a01}, {a00 + a10, a01 + a11}, {a00 - a10, a01 - a11},
                               {-a10, -a11}};
            for (int a = 0; a < 4; ++a) {
                d[(a * 4 + 0) * ks + c] = r[a][0];
                d[(a * 4 + 1) * ks + c] = r[a][0] + r[a][1];
                d[(a * 4 + 2) * ks + c] = r[a][0] - r[a][1];
                d[(a * 4 + 3) * ks + c] = -r[a][1];
            }
        }
    }
    for (int k = 0; k < 16; ++k)
        GEMM(FK_CblasRowMajor, FK_CblasTrans, FK_CblasNoTrans, (int)Ci, (int)Co, (int)nt, (T)1,
             V + k * nt * Ci, (int)Ci, D + k * nt * Co, (int)Co, (T)1, Wt + k * Ci * Co, (int)Co);
}

/* wino_filter_run's items: slot s of S accumulates its partial transformed dW (and a
 * double db) over images s, s + S, ...; then chunks of (ci, co) elements sum the slots in
 * slot order and transform back. Both on the worker pool. */
typedef struct {
    const fk_conv_geom *g;
    const T *x, *dy, *zeros;
    T *partial, *per_thread;
    double *dbp;
    int64_t per_thread_len, tiles, chunk, S;
} FK_FN(wino_filter_job);

static void FK_FN(wino_filter_item)(void *ctx, int64_t s, int slot) {
    const FK_FN(wino_filter_job) *j = (const FK_FN(wino_filter_job) *)ctx;
    const fk_conv_geom *g = j->g;
    const int64_t H = g->in[1], W = g->in[2], Ho = g->out[1], Wo = g->out[2];
    const int64_t Ci = g->cin, Co = g->cout, n = g->n;
    T *V = j->per_thread + (int64_t)slot * j->per_thread_len;
    T *D = V + 16 * j->chunk * Ci;
    T *Wt = j->partial + s * 16 * Ci * Co;
    double *dbs = j->dbp + s * Co;
    memset(Wt, 0, (size_t)(16 * Ci * Co) * sizeof(T));
    for (int64_t c = 0; c < Co; ++c) dbs[c] = 0.0;
    for (int64_t img = s; img < n; img += j->S) {
        const T *xi = j->x + img * H * W * Ci;
        const T *dyi = j->dy + img * Ho * Wo * Co;
        for (int64_t r = 0; r < Ho * Wo; ++r)
            for (int64_t c = 0; c < Co; ++c) dbs[c] += (double)dyi[r * Co + c];
        for (int64_t t0 = 0; t0 < j->tiles; t0 += j->chunk) {
            const int64_t ntl = j->tiles - t0 < j->chunk ? j->tiles - t0 : j->chunk;
            FK_FN(wino_filter_chunk)(H, W, Ci, xi, Ho, Wo, Co, dyi, g->pad[1], g->pad[2], t0,
                                     ntl, V, D, j->zeros, Wt);
        }
    }
}

typedef struct {
    const T *partial;
    T *dw;
    int64_t count, S, chunk;
} FK_FN(wino_sum_job);

static void FK_FN(wino_sum_item)(void *ctx, int64_t item, int slot) {
    const FK_FN(wino_sum_job) *j = (const FK_FN(wino_sum_job) *)ctx;
    (void)slot;
    const int64_t e0 = item * j->chunk, e1 = e0 + j->chunk < j->count ? e0 + j->chunk : j->count;
    for (int64_t e = e0; e < e1; ++e) {
        double u[16], m[4][3];
        for (int k = 0; k < 16; ++k) {
            double acc = 0.0;
            for (int64_t s = 0; s < j->S; ++s)
                acc += (double)j->partial[(s * 16 + k) * j->count + e];
            u[k] = acc;
        }
        /* m = U G (4x3), then dW = G^T m (3x3); G rows: (1,0,0) (.5,.5,.5) (.5,-.5,.5) (0,0,1) */
        for (int a = 0; a < 4; ++a) {
            const double *ua = u + 4 * a;
            m[a][0] = ua[0] + 0.5 * (ua[1] + ua[2]);
            m[a][1] = 0.5 * (ua[1] - ua[2]);
            m[a][2] = 0.5 * (ua[1] + ua[2]) + ua[3];
        }
        for (int b = 0; b < 3; ++b) {
            j->dw[(0 * 3 + b) * j->count + e] = (T)(m[0][b] + 0.5 * (m[1][b] + m[2][b]));
            j->dw[(1 * 3 + b) * j->count + e] = (T)(0.5 * (m[1][b] - m[2][b]));
            j->dw[(2 * 3 + b) * j->count + e] = (T)(0.5 * (m[1][b] + m[2][b]) + m[3][b]);
        }
    }
}

/* dW (and db) over n images: slot partials in the transformed domain, summed in
 * slot order, then dW[a][b] = G^T Wt G per (ci, co). */
static void FK_FN(wino_filter_run)(const fk_conv_geom *g, const T *x, const T *dy, T *dw, T *db,
                                   void *ws, int nt_req) {
    const int64_t Ho = g->out[1], Wo = g->out[2];
    const int64_t Ci = g->cin, Co = g->cout;
    const int64_t tiles = ((Ho + 1) / 2) * ((Wo + 1) / 2);
    const int64_t chunk = fk_wino_chunk(Ci, Co, (int)sizeof(T), tiles);
    const int64_t S = fk_conv_slots(g);
    const int64_t zlen = Ci > Co ? Ci : Co;
    const int64_t per_thread_len = 16 * fk_wino_chunk(Ci, Co, (int)sizeof(T), 0) * (Ci + Co);
    const int nts = (int)(S < nt_req ? S : nt_req);
    T *zeros = (T *)ws;
    T *partial = zeros + zlen;                 /* S x 16 x Ci x Co */
    T *per_thread = partial + S * 16 * Ci * Co; /* nts x (V, D) */
    size_t db_off = ((size_t)(zlen + S * 16 * Ci * Co + (int64_t)nts * per_thread_len) *
                     sizeof(T) + 7) & ~(size_t)7;
    double *dbp = (double *)((char *)ws + db_off);
    memset(zeros, 0, (size_t)zlen * sizeof(T));
    FK_FN(wino_filter_job) job = {g, x, dy, zeros, partial, per_thread, dbp, per_thread_len,
                                  tiles, chunk, S};
    fk_workers_run(nts, S, FK_FN(wino_filter_item), &job);
    const int ntr = (int)((Ci * Co) / 1024 + 1 < nt_req ? (Ci * Co) / 1024 + 1 : nt_req);
    const int64_t chunk_e = 1024;
    FK_FN(wino_sum_job) sum = {partial, dw, Ci * Co, S, chunk_e};
    fk_workers_run(ntr, (Ci * Co + chunk_e - 1) / chunk_e, FK_FN(wino_sum_item), &sum);
    if (db)
        for (int64_t c = 0; c < Co; ++c) {
            double acc = 0.0;
            for (int64_t s = 0; s < S; ++s) acc += dbp[s * Co + c];
            db[c] = (T)acc;
        }
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
