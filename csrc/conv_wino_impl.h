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
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t item = 0; item < items; ++item) {
        const int64_t img = item / chunks, t0 = (item % chunks) * chunk;
        const int64_t ntl = tiles - t0 < chunk ? tiles - t0 : chunk;
#ifdef _OPENMP
        const int64_t tid = omp_get_thread_num();
#else
        const int64_t tid = 0;
#endif
        T *V = per_thread + tid * 16 * chunk * (Ci + Co);
        T *M = V + 16 * chunk * Ci;
        FK_FN(wino_chunk)(H, W, Ci, x + img * H * W * Ci, Ho, Wo, Co, ph, pw, U, bias, t0, ntl, V,
                          M, zeros, y + img * Ho * Wo * Co);
    }
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

/* dW (and db) over n images: slot partials in the transformed domain, summed in
 * slot order, then dW[a][b] = G^T Wt G per (ci, co). */
static void FK_FN(wino_filter_run)(const fk_conv_geom *g, const T *x, const T *dy, T *dw, T *db,
                                   void *ws, int nt_req) {
    const int64_t H = g->in[1], W = g->in[2], Ho = g->out[1], Wo = g->out[2];
    const int64_t Ci = g->cin, Co = g->cout, n = g->n;
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
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
    for (int64_t s = 0; s < S; ++s) {
#ifdef _OPENMP
        const int64_t tid = omp_get_thread_num();
#else
        const int64_t tid = 0;
#endif
        T *V = per_thread + tid * per_thread_len;
        T *D = V + 16 * chunk * Ci;
        T *Wt = partial + s * 16 * Ci * Co;
        double *dbs = dbp + s * Co;
        memset(Wt, 0, (size_t)(16 * Ci * Co) * sizeof(T));
        for (int64_t c = 0; c < Co; ++c) dbs[c] = 0.0;
        for (int64_t img = s; img < n; img += S) {
            const T *xi = x + img * H * W * Ci;
            const T *dyi = dy + img * Ho * Wo * Co;
            for (int64_t r = 0; r < Ho * Wo; ++r)
                for (int64_t c = 0; c < Co; ++c) dbs[c] += (double)dyi[r * Co + c];
            for (int64_t t0 = 0; t0 < tiles; t0 += chunk) {
                const int64_t ntl = tiles - t0 < chunk ? tiles - t0 : chunk;
                FK_FN(wino_filter_chunk)(H, W, Ci, xi, Ho, Wo, Co, dyi, g->pad[1], g->pad[2], t0,
                                         ntl, V, D, zeros, Wt);
            }
        }
    }
    const int ntr = (int)((Ci * Co) / 1024 + 1 < nt_req ? (Ci * Co) / 1024 + 1 : nt_req);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(ntr) if (ntr > 1)
#endif
    for (int64_t e = 0; e < Ci * Co; ++e) {
        double u[16], m[4][3];
        for (int k = 0; k < 16; ++k) {
            double acc = 0.0;
            for (int64_t s = 0; s < S; ++s) acc += (double)partial[(s * 16 + k) * Ci * Co + e];
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
            dw[(0 * 3 + b) * Ci * Co + e] = (T)(m[0][b] + 0.5 * (m[1][b] + m[2][b]));
            dw[(1 * 3 + b) * Ci * Co + e] = (T)(0.5 * (m[1][b] - m[2][b]));
            dw[(2 * 3 + b) * Ci * Co + e] = (T)(0.5 * (m[1][b] + m[2][b]) + m[3][b]);
        }
    }
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
