/* Body of the softmax cross-entropy kernels, included once per dtype by
 * softmax_xent.c with T (element type), SUF (f32/f64) and the row helpers
 * ROWMAX / SUMEXP / EXPSTORE / AFFINE defined. */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

static inline T FK_FN(clip_prob)(double q, double eps) {
    /* Written with comparisons (not fmin/fmax) so that NaN propagates. */
    return (T)(q < eps ? eps : (q > 1.0 - eps ? 1.0 - eps : q));
}

/* One row, logits, sparse label y (already range-checked). The loss is formed
 * as log(s) + (m - x_y) so that huge logits do not cancel catastrophically. */
static inline void FK_FN(row_logits_sparse)(int64_t c, const T *x, int64_t y, double w,
                                             T *g, T *loss, double ls, const ROWS_T *rows,
                                             const T *pf, T *gout) {
    (void)rows;
    T m = ROWMAX(c, x);
    double s = g ? EXPSTORE(c, x, m, g, pf) : SUMEXP(c, x, m, pf);
    if (loss) {
        double l = log(s) + (1.0 - ls) * ((double)m - (double)x[y]);
        if (ls > 0.0) {
            double smx = 0.0;
            for (int64_t j = 0; j < c; ++j) smx += (double)m - (double)x[j];
            l += ls / (double)c * smx;  /* the smoothed target sums to 1 */
        }
        *loss = (T)l;
    }
    if (g) {
        /* g_j = a e_j + c0, and at the label a (e_y - (1-ls) s) + c0 = a e_y + c0 - w (1-ls):
         * folding the label term into e_y lets one affine pass (possibly
         * streaming) write the finished row. */
        g[y] = (T)((double)g[y] - (1.0 - ls) * s);
        AFFINE_OUT(c, g, (T)(w / s), (const T *)0, (T)0, (T)(-w * ls / (double)c), gout);
    }
}

/* One row, logits, dense targets t: loss = sum_j t_j (log(s) + m - x_j). */
static inline void FK_FN(row_logits_dense)(int64_t c, const T *x, const T *t, double w,
                                            T *g, T *loss, double ls, const ROWS_T *rows,
                                            const T *pf, T *gout) {
    (void)rows;
    T m = ROWMAX(c, x);
    double st = 0.0, stmx = 0.0, smx = 0.0;
    for (int64_t j = 0; j < c; ++j) {
        double d = (double)m - (double)x[j];
        st += (double)t[j];
        if (t[j] != (T)0) stmx += (double)t[j] * d;  /* a -inf logit with t = 0 adds 0, not NaN */
        smx += d;
    }
    if (ls > 0.0) {
        st = st * (1.0 - ls) + ls;
        stmx = stmx * (1.0 - ls) + ls / (double)c * smx;
    }
    double s = g ? EXPSTORE(c, x, m, g, pf) : SUMEXP(c, x, m, pf);
    if (loss) *loss = (T)(log(s) * st + stmx);
    if (g) AFFINE_OUT(c, g, (T)(w * st / s), t, (T)(-w * (1.0 - ls)), (T)(-w * ls / (double)c), gout);
}

/* One row, probabilities, sparse label y: Keras clips each p, takes log, and
 * applies softmax cross-entropy to those log-probabilities. The loss is
 * evaluated in T with TF's order of operations (log, max-shift, exp, sequential
 * sum), so float32 results print exactly as tf.keras prints them. */
static inline void FK_FN(row_probs_sparse)(int64_t c, const T *x, int64_t y, double w,
                                            T *g, T *loss, double ls, double eps) {
    if (loss) {
        T m = (T)-INFINITY, sl = (T)0;
        for (int64_t j = 0; j < c; ++j) {
            T lj = (T)log((double)FK_FN(clip_prob)((double)x[j], eps));
            m = lj > m ? lj : m;
        }
        T s = (T)0;
        for (int64_t j = 0; j < c; ++j) {
            T d = (T)((T)log((double)FK_FN(clip_prob)((double)x[j], eps)) - m);
            s = (T)(s + (T)exp((double)d));
            sl = (T)(sl + d);
        }
        T dy = (T)((T)log((double)FK_FN(clip_prob)((double)x[y], eps)) - m);
        T lse = (T)log((double)s);
        if (ls > 0.0) *loss = (T)((double)lse - (1.0 - ls) * (double)dy - ls / (double)c * (double)sl);
        else *loss = (T)(lse - dy);
    }
    if (g) {
        double s = 0.0;
        for (int64_t j = 0; j < c; ++j) s += (double)FK_FN(clip_prob)((double)x[j], eps);
        double base = ls / (double)c;
        for (int64_t j = 0; j < c; ++j) {
            double xj = (double)x[j];
            double cj = (double)FK_FN(clip_prob)(xj, eps);
            double tj = base + (j == y ? 1.0 - ls : 0.0);
            /* tf.clip_by_value passes the gradient where eps <= x <= 1-eps. */
            int pass = !(xj < eps) && !(xj > 1.0 - eps);
            g[j] = (T)(pass ? w * (1.0 / s - tj / cj) : (xj != xj ? xj : 0.0));
        }
    }
}

/* One row, probabilities, dense targets: Keras normalises p by its sum,
 * clips, and takes -sum t log(q). */
static inline void FK_FN(row_probs_dense)(int64_t c, const T *x, const T *t, double w,
                                           T *g, T *loss, double ls, double eps) {
    double s = 0.0;
    for (int64_t j = 0; j < c; ++j) s += (double)x[j];
    double l = 0.0, aq = 0.0, base = ls / (double)c;
    for (int64_t j = 0; j < c; ++j) {
        double q = (double)((T)((double)x[j] / s)); /* the division happens in T, as in Keras */
        double cj = (double)FK_FN(clip_prob)(q, eps);
        double tj = (double)t[j] * (1.0 - ls) + base;
        l -= tj * log(cj);
        if (g) {
            int pass = !(q < eps) && !(q > 1.0 - eps);
            double a = pass ? -tj / cj : (q != q ? q : 0.0);
            aq += a * q;
            g[j] = (T)a;
        }
    }
    if (loss) *loss = (T)l;
    if (g) {
        for (int64_t j = 0; j < c; ++j) g[j] = (T)(w * ((double)g[j] - aq) / s);
    }
}

static int FK_FN(xent_core)(int64_t n, int64_t c, const T *x, const int64_t *labels,
                            const T *targets, const T *gscale, T *grad, T *loss,
                            const fk_xent_opts *opts_in, int n_threads) {
    fk_xent_opts opts;
    if (opts_in) opts = *opts_in; else fk_xent_opts_init(&opts);
    int st = fk_xent_check(n, c, x, labels, targets, &opts);
    if (st != FK_OK || n == 0) return st;
    const ROWS_T *rows = ROWS_GET();
    const double ls = opts.label_smoothing, eps = opts.epsilon;
    const int nt = fk_xent_threads(n, c, n_threads);
    /* Rows are computed from L1 after a first pass; fetching the next row
     * meanwhile overlaps the memory traffic with the arithmetic. */
    const int prefetch = c * (int64_t)sizeof(T) <= FK_PREFETCH_MAX_BYTES;
#ifdef FK_XENT_STREAM
    const int stream = grad && c <= FK_STREAM_MAX_C &&
                       (double)n * (double)c * sizeof(T) >= FK_STREAM_MIN_BYTES;
#endif
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : bad)
#endif
    for (int64_t i = 0; i < n; ++i) {
        const T *xi = x + i * c;
        T *gi = grad ? grad + i * c : (T *)0;
        const T *pf = (prefetch && i + 1 < n) ? xi + c : (const T *)0;
        /* Large outputs: the logits rows are built in an L1 scratch and the last
         * pass streams them out (gdst); otherwise gi is built in place. */
        T *gdst = gi;
#ifdef FK_XENT_STREAM
        T row[FK_STREAM_MAX_C];
        if (stream && opts.from_logits) gi = row;
#endif
        T *li = loss ? loss + i : (T *)0;
        double w = gscale ? (double)gscale[i] * opts.grad_scale : opts.grad_scale;
        if (labels) {
            int64_t y = labels[i];
            if (opts.has_ignore_class && y == opts.ignore_class) {
                if (li) *li = (T)0;
                if (gi) memset(gi, 0, (size_t)c * sizeof(T));
            } else if (y < 0 || y >= c) {
                bad = 1;
                if (li) *li = (T)NAN;
                if (gi) for (int64_t j = 0; j < c; ++j) gi[j] = (T)NAN;
            } else if (opts.from_logits) {
                FK_FN(row_logits_sparse)(c, xi, y, w, gi, li, ls, rows, pf, gdst);
            } else {
                FK_FN(row_probs_sparse)(c, xi, y, w, gi, li, ls, eps);
            }
        } else {
            const T *ti = targets + i * c;
            if (opts.from_logits) FK_FN(row_logits_dense)(c, xi, ti, w, gi, li, ls, rows, pf, gdst);
            else FK_FN(row_probs_dense)(c, xi, ti, w, gi, li, ls, eps);
        }
    }
    (void)nt;
    return bad ? FK_ELABEL : FK_OK;
}

int FK_FN(fk_softmax_xent_sparse_fwd)(int64_t n, int64_t c, const T *x, const int64_t *labels,
                                      T *loss, const fk_xent_opts *opts, int n_threads) {
    if (!loss && n > 0) return FK_ENULL;
    if (!labels && n > 0) return FK_ENULL;
    return FK_FN(xent_core)(n, c, x, labels, (const T *)0, (const T *)0, (T *)0, loss, opts,
                            n_threads);
}

int FK_FN(fk_softmax_xent_dense_fwd)(int64_t n, int64_t c, const T *x, const T *targets,
                                     T *loss, const fk_xent_opts *opts, int n_threads) {
    if ((!loss || !targets) && n > 0) return FK_ENULL;
    return FK_FN(xent_core)(n, c, x, (const int64_t *)0, targets, (const T *)0, (T *)0, loss,
                            opts, n_threads);
}

int FK_FN(fk_softmax_xent_sparse_bwd)(int64_t n, int64_t c, const T *x, const int64_t *labels,
                                      const T *gscale, T *grad, T *loss,
                                      const fk_xent_opts *opts, int n_threads) {
    if ((!grad || !labels) && n > 0) return FK_ENULL;
    return FK_FN(xent_core)(n, c, x, labels, (const T *)0, gscale, grad, loss, opts, n_threads);
}

int FK_FN(fk_softmax_xent_dense_bwd)(int64_t n, int64_t c, const T *x, const T *targets,
                                     const T *gscale, T *grad, T *loss,
                                     const fk_xent_opts *opts, int n_threads) {
    if ((!grad || !targets) && n > 0) return FK_ENULL;
    return FK_FN(xent_core)(n, c, x, (const int64_t *)0, targets, gscale, grad, loss, opts,
                            n_threads);
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
