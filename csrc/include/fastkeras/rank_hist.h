/* fastkeras C core: score histograms for AUC / KS / thresholded confusion counts.
 *
 * Binned mode (one pass, no sort, memory independent of n): scores are
 * bucketed against tf.keras' evenly spaced thresholds t_0 = -1e-7, t_i =
 * i / (T - 1) (0 < i < T - 1), t_{T-1} = 1 + 1e-7; bucket k in [0, T] is the
 * number of thresholds strictly below the score, so the count of scores above
 * threshold i is the sum of buckets k > i. pos/neg ([T + 1] doubles) receive
 * the (weighted) counts of positive and negative labels, added to what is
 * there, so histograms of several batches (or processes) simply add.
 *
 * Exact mode: a stable radix sort of the scores' order-preserving bit
 * patterns (no comparison sort), then one scan: ROC AUC with ties counted as
 * one half (Mann-Whitney) and the two-sample KS statistic.
 *
 * labels are bytes 0/1 (checked); weights are >= 0 or NULL. Results do not
 * depend on n_threads (fixed slots for partial sums, stable sorts). */
#ifndef FASTKERAS_RANK_HIST_H
#define FASTKERAS_RANK_HIST_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

int fk_rank_hist_f32(int64_t n, const float *scores, const uint8_t *labels, const float *weights,
                     int64_t num_thresholds, double *pos, double *neg, int n_threads);
int fk_rank_hist_f64(int64_t n, const double *scores, const uint8_t *labels,
                     const double *weights, int64_t num_thresholds, double *pos, double *neg,
                     int n_threads);

/* auc: P(score_pos > score_neg) + 0.5 P(equal), weighted; ks: sup |F_pos - F_neg|.
 * FK_ELABEL for a label outside {0, 1}; FK_EBADARG for a NaN score, a weight that is
 * not finite and >= 0, or one class with zero total weight (AUC undefined). */
int fk_rank_exact_f32(int64_t n, const float *scores, const uint8_t *labels, const float *weights,
                      double *auc, double *ks, int n_threads);
int fk_rank_exact_f64(int64_t n, const double *scores, const uint8_t *labels,
                      const double *weights, double *auc, double *ks, int n_threads);

#ifdef __cplusplus
}
#endif
#endif
