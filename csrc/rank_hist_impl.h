/* Body of the histogram and exact-rank kernels, included per dtype (T, SUF, KEYFN). */

#define FK_CAT_(a, b) a##_##b
#define FK_CAT(a, b) FK_CAT_(a, b)
#define FK_FN(name) FK_CAT(name, SUF)

#define FK_BUCKET FK_CAT(fk_rank_bucket, SUF) /* rank_bucket.h */

/* Histogram cell (2 * bucket + label) of a block of elements, or -1 if some score
 * is outside (0, 1] (then the caller uses FK_BUCKET per element). Branch-free,
 * so it vectorises; compiled per ISA (FK_CLONES). flags as in fk_rank_hist. */
FK_CLONES static int FK_FN(cells_block)(int64_t n, const T *restrict s, const uint8_t *restrict y,
                                        T scale, int32_t *restrict cell, int *flags) {
    int out = 0, f = 0;
    for (int64_t i = 0; i < n; ++i) {
        const T v = s[i];
        const T q = v * scale;
        out |= !(q > 0) | (q > scale); /* also NaN */
        /* clamped into [0, scale] (NaN -> 0) before the integer conversion: converting an
         * out-of-range float is undefined; such blocks are discarded anyway */
        const T q0 = q > 0 ? q : (T)0;
        const T qc = q0 < scale ? q0 : scale;
        const int32_t k = (int32_t)qc;
        const int32_t kk = k - ((T)k == qc);
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
    /* per slot, weighted: 4 interleaved (bucket, label) histograms, so that runs of
     * equal buckets do not serialise on one counter; unweighted: one (the integer
     * sub-histograms are summed into it) */
    const int R = weights ? 4 : 1;
    double *part = (double *)calloc((size_t)(S * R * 2 * nb), sizeof(double));
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
        double *h = part + s * R * 2 * nb;
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
                    h[(i & 3) * 2 * nb + 2 * FK_BUCKET(v, num_thresholds, scale) + (y & 1)] +=
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
                            cell[i] = (int32_t)(2 * FK_BUCKET(v, num_thresholds, scale) +
                                                (labels[b0 + i] & 1));
                        }
                    }
                    int64_t i = 0;
                    /* While counting (bound by the load-add-store chain, about one
                     * element per cycle), prefetch the block after next: the memory
                     * reads overlap the counting instead of following it. Measured on
                     * the 2-core VM: equal when memory is fast, 1.3-1.5x faster
                     * when its latency is high. */
                    const int64_t ahead = b0 + FK_HIST_PREFETCH * FK_HIST_BLOCK;
                    if (ahead + FK_HIST_BLOCK <= hi) {
                        const char *ps = (const char *)(scores + ahead);
                        const char *py = (const char *)(labels + ahead);
                        for (; i + 16 <= m; i += 16) {
                            __builtin_prefetch(ps + i * (int64_t)sizeof(T));
                            if (sizeof(T) == 8) __builtin_prefetch(ps + i * 8 + 64);
                            if (!(i & 63)) __builtin_prefetch(py + i);
                            for (int j = 0; j < 16; j += 4) {
                                ++c0[cell[i + j]];
                                ++c1[cell[i + j + 1]];
                                ++c2[cell[i + j + 2]];
                                ++c3[cell[i + j + 3]];
                            }
                        }
                    }
                    for (; i + 4 <= m; i += 4) {
                        ++c0[cell[i]];
                        ++c1[cell[i + 1]];
                        ++c2[cell[i + 2]];
                        ++c3[cell[i + 3]];
                    }
                    for (; i < m; ++i) ++c0[cell[i]];
                }
                for (int64_t b = 0; b < 2 * nb; ++b)
                    h[b] += (double)((uint64_t)c0[b] + c1[b] + c2[b] + c3[b]);
            }
            bad |= flags;
        }
        free(cnt);
    }
    if (!bad)
        for (int64_t s = 0; s < S; ++s)
            for (int r = 0; r < R; ++r) {
                const double *h = part + (s * R + r) * 2 * nb;
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
    KEY_T *keys = (KEY_T *)fk_big_alloc((size_t)n * sizeof(KEY_T));
    uint32_t *idx = (uint32_t *)fk_big_alloc((size_t)n * sizeof(uint32_t));
    if (!keys || !idx) {
        fk_big_free(keys);
        fk_big_free(idx);
        return FK_ENOMEM;
    }
    /* one pass over FK_SCAN_BLOCKS fixed blocks of the input: keys, payload (the sample
     * index, with the label in bit 31 so the scan after the sort reads labels
     * sequentially), the label / NaN checks, and each block's positive and negative
     * totals (summed in block order below: the same totals whatever n_threads) */
    int flags = 0;
    double ip[FK_SCAN_BLOCKS], in_[FK_SCAN_BLOCKS];
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(ntk) if (ntk > 1) reduction(| : flags)
#endif
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        const int64_t lo = n * b / FK_SCAN_BLOCKS, hi = n * (b + 1) / FK_SCAN_BLOCKS;
        double sp = 0.0, sw = 0.0;
        int64_t cp = 0;
        int f = 0;
        for (int64_t i = lo; i < hi; ++i) {
            const T v = scores[i];
            const uint8_t y = labels[i];
            f |= (y > 1) | ((v != v) << 1);
            keys[i] = KEYFN(v);
            idx[i] = (uint32_t)i | ((uint32_t)(y & 1) << 31);
            cp += y & 1;
        }
        if (weights)
            for (int64_t i = lo; i < hi; ++i) {
                const double w = (double)weights[i];
                f |= (!(w >= 0.0) | (w > 1.7976931348623157e308)) << 2; /* < 0, NaN, inf */
                sp += (labels[i] & 1) ? w : 0.0;
                sw += w;
            }
        ip[b] = weights ? sp : (double)cp;
        in_[b] = weights ? sw - sp : (double)(hi - lo - cp);
        flags |= f;
    }
    if (flags) {
        fk_big_free(keys);
        fk_big_free(idx);
        /* a label outside {0,1}; else a NaN score or a weight that is not finite and >= 0 */
        return (flags & 1) ? FK_ELABEL : FK_EBADARG;
    }
    double P = 0.0, N = 0.0;
    for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
        P += ip[b];
        N += in_[b];
    }
    if (!(P > 0) || !(N > 0)) {
        fk_big_free(keys);
        fk_big_free(idx);
        return FK_EBADARG;
    }
    FK_PROF("checks+keys");
    int st = RADIX_SORT(n, keys, idx, n_threads);
    FK_PROF("sort");
    if (st != FK_OK) {
        fk_big_free(keys);
        fk_big_free(idx);
        return st;
    }
    /* The scan runs over FK_SCAN_BLOCKS fixed blocks of the sorted keys, each cut at
     * a group boundary (equal scores stay together), in parallel; the blocks' results
     * are combined in block order. A fixed partition keeps the result independent of
     * n_threads. */
    int64_t cut[FK_SCAN_BLOCKS + 1];
    cut[0] = 0;
    for (int b = 1; b < FK_SCAN_BLOCKS; ++b) {
        int64_t c = n * b / FK_SCAN_BLOCKS;
        if (c < cut[b - 1]) c = cut[b - 1];
        while (c > 0 && c < n && keys[c] == keys[c - 1]) ++c;
        cut[b] = c;
    }
    cut[FK_SCAN_BLOCKS] = n;
    /* One pass per block, relative to the block's start: its positive / negative
     * totals, its area with the negatives below counted from the block's start, and the
     * extremes of (positives / P - negatives / N) at its group ends. The sequential
     * combination below adds the offsets. Branch-free over groups: an element closes
     * its group when the next key differs (e = 1.0), and the per-group updates are
     * multiplied by e (exact: e is 0 or 1). */
    const int nts = n >= FK_HIST_GRAIN && n_threads > 1 ? n_threads : 1;
    double area = 0.0, d = 0.0;
    if (!weights) {
        /* Unweighted: integer counts, exact. Twice the area (ties count one half) and
         * lp * N - ln * P (the CDF gap times P * N) fit in int64 for n < 2^31. */
        const int64_t Pi = (int64_t)P, Ni = (int64_t)N;
        int64_t bp[FK_SCAN_BLOCKS], bn[FK_SCAN_BLOCKS], barea[FK_SCAN_BLOCKS];
        int64_t bmax[FK_SCAN_BLOCKS], bmin[FK_SCAN_BLOCKS];
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
        for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
            int64_t lp = 0, ln = 0, ar = 0, gp = 0, gn = 0, mx = 0, mn = 0;
            const int64_t lo = cut[b], hi = cut[b + 1];
            for (int64_t j = lo; j < hi; ++j) {
                const int64_t lab = (int64_t)(idx[j] >> 31);
                gp += lab;
                gn += 1 - lab;
                /* set-and-or, not ||: a branch here mispredicts on every tie */
                const KEY_T kn = keys[j + 1 < hi ? j + 1 : j];
                const int64_t m = -(int64_t)((j + 1 == hi) | (kn != keys[j]));
                ar += (gp * (2 * ln + gn)) & m;
                ln += gn & m;
                lp += gp & m;
                const int64_t rel = lp * Ni - ln * Pi;
                mx = rel > mx ? rel : mx;
                mn = rel < mn ? rel : mn;
                gp &= ~m;
                gn &= ~m;
            }
            bp[b] = lp;
            bn[b] = ln;
            barea[b] = ar;
            bmax[b] = mx;
            bmin[b] = mn;
        }
        int64_t ar = 0, di = 0, pb = 0, nb = 0;
        for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
            ar += barea[b] + 2 * bp[b] * nb;
            const int64_t c = pb * Ni - nb * Pi;
            const int64_t h = llabs(c + bmax[b]), l = llabs(c + bmin[b]);
            di = h > di ? h : di;
            di = l > di ? l : di;
            pb += bp[b];
            nb += bn[b];
        }
        area = 0.5 * (double)ar;
        d = (double)di / (P * N);
    } else {
        /* Weighted: the same in double, the per-group updates multiplied by e (0 or 1,
         * so exact); branch-free. */
        /* The weights in sorted order first: a loop of independent gathers keeps many
         * cache misses in flight, which the scan's dependency chain would not. */
        T *ws = (T *)fk_big_alloc((size_t)n * sizeof(T));
        if (!ws) {
            fk_big_free(keys);
            fk_big_free(idx);
            return FK_ENOMEM;
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
        for (int64_t j = 0; j < n; ++j) ws[j] = weights[idx[j] & 0x7fffffffu];
        double bp[FK_SCAN_BLOCKS], bn[FK_SCAN_BLOCKS], barea[FK_SCAN_BLOCKS];
        double bmax[FK_SCAN_BLOCKS], bmin[FK_SCAN_BLOCKS];
        const double inv_p = 1.0 / P, inv_n = 1.0 / N;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nts) if (nts > 1)
#endif
        for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
            double lp = 0.0, ln = 0.0, ar = 0.0, gp = 0.0, gn = 0.0, mx = 0.0, mn = 0.0;
            const int64_t lo = cut[b], hi = cut[b + 1];
            for (int64_t j = lo; j < hi; ++j) {
                const double w = (double)ws[j];
                const double lab = (double)(idx[j] >> 31);
                gp += w * lab;
                gn += w - w * lab;
                const KEY_T kn = keys[j + 1 < hi ? j + 1 : j];
                const double e = (double)((j + 1 == hi) | (kn != keys[j]));
                ar += e * (gp * (ln + 0.5 * gn));
                ln += e * gn;
                lp += e * gp;
                const double rel = lp * inv_p - ln * inv_n;
                mx = rel > mx ? rel : mx;
                mn = rel < mn ? rel : mn;
                gp -= e * gp;
                gn -= e * gn;
            }
            bp[b] = lp;
            bn[b] = ln;
            barea[b] = ar;
            bmax[b] = mx;
            bmin[b] = mn;
        }
        double pb = 0.0, nb = 0.0;
        for (int b = 0; b < FK_SCAN_BLOCKS; ++b) {
            area += barea[b] + bp[b] * nb;
            const double c = pb * inv_p - nb * inv_n;
            const double h = fabs(c + bmax[b]), l = fabs(c + bmin[b]);
            d = h > d ? h : d;
            d = l > d ? l : d;
            pb += bp[b];
            nb += bn[b];
        }
        fk_big_free(ws);
    }
    FK_PROF("scan");
    *auc = area / (P * N);
    *ks = d;
    fk_big_free(keys);
    fk_big_free(idx);
    return FK_OK;
}

#undef FK_FN
#undef FK_BUCKET
#undef FK_CAT
#undef FK_CAT_
