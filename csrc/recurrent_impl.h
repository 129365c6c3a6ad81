/* Body of the recurrent kernels, included once per dtype by recurrent.c (T, SUF, GEMM).
 * Inside, the number of steps is `S` (T is the element type). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* y = f(x) over n elements; FK_RNN_LINEAR copies. */
static inline void FK_FN(rnn_act)(int kind, int64_t n, const T *x, T *y) {
    if (kind == FK_RNN_LINEAR) {
        if (y != x) memcpy(y, x, (size_t)n * sizeof(T));
    } else {
        FK_FN(fk_act_fwd)(kind, n, x, y, 0.0, 1);
    }
}

/* dx = g f'(x) (y = f(x)); dx may alias g. */
static inline void FK_FN(rnn_dact)(int kind, int64_t n, const T *x, const T *y, const T *g,
                                   T *dx) {
    if (kind == FK_RNN_LINEAR) {
        if (dx != g) memcpy(dx, g, (size_t)n * sizeof(T));
    } else {
        FK_FN(fk_act_bwd)(kind, n, x, y, g, dx, 0.0, 1);
    }
}

/* The forward recurrence on rows [r0, r1). */
static void FK_FN(rnn_fwd_rows)(int64_t B, int64_t S, int64_t U, const fk_rnn_opts *o,
                                int64_t r0, int64_t r1, const T *xp, const T *k, const T *rb,
                                const T *h0, const T *c0, const uint8_t *mask, const T *rm,
                                T *y, T *hT, T *cT, T *ws, T *yprev) {
    const rnn_layout l = rnn_ws_layout(o, B, S, U);
    const int64_t G = rnn_gates(o->cell), GU = G * U, nr = r1 - r0, bu = B * U;
    const int ract = o->recurrent_activation, act = o->activation;
    T *H = ws + l.H, *HM = ws + l.HM, *C = ws + l.C, *Z = ws + l.Z, *A = ws + l.A;
    T *X = ws + l.X;
    memcpy(H + r0 * U, h0 + r0 * U, (size_t)(nr * U) * sizeof(T));
    if (o->cell == FK_RNN_LSTM) memcpy(C + r0 * U, c0 + r0 * U, (size_t)(nr * U) * sizeof(T));
    for (int64_t s = 0; s < S; ++s) {
        const int64_t t = o->go_backwards ? S - 1 - s : s;
        T *hk = H + s * bu + r0 * U, *hn = H + (s + 1) * bu + r0 * U;
        T *hm = hk;
        if (rm) {
            hm = HM + s * bu + r0 * U;
            for (int64_t i = 0; i < nr * U; ++i) hm[i] = hk[i] * rm[r0 * U + i];
        }
        T *z = Z + s * B * GU + r0 * GU, *a = A + s * B * GU + r0 * GU;
        T *x = X + s * bu + r0 * U;
        const int gru0 = o->cell == FK_RNN_GRU && !o->reset_after;
        /* z = hm K (all gates, or z/r only for GRU reset_after=0) */
        GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasNoTrans, (int)nr,
             (int)(gru0 ? 2 * U : GU), (int)U, 1, hm, (int)U, k, (int)GU, 0, z, (int)GU);
        for (int64_t b = 0; b < nr; ++b) {
            const T *xr = xp + ((r0 + b) * S + t) * GU;
            T *zr = z + b * GU, *ar = a + b * GU;
            const int64_t ncols = gru0 ? 2 * U : GU;
            if (rb)
                for (int64_t j = 0; j < ncols; ++j) zr[j] += rb[j];
            if (o->cell == FK_RNN_GRU && o->reset_after) {
                memcpy(x + b * U, zr + 2 * U, (size_t)U * sizeof(T)); /* a_h = hm K_h + rb_h */
                for (int64_t j = 0; j < 2 * U; ++j) zr[j] += xr[j];
                FK_FN(rnn_act)(ract, 2 * U, zr, ar);
                for (int64_t j = 0; j < U; ++j)
                    zr[2 * U + j] = xr[2 * U + j] + ar[U + j] * x[b * U + j];
                FK_FN(rnn_act)(act, U, zr + 2 * U, ar + 2 * U);
            } else if (gru0) {
                for (int64_t j = 0; j < 2 * U; ++j) zr[j] += xr[j];
                FK_FN(rnn_act)(ract, 2 * U, zr, ar);
                for (int64_t j = 0; j < U; ++j) x[b * U + j] = ar[U + j] * hm[b * U + j];
            } else {
                for (int64_t j = 0; j < GU; ++j) zr[j] += xr[j];
                if (o->cell == FK_RNN_LSTM) {
                    FK_FN(rnn_act)(ract, 2 * U, zr, ar);
                    FK_FN(rnn_act)(act, U, zr + 2 * U, ar + 2 * U);
                    FK_FN(rnn_act)(ract, U, zr + 3 * U, ar + 3 * U);
                } else {
                    FK_FN(rnn_act)(act, U, zr, ar);
                }
            }
        }
        if (gru0) { /* the candidate's product needs r first */
            GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasNoTrans, (int)nr, (int)U, (int)U, 1,
                 x, (int)U, k + 2 * U, (int)GU, 0, z + 2 * U, (int)GU);
            for (int64_t b = 0; b < nr; ++b) {
                const T *xr = xp + ((r0 + b) * S + t) * GU;
                T *zr = z + b * GU, *ar = a + b * GU;
                for (int64_t j = 0; j < U; ++j)
                    zr[2 * U + j] += xr[2 * U + j] + (rb ? rb[2 * U + j] : 0);
                FK_FN(rnn_act)(act, U, zr + 2 * U, ar + 2 * U);
            }
        }
        for (int64_t b = 0; b < nr; ++b) {
            const int64_t row = r0 + b;
            const T *ar = a + b * GU, *hp = hk + b * U;
            T *hr = hn + b * U;
            if (o->cell == FK_RNN_SIMPLE) {
                memcpy(hr, ar, (size_t)U * sizeof(T));
            } else if (o->cell == FK_RNN_LSTM) {
                const T *cp = C + s * bu + row * U;
                T *cn = C + (s + 1) * bu + row * U, *ac = x + b * U;
                for (int64_t j = 0; j < U; ++j)
                    cn[j] = ar[U + j] * cp[j] + ar[j] * ar[2 * U + j];
                FK_FN(rnn_act)(act, U, cn, ac);
                for (int64_t j = 0; j < U; ++j) hr[j] = ar[3 * U + j] * ac[j];
            } else {
                for (int64_t j = 0; j < U; ++j)
                    hr[j] = ar[j] * hp[j] + ((T)1 - ar[j]) * ar[2 * U + j];
            }
            const int on = !mask || mask[row * S + t];
            T *yp = yprev + b * U;
            if (!on) { /* keep the states; repeat the previous output (or zeros) */
                memcpy(hr, hp, (size_t)U * sizeof(T));
                if (o->cell == FK_RNN_LSTM)
                    memcpy(C + (s + 1) * bu + row * U, C + s * bu + row * U,
                           (size_t)U * sizeof(T));
                if (s == 0 || o->zero_output_for_mask) memset(yp, 0, (size_t)U * sizeof(T));
            } else {
                memcpy(yp, hr, (size_t)U * sizeof(T));
            }
            if (o->return_sequences)
                memcpy(y + (row * S + s) * U, yp, (size_t)U * sizeof(T));
        }
    }
    if (!o->return_sequences) memcpy(y + r0 * U, yprev, (size_t)(nr * U) * sizeof(T));
    memcpy(hT + r0 * U, H + S * bu + r0 * U, (size_t)(nr * U) * sizeof(T));
    if (o->cell == FK_RNN_LSTM)
        memcpy(cT + r0 * U, C + S * bu + r0 * U, (size_t)(nr * U) * sizeof(T));
}

/* The backward recurrence on rows [r0, r1): fills dxp, DA (the gradient of each step's
 * recurrent product, [S, B, G*U] time-major), dh0 and dc0. scratch: 7 nr*U elements. */
static void FK_FN(rnn_bwd_rows)(int64_t B, int64_t S, int64_t U, const fk_rnn_opts *o,
                                int64_t r0, int64_t r1, const T *k, const uint8_t *mask,
                                const T *rm, const T *ws, const T *dy, const T *dhT,
                                const T *dcT, T *dxp, T *DA, T *dh0, T *dc0, T *scratch) {
    const rnn_layout l = rnn_ws_layout(o, B, S, U);
    const int64_t G = rnn_gates(o->cell), GU = G * U, nr = r1 - r0, bu = B * U;
    const int ract = o->recurrent_activation, act = o->activation;
    const int lstm = o->cell == FK_RNN_LSTM, gru = o->cell == FK_RNN_GRU;
    const int gru0 = gru && !o->reset_after;
    const T *H = ws + l.H, *HM = ws + l.HM, *C = ws + l.C, *Z = ws + l.Z, *A = ws + l.A;
    const T *X = ws + l.X;
    T *dh = scratch, *dc = dh + nr * U, *carry = dc + nr * U, *tmp = carry + nr * U;
    T *drh = tmp + nr * U, *buf = drh + nr * U; /* buf: 2 nr*U >= 2 U */
    for (int64_t i = 0; i < nr * U; ++i) {
        dh[i] = dhT ? dhT[r0 * U + i] : 0;
        dc[i] = lstm && dcT ? dcT[r0 * U + i] : 0;
        carry[i] = 0;
    }
    for (int64_t s = S - 1; s >= 0; --s) {
        const int64_t t = o->go_backwards ? S - 1 - s : s;
        const T *hk = H + s * bu + r0 * U;
        const T *hm = rm ? HM + s * bu + r0 * U : hk;
        const T *z = Z + s * B * GU + r0 * GU, *a = A + s * B * GU + r0 * GU;
        const T *x = X + s * bu + r0 * U;
        T *da = DA + s * B * GU + r0 * GU;
        for (int64_t b = 0; b < nr; ++b) {
            const int64_t row = r0 + b;
            T *dyk = buf; /* this step's output gradient, with what masked later steps passed */
            const T *g = NULL;
            if (dy && o->return_sequences) g = dy + (row * S + s) * U;
            else if (dy && s == S - 1) g = dy + row * U;
            for (int64_t j = 0; j < U; ++j) dyk[j] = carry[b * U + j] + (g ? g[j] : 0);
            T *dxr = dxp + (row * S + t) * GU, *dar = da + b * GU;
            if (mask && !mask[row * S + t]) {
                const int pass = s > 0 && !o->zero_output_for_mask;
                for (int64_t j = 0; j < U; ++j) carry[b * U + j] = pass ? dyk[j] : 0;
                memset(dxr, 0, (size_t)GU * sizeof(T));
                memset(dar, 0, (size_t)GU * sizeof(T));
                continue; /* dh, dc pass through to the previous step */
            }
            T *dhr = dh + b * U;
            for (int64_t j = 0; j < U; ++j) {
                dhr[j] += dyk[j];
                carry[b * U + j] = 0;
            }
            const T *zr = z + b * GU, *ar = a + b * GU;
            if (o->cell == FK_RNN_SIMPLE) {
                FK_FN(rnn_dact)(act, U, zr, ar, dhr, dxr);
                memcpy(dar, dxr, (size_t)U * sizeof(T));
            } else if (lstm) {
                const T *cp = C + s * bu + row * U, *cn = C + (s + 1) * bu + row * U;
                const T *ac = x + b * U;
                T *dcr = dc + b * U;
                for (int64_t j = 0; j < U; ++j) {
                    dxr[3 * U + j] = dhr[j] * ac[j];      /* d o */
                    buf[U + j] = dhr[j] * ar[3 * U + j]; /* d act(c) */
                }
                FK_FN(rnn_dact)(act, U, cn, ac, buf + U, buf + U);
                for (int64_t j = 0; j < U; ++j) {
                    const T dct = dcr[j] + buf[U + j];
                    dxr[j] = dct * ar[2 * U + j];    /* d i */
                    dxr[U + j] = dct * cp[j];        /* d f */
                    dxr[2 * U + j] = dct * ar[j];    /* d g */
                    dcr[j] = dct * ar[U + j];        /* to c_{t-1} */
                }
                FK_FN(rnn_dact)(ract, 2 * U, zr, ar, dxr, dxr);
                FK_FN(rnn_dact)(act, U, zr + 2 * U, ar + 2 * U, dxr + 2 * U, dxr + 2 * U);
                FK_FN(rnn_dact)(ract, U, zr + 3 * U, ar + 3 * U, dxr + 3 * U, dxr + 3 * U);
                memcpy(dar, dxr, (size_t)GU * sizeof(T));
            } else {
                const T *hp = hk + b * U;
                for (int64_t j = 0; j < U; ++j) {
                    dxr[j] = dhr[j] * (hp[j] - ar[2 * U + j]);    /* d z */
                    dxr[2 * U + j] = dhr[j] * ((T)1 - ar[j]);    /* d hh */
                    dhr[j] = dhr[j] * ar[j];                     /* direct to h_{t-1} */
                }
                FK_FN(rnn_dact)(act, U, zr + 2 * U, ar + 2 * U, dxr + 2 * U, dxr + 2 * U);
                if (!gru0) {
                    for (int64_t j = 0; j < U; ++j) {
                        dxr[U + j] = dxr[2 * U + j] * x[b * U + j];       /* d r */
                        dar[2 * U + j] = dxr[2 * U + j] * ar[U + j];     /* d a_h */
                    }
                    FK_FN(rnn_dact)(ract, 2 * U, zr, ar, dxr, dxr);
                    memcpy(dar, dxr, (size_t)(2 * U) * sizeof(T));
                } else {
                    memcpy(dar + 2 * U, dxr + 2 * U, (size_t)U * sizeof(T));
                }
            }
        }
        if (gru0) { /* d(r hm) = d hh_pre K_h^T, then r's gradient */
            GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasTrans, (int)nr, (int)U, (int)U, 1,
                 da + 2 * U, (int)GU, k + 2 * U, (int)GU, 0, drh, (int)U);
            for (int64_t b = 0; b < nr; ++b) {
                const int64_t row = r0 + b;
                if (mask && !mask[row * S + t]) continue;
                T *dxr = dxp + (row * S + t) * GU, *dar = da + b * GU;
                const T *zr = z + b * GU, *ar = a + b * GU;
                for (int64_t j = 0; j < U; ++j) dxr[U + j] = drh[b * U + j] * hm[b * U + j];
                FK_FN(rnn_dact)(ract, 2 * U, zr, ar, dxr, dxr);
                memcpy(dar, dxr, (size_t)(2 * U) * sizeof(T));
                for (int64_t j = 0; j < U; ++j) drh[b * U + j] *= ar[U + j];
            }
        }
        /* the gradient into h_{t-1} through the recurrent product */
        GEMM(FK_CblasRowMajor, FK_CblasNoTrans, FK_CblasTrans, (int)nr, (int)U,
             (int)(gru0 ? 2 * U : GU), 1, da, (int)GU, k, (int)GU, 0, tmp, (int)U);
        for (int64_t b = 0; b < nr; ++b) {
            const int64_t row = r0 + b;
            if (mask && !mask[row * S + t]) continue;
            T *dhr = dh + b * U, *tr = tmp + b * U;
            if (gru0)
                for (int64_t j = 0; j < U; ++j) tr[j] += drh[b * U + j];
            if (rm)
                for (int64_t j = 0; j < U; ++j) tr[j] *= rm[row * U + j];
            if (gru)
                for (int64_t j = 0; j < U; ++j) dhr[j] += tr[j];
            else
                memcpy(dhr, tr, (size_t)U * sizeof(T));
        }
    }
    memcpy(dh0 + r0 * U, dh, (size_t)(nr * U) * sizeof(T));
    if (lstm && dc0) memcpy(dc0 + r0 * U, dc, (size_t)(nr * U) * sizeof(T));
}

/* The passes' work items on the worker pool (workers.h): `blocks` fixed blocks of batch
 * rows (the split the OpenMP team used, so the numbers are the same), then, backward,
 * blocks of dk's columns. A thread the scheduler parks leaves its block to the others. */
typedef struct {
    int64_t B, S, U;
    const fk_rnn_opts *o;
    int blocks;
    const T *xp, *k, *rb, *h0, *c0;
    const uint8_t *mask;
    const T *rec_mask;
    T *y, *hT, *cT, *ws, *yprev;
    const T *dy, *dhT, *dcT;
    T *dxp, *DA, *dh0, *dc0, *scratch, *dk, *drb;
} FK_FN(rnn_job);

static void FK_FN(rnn_fwd_item)(void *ctx, int64_t block, int slot) {
    const FK_FN(rnn_job) *j = (const FK_FN(rnn_job) *)ctx;
    (void)slot;
    int64_t r0, r1;
    rnn_rows(j->B, j->blocks, (int)block, &r0, &r1);
    if (r1 > r0)
        FK_FN(rnn_fwd_rows)(j->B, j->S, j->U, j->o, r0, r1, j->xp, j->k, j->rb, j->h0, j->c0,
                            j->mask, j->rec_mask, j->y, j->hT, j->cT, j->ws,
                            j->yprev + r0 * j->U);
}

static void FK_FN(rnn_bwd_item)(void *ctx, int64_t block, int slot) {
    const FK_FN(rnn_job) *j = (const FK_FN(rnn_job) *)ctx;
    (void)slot;
    int64_t r0, r1;
    rnn_rows(j->B, j->blocks, (int)block, &r0, &r1);
    if (r1 > r0)
        FK_FN(rnn_bwd_rows)(j->B, j->S, j->U, j->o, r0, r1, j->k, j->mask, j->rec_mask, j->ws,
                            j->dy, j->dhT, j->dcT, j->dxp, j->DA, j->dh0, j->dc0,
                            j->scratch + 7 * r0 * j->U);
}

/* dk = hm^T DA over every step and row: one product, columns split in blocks. */
static void FK_FN(rnn_dk_item)(void *ctx, int64_t block, int slot) {
    const FK_FN(rnn_job) *j = (const FK_FN(rnn_job) *)ctx;
    (void)slot;
    const fk_rnn_opts *o = j->o;
    const int64_t S = j->S, B = j->B, U = j->U;
    const rnn_layout l = rnn_ws_layout(o, B, S, U);
    const int64_t GU = rnn_gates(o->cell) * U;
    const int gru0 = o->cell == FK_RNN_GRU && !o->reset_after;
    const T *ws = j->ws, *DA = j->DA;
    T *dk = j->dk;
    const T *hm = ws + (j->rec_mask ? l.HM : l.H);
    int64_t c0_, c1_;
    rnn_rows(GU, j->blocks, (int)block, &c0_, &c1_);
    if (gru0) { /* the candidate's columns multiply r * hm */
        int64_t a0 = c0_ < 2 * U ? c0_ : 2 * U, a1 = c1_ < 2 * U ? c1_ : 2 * U;
        if (a1 > a0)
            GEMM(FK_CblasRowMajor, FK_CblasTrans, FK_CblasNoTrans, (int)U, (int)(a1 - a0),
                 (int)(S * B), 1, hm, (int)U, DA + a0, (int)GU, 0, dk + a0, (int)GU);
        int64_t b0 = c0_ > 2 * U ? c0_ : 2 * U, b1 = c1_;
        if (b1 > b0)
            GEMM(FK_CblasRowMajor, FK_CblasTrans, FK_CblasNoTrans, (int)U, (int)(b1 - b0),
                 (int)(S * B), 1, ws + l.X, (int)U, DA + b0, (int)GU, 0, dk + b0, (int)GU);
    } else if (c1_ > c0_) {
        GEMM(FK_CblasRowMajor, FK_CblasTrans, FK_CblasNoTrans, (int)U, (int)(c1_ - c0_),
             (int)(S * B), 1, hm, (int)U, DA + c0_, (int)GU, 0, dk + c0_, (int)GU);
    }
    if (j->rb && j->drb)
        for (int64_t c = c0_; c < c1_; ++c) {
            double acc = 0;
            for (int64_t r = 0; r < S * B; ++r) acc += DA[r * GU + c];
            j->drb[c] = (T)acc;
        }
}

int FK_FN(fk_rnn_fwd)(int64_t B, int64_t S, int64_t U, const fk_rnn_opts *o, const T *xp,
                      const T *k, const T *rb, const T *h0, const T *c0, const uint8_t *mask,
                      const T *rec_mask, T *y, T *hT, T *cT, T *ws, int n_threads) {
    int st = rnn_check(o, B, S, U);
    if (st != FK_OK) return st;
    const int lstm = o->cell == FK_RNN_LSTM;
    if (!xp || !k || !h0 || !y || !hT || !ws || (lstm && (!c0 || !cT))) return FK_ENULL;
    fk_blas_init();
    const int nt = rnn_threads(B, S, U, rnn_gates(o->cell), n_threads);
    T *yprev = (T *)malloc((size_t)(B * U) * sizeof(T));
    if (!yprev) return FK_ENOMEM;
    const int blocks = rnn_blocks(B, nt);
    FK_FN(rnn_job) job = {.B = B, .S = S, .U = U, .o = o, .blocks = blocks, .xp = xp, .k = k,
                          .rb = rb, .h0 = h0, .c0 = c0, .mask = mask, .rec_mask = rec_mask,
                          .y = y, .hT = hT, .cT = cT, .ws = ws, .yprev = yprev};
    fk_workers_run(nt, blocks, FK_FN(rnn_fwd_item), &job);
    free(yprev);
    return FK_OK;
}

int FK_FN(fk_rnn_bwd)(int64_t B, int64_t S, int64_t U, const fk_rnn_opts *o, const T *k,
                      const T *rb, const uint8_t *mask, const T *rec_mask, const T *ws,
                      const T *dy, const T *dhT, const T *dcT, T *dxp, T *dk, T *drb, T *dh0,
                      T *dc0, int n_threads) {
    int st = rnn_check(o, B, S, U);
    if (st != FK_OK) return st;
    const int lstm = o->cell == FK_RNN_LSTM;
    if (!k || !ws || !dxp || !dk || !dh0 || (lstm && !dc0)) return FK_ENULL;
    fk_blas_init();
    const int64_t G = rnn_gates(o->cell), GU = G * U;
    const int nt = rnn_threads(B, S, U, G, n_threads);
    T *DA = (T *)malloc((size_t)(S * B * GU + 7 * B * U) * sizeof(T));
    if (!DA) return FK_ENOMEM;
    T *scratch = DA + S * B * GU;
    const int blocks = rnn_blocks(B, nt);
    FK_FN(rnn_job) job = {.B = B, .S = S, .U = U, .o = o, .blocks = blocks, .k = k, .rb = rb,
                          .mask = mask, .rec_mask = rec_mask, .ws = (T *)ws, .dy = dy,
                          .dhT = dhT, .dcT = dcT, .dxp = dxp, .DA = DA, .dh0 = dh0, .dc0 = dc0,
                          .scratch = scratch, .dk = dk, .drb = drb};
    /* the rows' recurrences, then (after all of them) dk's columns */
    fk_workers_run(nt, blocks, FK_FN(rnn_bwd_item), &job);
    fk_workers_run(nt, blocks, FK_FN(rnn_dk_item), &job);
    free(DA);
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
