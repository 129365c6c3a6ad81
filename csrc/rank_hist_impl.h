/* Body of the histogram and exact-rank kernels, included per dtype (T, SUF, KEYFN). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* Number of tf.keras thresholds strictly below s (see rank_hist.h). */
static inline int64_t FK_FN(bucket)(T s, int64_t T_) {
    const T eps = (T)1e-7;
    if (!(s > -eps)) return 0;
    if (s > (T)1 + eps) return T_;
    if (s > (T)1) return T_ - 1;
    double q = ceil((double)s * (double)(T_ - 1)) - 1.0;
    int64_t k = q < 0 ? 0 : (int64_t)q;
    if (k > T_ - 2) k = T_ - 2;
    return 1 + k;
}

int FK_FN(fk_rank_hist)(int64_t n, const T *scores, const uint8_t *labels, const T *weights,
                        int64_t num_thresholds, double *pos, double *neg, int n_threads) {
    if (n < 0 || num_thresholds < 2 || num_thresholds > (1 << 24)) return FK_EBADSHAPE;
    if (!pos || !neg || (n > 0 && (!scores || !labels))) return FK_ENULL;
    if (n == 0) return FK_OK;
    const int64_t nb = num_thresholds + 1;
    const int64_t S = FK_HIST_SLOTS;
    double *part = (double *)calloc((size_t)(S * 2 * nb), sizeof(double));
    if (!part) return FK_ENOMEM;
    const int64_t chunks = (n + FK_HIST_CHUNK - 1) / FK_HIST_CHUNK;
    int nt = n_threads < 1 ? 1 : n_threads;
    if (n < FK_HIST_GRAIN) nt = 1;
    int bad = 0;
    /* slot s sums chunks s, s + S, ... in order: the same sums whatever the threads */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : bad)
#endif
    for (int64_t s = 0; s < S; ++s) {
        double *hp = part + s * 2 * nb, *hn = hp + nb;
        for (int64_t c = s; c < chunks; c += S) {
            const int64_t lo = c * FK_HIST_CHUNK;
            const int64_t hi = lo + FK_HIST_CHUNK < n ? lo + FK_HIST_CHUNK : n;
            for (int64_t i = lo; i < hi; ++i) {
                const int64_t k = FK_FN(bucket)(scores[i], num_thresholds);
                const double w = weights ? (double)weights[i] : 1.0;
                const uint8_t y = labels[i];
                if (y > 1) bad = 1;
                if (y) hp[k] += w;
                else hn[k] += w;
            }
        }
    }
    if (!bad)
        for (int64_t s = 0; s < S; ++s)
            for (int64_t k = 0; k < nb; ++k) {
                pos[k] += part[s * 2 * nb + k];
                neg[k] += part[s * 2 * nb + nb + k];
            }
    free(part);
    return bad ? FK_ELABEL : FK_OK;
}

int FK_FN(fk_rank_exact)(int64_t n, const T *scores, const uint8_t *labels, const T *weights,
                         double *auc, double *ks, int n_threads) {
    if (n < 0 || n > (int64_t)UINT32_MAX) return FK_EBADSHAPE;
    if (!auc || !ks || (n > 0 && (!scores || !labels))) return FK_ENULL;
    if (n == 0) return FK_EBADARG;
    for (int64_t i = 0; i < n; ++i)
        if (labels[i] > 1) return FK_ELABEL;
    uint64_t *keys = (uint64_t *)malloc((size_t)n * sizeof(uint64_t));
    uint32_t *idx = (uint32_t *)malloc((size_t)n * sizeof(uint32_t));
    if (!keys || !idx) {
        free(keys);
        free(idx);
        return FK_ENOMEM;
    }
    for (int64_t i = 0; i < n; ++i) {
        keys[i] = KEYFN(scores[i]);
        idx[i] = (uint32_t)i;
    }
    int st = fk_radix_sort_u64(n, keys, idx, n_threads);
    if (st != FK_OK) {
        free(keys);
        free(idx);
        return st;
    }
    /* totals, then one scan over groups of equal scores */
    double P = 0.0, N = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double w = weights ? (double)weights[i] : 1.0;
        if (labels[i]) P += w;
        else N += w;
    }
    if (!(P > 0) || !(N > 0)) {
        free(keys);
        free(idx);
        return FK_EBADARG;
    }
    double neg_below = 0.0, pos_below = 0.0, area = 0.0, d = 0.0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        double gp = 0.0, gn = 0.0;
        while (j < n && keys[j] == keys[i]) {
            const uint32_t o = idx[j];
            const double w = weights ? (double)weights[o] : 1.0;
            if (labels[o]) gp += w;
            else gn += w;
            ++j;
        }
        area += gp * (neg_below + 0.5 * gn);
        neg_below += gn;
        pos_below += gp;
        const double diff = fabs(pos_below / P - neg_below / N);
        d = diff > d ? diff : d;
        i = j;
    }
    *auc = area / (P * N);
    *ks = d;
    free(keys);
    free(idx);
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
