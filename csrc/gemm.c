/* Matrix products on fastkeras' BLAS with fastkeras' thread count (gemm.h). */
#include <limits.h>
#include <string.h>

#include "blas.h"
#include "workers.h"
#include "fastkeras/gemm.h"

/* About 8 MFLOP per piece and per thread (4 MFLOP pieces cost a 128x784 @ 784x128 product
 * 40% more than one call on one thread here, 8 MFLOP ones ~12%): a piece is ~80 us or more,
 * far above a shared counter's cost, and re-packing the other operand once per piece
 * stays a small fraction. Pieces hold multiples of 16 rows (the BLAS micro-tiles). */
#define FK_GEMM_PIECE_FLOPS 8e6
#define FK_GEMM_PIECE_ALIGN 16
#define FK_GEMM_MAX_PIECES 64

static int64_t piece_len(int64_t m, int64_t n, int64_t k) {
    int64_t d = m >= n ? m : n;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    int64_t p = (int64_t)(flops / FK_GEMM_PIECE_FLOPS);
    if (p > d / FK_GEMM_PIECE_ALIGN) p = d / FK_GEMM_PIECE_ALIGN;
    if (p > FK_GEMM_MAX_PIECES) p = FK_GEMM_MAX_PIECES;
    if (p <= 1) return d < 1 ? 1 : d;
    int64_t len = (d + p - 1) / p;
    return (len + FK_GEMM_PIECE_ALIGN - 1) / FK_GEMM_PIECE_ALIGN * FK_GEMM_PIECE_ALIGN;
}

int64_t fk_gemm_pieces(int64_t m, int64_t n, int64_t k) {
    if (m <= 0 || n <= 0) return 0;
    int64_t d = m >= n ? m : n, len = piece_len(m, n, k);
    return (d + len - 1) / len;
}

int fk_gemm_threads(int64_t m, int64_t n, int64_t k, int64_t batch, int n_threads) {
    int64_t items = fk_gemm_pieces(m, n, k) * (batch < 0 ? 0 : batch);
    double flops = 2.0 * (double)m * (double)n * (double)k * (double)batch;
    int64_t t = (int64_t)(flops / FK_GEMM_PIECE_FLOPS);
    if (t > items) t = items;
    if (t > n_threads) t = n_threads;
    return t < 1 ? 1 : (int)t;
}

#if defined(FK_BLAS_OPENBLAS)
int FK_BLAS(openblas_get_num_threads)(void);
#endif

int fk_blas_pool_threads(void) {
#if defined(FK_BLAS_OPENBLAS)
    return FK_BLAS(openblas_get_num_threads)();
#else
    return -1;
#endif
}

static int check_args(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                      int64_t lda, const void *b, int64_t ldb, const void *c, int64_t ldc,
                      int64_t batch, const int64_t *a_off, const int64_t *b_off,
                      const int64_t *c_off) {
    if (m < 0 || n < 0 || k < 0 || batch < 0) return FK_EBADSHAPE;
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX) return FK_EBADSHAPE;
    if (lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) return FK_EBADSHAPE;
    int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) ||
        ldc < (n > 1 ? n : 1))
        return FK_EBADSHAPE;
    if (m == 0 || n == 0 || batch == 0) return FK_OK;
    if (!c || (k > 0 && (!a || !b))) return FK_ENULL;
    if (batch > 1 && (!a_off || !b_off || !c_off)) return FK_ENULL;
    if (a_off || b_off || c_off) {
        if (!a_off || !b_off || !c_off) return FK_ENULL;
        for (int64_t i = 0; i < batch; i++)
            if (a_off[i] < 0 || b_off[i] < 0 || c_off[i] < 0) return FK_EBADARG;
    }
    return FK_OK;
}

/* One product's arguments, shared by the pieces (workers.h runs them). */
typedef struct {
    int ta, tb, by_rows;
    int64_t m, n, k, lda, ldb, ldc, len, d, pieces;
    const void *a, *b;
    void *c;
    const int64_t *a_off, *b_off, *c_off;
} gemm_job;

/* Piece i: rows (or columns) [lo, hi) of product i / pieces. */
#define FK_GEMM_BODY(T, SUFFIX, GEMM)                                                         \
    static void piece_##SUFFIX(void *ctx, int64_t i, int slot) {                             \
        const gemm_job *j = (const gemm_job *)ctx;                                            \
        (void)slot;                                                                           \
        int64_t bi = i / j->pieces, p = i % j->pieces;                                        \
        int64_t lo = p * j->len, hi = lo + j->len < j->d ? lo + j->len : j->d;                \
        int64_t r0 = j->by_rows ? lo : 0, r1 = j->by_rows ? hi : j->m;                        \
        int64_t c0 = j->by_rows ? 0 : lo, c1 = j->by_rows ? j->n : hi;                        \
        T *cp = (T *)j->c + (j->c_off ? j->c_off[bi] : 0) + r0 * j->ldc + c0;                 \
        if (j->k == 0) {                                                                      \
            for (int64_t r = r0; r < r1; r++, cp += j->ldc)                                   \
                memset(cp, 0, (size_t)(c1 - c0) * sizeof(T));                                 \
            return;                                                                           \
        }                                                                                     \
        const T *a = (const T *)j->a + (j->a_off ? j->a_off[bi] : 0);                         \
        const T *b = (const T *)j->b + (j->b_off ? j->b_off[bi] : 0);                         \
        const T *ap = j->ta ? a + r0 : a + r0 * j->lda;                                       \
        const T *bp = j->tb ? b + c0 * j->ldb : b + c0;                                       \
        GEMM(FK_CblasRowMajor, j->ta ? FK_CblasTrans : FK_CblasNoTrans,                       \
             j->tb ? FK_CblasTrans : FK_CblasNoTrans, (int)(r1 - r0), (int)(c1 - c0),         \
             (int)j->k, 1, ap, (int)j->lda, bp, (int)j->ldb, 0, cp, (int)j->ldc);             \
    }                                                                                         \
                                                                                              \
    int fk_gemm_##SUFFIX(int ta, int tb, int64_t m, int64_t n, int64_t k, const T *a,          \
                         int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc,             \
                         int64_t batch, const int64_t *a_off, const int64_t *b_off,           \
                         const int64_t *c_off, int n_threads) {                               \
        int st = check_args(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, batch, a_off, b_off,     \
                            c_off);                                                           \
        if (st != FK_OK || m == 0 || n == 0 || batch == 0) return st;                         \
        fk_blas_init();                                                                       \
        gemm_job j;                                                                           \
        j.ta = ta != 0;                                                                       \
        j.tb = tb != 0;                                                                       \
        j.by_rows = m >= n;                                                                   \
        j.m = m;                                                                              \
        j.n = n;                                                                              \
        j.k = k;                                                                              \
        j.lda = lda;                                                                          \
        j.ldb = ldb;                                                                          \
        j.ldc = ldc;                                                                          \
        j.len = piece_len(m, n, k);                                                           \
        j.d = j.by_rows ? m : n;                                                              \
        j.pieces = (j.d + j.len - 1) / j.len;                                                 \
        j.a = a;                                                                              \
        j.b = b;                                                                              \
        j.c = c;                                                                              \
        j.a_off = a_off;                                                                      \
        j.b_off = b_off;                                                                      \
        j.c_off = c_off;                                                                      \
        fk_workers_run(fk_gemm_threads(m, n, k, batch, n_threads), j.pieces * batch,          \
                       piece_##SUFFIX, &j);                                                   \
        return FK_OK;                                                                         \
    }

FK_GEMM_BODY(float, f32, FK_BLAS(cblas_sgemm))
FK_GEMM_BODY(double, f64, FK_BLAS(cblas_dgemm))
