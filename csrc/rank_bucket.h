/* The bucket of a score against tf.keras' evenly spaced thresholds (see rank_hist.h):
 * the number of thresholds strictly below s. Shared by the CPU histogram
 * (rank_hist_impl.h) and the CUDA one (cuda/rank_hist.cu), so both bin identically. */
#ifndef FASTKERAS_RANK_BUCKET_H
#define FASTKERAS_RANK_BUCKET_H

#include <stdint.h>

#ifdef __CUDACC__
#define FK_HD __host__ __device__
#else
#define FK_HD
#endif

/* scale = T - 1; NaN goes to bucket 0 (the callers flag it). */
#define FK_RANK_BUCKET(SUF, TYPE)                                                     \
    static inline FK_HD int64_t fk_rank_bucket_##SUF(TYPE s, int64_t T_, TYPE scale) { \
        const TYPE q = s * scale;                                                     \
        if (q > 0 && q <= scale) { /* 0 < s <= 1: ceil(q) - 1 interior thresholds */  \
            const int64_t k = (int64_t)q;                                             \
            return 1 + k - ((TYPE)k == q);                                            \
        }                                                                             \
        const TYPE eps = (TYPE)1e-7;                                                  \
        if (!(s > -eps)) return 0;                                                    \
        if (s > (TYPE)1 + eps) return T_;                                             \
        if (s > (TYPE)1) return T_ - 1;                                               \
        return 1; /* -eps < s <= 0 */                                                 \
    }
FK_RANK_BUCKET(f32, float)
FK_RANK_BUCKET(f64, double)
#undef FK_RANK_BUCKET

#endif
