/* Body of the histogram and exact-rank kernels, included per dtype (T, SUF, KEYFN). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

/* Number of tf.keras thresholds strictly below s (see rank_hist.h). */
static inline int64_t FK_FN(bucket)(T s, int64_t T_, T scale) {
    const T q = s * scale; /* scale = T - 1 */
    if (q > 0 && q <= scale) { /* 0 < s <= 1, the common case: ceil(q) - 1 interior thresholds */
        const int64_t k = (int64_t)q;
        return 1 + k - ((T)k == q);
    }
    const T eps = (T)1e-7;
    if (!(s > -eps)) return 0;      /* also NaN (flagged by the caller) */
    if (s > (T)1 + eps) return T_;
    if (s > (T)1) return T_ - 1;
    return 1;                        /* -eps < s <= 0 */
}

/* Histogram cell (2 * bucket + label) of a block of elements, or -1 if some score
 * is outside (0, 1] (then the caller uses FK_FN(bucket) per element). Branch-free,
 * so it vectorises; compiled per ISA (FK_CLONES). flags as in fk_rank_hist. */
FK_CLONES static int FK_FN(cells_block)(int64_t n, const T *restrict s, const uint8_t *restrict y,
                                        T scale, int32_t *restrict cell, int *flags) {
    int out = 0, f = 0;
    for (int64_t i = 0; i < n; ++i) {
        const T v = s[i];
        const T q = v * scale;
        out |= !(q > 0) | (q > scale); /* also NaN */
        const int32_t k = (int32_t)q;
        const int32_t kk = k - ((T)k == q);
        f |= (y[i] > 1);
        cell[i] = 2 * (1 + kk) + (y[i] & 1);
    }
    *flags |= f;
    return out ? -1 : 0;
}

int FK_FN(fk_rank_hist)(int64_t n, const T *scores, const uint8_t *labels, const T *weights,
                        int64_t num_thresholds, double *pos, double *neg, int n_threads) {
    if (n < 0 || num_thresholds < 2 || num_thresholds > (1 << 24)) return FK_EBADSHAPE;
    if (!pos || !neg || (n > 0 && (!scores || !labels))) return FK_ENULL;
    if (n == 0) return FK_OK;
    const int64_t nb = num_thresholds + 1;
    const int64_t S = FK_HIST_SLOTS;
    /* per slot: 4 interleaved (bucket, label) histograms, so that runs of equal
     * buckets do not serialise on one counter */
    double *part = (double *)calloc((size_t)(S * 4 * 2 * nb), sizeof(double));
    if (!part) return FK_ENOMEM;
    const int64_t chunks = (n + FK_HIST_CHUNK - 1) / FK_HIST_CHUNK;
    const T scale = (T)(num_thresholds - 1);
    int nt = n_threads < 1 ? 1 : n_threads;
    if (n < FK_HIST_GRAIN) nt = 1;
    int bad = 0; /* 1: a label outside {0, 1}; 2: a NaN score */
    /* slot s sums chunks s, s + S, ... in order: the same sums whatever the threads */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1) reduction(| : bad)
#endif
    for (int64_t s = 0; s < S; ++s) { /* slots are independent: any schedule gives the same sums */
        double *h = part + s * 4 * 2 * nb;
        uint32_t *cnt = weights ? (uint32_t *)0 : (uint32_t *)malloc((size_t)(8 * nb) * sizeof(uint32_t));
        if (!weights && !cnt) {
            bad |= 4;
            continue;
        }
        for (int64_t c = s; c < chunks; c += S) {
            const int64_t lo = c * FK_HIST_CHUNK;
            const int64_t hi = lo + FK_HIST_CHUNK < n ? lo + FK_HIST_CHUNK : n;
            int flags = 0;
            if (weights) {
                for (int64_t i = lo; i < hi; ++i) {
                    const T v = scores[i];
                    const uint8_t y = labels[i];
                    flags |= (y > 1) | ((v != v) << 1);
                    h[(i & 3) * 2 * nb + 2 * FK_FN(bucket)(v, num_thresholds, scale) + (y & 1)] +=
                        (double)weights[i];
                }
            } else {
                /* unrolled by 4 over 4 integer sub-histograms (independent read-modify-
                 * writes; a chunk holds < 2^32 elements), flushed to the slot's doubles */
                uint32_t *c0 = cnt, *c1 = cnt + 2 * nb, *c2 = cnt + 4 * nb, *c3 = cnt + 6 * nb;
                memset(cnt, 0, (size_t)(8 * nb) * sizeof(uint32_t));
                int32_t cell[FK_HIST_BLOCK];
                for (int64_t b0 = lo; b0 < hi; b0 += FK_HIST_BLOCK) {
                    const int64_t m = hi - b0 < FK_HIST_BLOCK ? hi - b0 : FK_HIST_BLOCK;
                    if (FK_FN(cells_block)(m, scores + b0, labels + b0, scale, cell, &flags) < 0) {
                        /* some score outside (0, 1] (or NaN): exact rule per element */
                        for (int64_t i = 0; i < m; ++i) {
                            const T v = scores[b0 + i];
                            flags |= (v != v) << 1;
                            cell[i] = (int32_t)(2 * FK_FN(bucket)(v, num_thresholds, scale) +
                                                (labels[b0 + i] & 1));
                        }
                    }
                    int64_t i = 0;
                    for (; i + 4 <= m; i += 4) {
                        ++c0[cell[i]];
                        ++c1[cell[i + 1]];
                        ++c2[cell[i + 2]];
                        ++c3[cell[i + 3]];
                    }
                    for (; i < m; ++i) ++c0[cell[i]];
                }
                for (int64_t b = 0; b < 8 * nb; ++b) h[b] += (double)cnt[b];
            }
            bad |= flags;
        }
        free(cnt);
    }
    if (!bad)
        for (int64_t s = 0; s < S; ++s)
            for (int r = 0; r < 4; ++r) {
                const double *h = part + (s * 4 + r) * 2 * nb;
                for (int64_t k = 0; k < nb; ++k) {
                    neg[k] += h[2 * k];
                    pos[k] += h[2 * k + 1];
                }
            }
    free(part);
    if (bad & 4) return FK_ENOMEM;
    return (bad & 1) ? FK_ELABEL : (bad ? FK_EBADARG : FK_OK);
}

int FK_FN(fk_rank_exact)(int64_t n, const T *scores, const uint8_t *labels, const T *weights,
                         double *auc, double *ks, int n_threads) {
    if (n < 0 || n > (int64_t)INT32_MAX) return FK_EBADSHAPE; /* 31-bit indices */
    if (!auc || !ks || (n > 0 && (!scores || !labels))) return FK_ENULL;
    if (n == 0) return FK_EBADARG;
    FK_PROF_START();
    const int ntk = n >= FK_HIST_GRAIN && n_threads > 1 ? n_threads : 1;
    KEY_T *keys = (KEY_T *)malloc((size_t)n * sizeof(KEY_T));
    uint32_t *idx = (uint32_t *)malloc((size_t)n * sizeof(uint32_t));
    if (!keys || !idx) {
        free(keys);
        free(idx);
        return FK_ENOMEM;
    }
    /* one pass: keys, payload (the sample index, with the label in bit 31 so the scan
     * after the sort reads labels sequentially), and the label / NaN checks */
    int flags = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(ntk) if (ntk > 1) reduction(| : flags)
#endif
    for (int64_t i = 0; i < n; ++i) {
        const T v = scores[i];
        const uint8_t y = labels[i];
        flags |= (y > 1) | ((v != v) << 1);
        keys[i] = KEYFN(v);
        idx[i] = (uint32_t)i | ((uint32_t)(y & 1) << 31);
    }
    if (flags) {
        free(keys);
        free(idx);
        return (flags & 1) ? FK_ELABEL : FK_EBADARG; /* a label outside {0,1}, or a NaN */
    }
    FK_PROF("checks+keys");
    int st = RADIX_SORT(n, keys, idx, n_threads);
    FK_PROF("sort");
    if (st != FK_OK) {
        free(keys);
        free(idx);
        return st;
    }
    /* The scan runs over FK_SCAN_BLOCKS fixed blocks of the sorted keys, each cut at
     * a group boundary (equal scores stay together): block totals in parallel, then
     * each block's area and largest CDF gap from its starting offsets, summed in block
     * order. A fixed partition keeps the result independent of n_threads. */
    int64_t cut[FK_SCAN_BLOCKS + 1];
    cut[0] = 0;
    for (int b = 1; b < FK_SCAN_BLOCKS; ++b) {
        int64_t c = n * b / FK_SCAN_BLOCKS;
        if (c < cut[b - 1]) c = cut[b - 1];
        while (c > 0 && c < n && keys[c] == keys[c - 1]) ++c;
        cut[b] = c;
    }
    cut[FK_SCAN_BLOCKS] = n;
    double bp[FK_SCAN_BLOCKS], bn[FK_SCAN_BLOCKS], barea[FK_SCAN_BLOCKS], bd[FK_SCAN_BLOCKS];
    const int nts = n >= FK_HIST_GRAIN && n_threads > 1 ? n_threads : 1;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        double sp = 0.0, sn = 0.0;
        for (int64_t j = cut[b]; j < cut[b + 1]; ++j) {
            const uint32_t o = idx[j];
            const double w = weights ? (double)weights[o & 0x7fffffffu] : 1.0;
            const double lab = (double)(o >> 31);
            sp += w * lab;
            sn += w - w * lab;
        }
        bp[b] = sp;
        bn[b] = sn;
    }
    double P = 0.0, N = 0.0;
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        P += bp[b];
        N += bn[b];
    }
    if (!(P > 0) || !(N > 0)) {
        free(keys);
        free(idx);
        return FK_EBADARG;
    }
    const double inv_p = 1.0 / P, inv_n = 1.0 / N;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        double pos_below = 0.0, neg_below = 0.0, area = 0.0, d = 0.0;
        for (int c = 0; c < b; ++c) {
            pos_below += bp[c];
            neg_below += bn[c];
        }
        for (int64_t i = cut[b]; i < cut[b + 1];) {
            int64_t j = i;
            double gp = 0.0, gn = 0.0;
            while (j < cut[b + 1] && keys[j] == keys[i]) {
                const uint32_t o = idx[j];
                const double w = weights ? (double)weights[o & 0x7fffffffu] : 1.0;
                const double lab = (double)(o >> 31); /* branch-free: labels are random */
                gp += w * lab;
                gn += w - w * lab;
                ++j;
            }
            area += gp * (neg_below + 0.5 * gn);
            neg_below += gn;
            pos_below += gp;
            const double diff = fabs(pos_below * inv_p - neg_below * inv_n);
            d = diff > d ? diff : d;
            i = j;
        }
        barea[b] = area;
        bd[b] = d;
    }
    double area = 0.0, d = 0.0;
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        area += barea[b];
        d = bd[b] > d ? bd[b] : d;
    }
    FK_PROF("scan");
    *auc = area / (P * N);
    *ks = d;
    free(keys);
    free(idx);
    return FK_OK;
}

#undef FK_FN
#undef FK_CAT
#undef FK_CAT_
