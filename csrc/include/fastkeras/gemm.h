/* fastkeras C core: matrix products C = op(A) op(B) on the BLAS fastkeras links
 * (scipy-openblas32), with fastkeras' own thread count.
 *
 * op(A) is (m, k), op(B) is (k, n), C is (m, n), all row-major with leading
 * dimensions lda, ldb, ldc (in elements). trans_a / trans_b non-zero: A is stored
 * as its transpose, a (k, m) row-major matrix (likewise B as (n, k)). C is
 * overwritten (beta = 0); k == 0 gives zeros.
 *
 * Batches: `batch` products; a_off / b_off / c_off hold each product's element
 * offset from a / b / c (NULL for batch == 1: offset 0). Broadcasting is an offset
 * repeated.
 *
 * Threads: every product is cut into pieces of whole rows (or whole columns when n
 * exceeds m), the cut fixed by (m, n, k) alone; each piece is one single-threaded
 * BLAS call. Up to n_threads threads (about one per 8 MFLOP of work: the caller and
 * fastkeras' own workers, csrc/workers.h, not OpenMP) take the
 * pieces one at a time from a shared counter, so a thread slowed by a busy core
 * takes fewer pieces instead of holding the others back, and the numbers are the
 * same for every thread count: each element is computed by the same call whatever
 * thread makes it. */
#ifndef FASTKERAS_GEMM_H
#define FASTKERAS_GEMM_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

int fk_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, int64_t batch,
                const int64_t *a_off, const int64_t *b_off, const int64_t *c_off, int n_threads);
int fk_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const double *a,
                int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc, int64_t batch,
                const int64_t *a_off, const int64_t *b_off, const int64_t *c_off, int n_threads);

/* The number of pieces one (m, n, k) product is cut into, and the threads a call of
 * `batch` such products would start with n_threads allowed (for tests and tuning). */
int64_t fk_gemm_pieces(int64_t m, int64_t n, int64_t k);
int fk_gemm_threads(int64_t m, int64_t n, int64_t k, int64_t batch, int n_threads);

/* The thread count of the linked BLAS' own pool (1 once any kernel ran: fastkeras
 * makes it single-threaded); -1 where the BLAS does not say. */
int fk_blas_pool_threads(void);

#ifdef __cplusplus
}
#endif
#endif
