/* Internal: the BLAS entry points the kernels use (CBLAS, 32-bit ints).
 * FK_BLAS_PREFIX is "scipy_" for the scipy-openblas32 wheel. */
#ifndef FASTKERAS_BLAS_H
#define FASTKERAS_BLAS_H

#ifndef FK_BLAS_PREFIX
#define FK_BLAS_PREFIX
#endif
#define FK_BLAS_CAT_(a, b) a##b
#define FK_BLAS_CAT(a, b) FK_BLAS_CAT_(a, b)
#define FK_BLAS(name) FK_BLAS_CAT(FK_BLAS_PREFIX, name)

enum { FK_CblasRowMajor = 101, FK_CblasNoTrans = 111, FK_CblasTrans = 112 };

void FK_BLAS(cblas_sgemm)(int order, int ta, int tb, int m, int n, int k, float alpha,
                          const float *a, int lda, const float *b, int ldb, float beta, float *c,
                          int ldc);
void FK_BLAS(cblas_dgemm)(int order, int ta, int tb, int m, int n, int k, double alpha,
                          const double *a, int lda, const double *b, int ldb, double beta,
                          double *c, int ldc);

/* Makes BLAS single-threaded once per process: our OpenMP loops call it from
 * every worker, and a BLAS pool inside each would oversubscribe the cores. */
void fk_blas_init(void);

#endif
