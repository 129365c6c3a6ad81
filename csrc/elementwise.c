/* erf, element-wise (see fastkeras/elementwise.h). One body per dtype. */
#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fastkeras/elementwise.h"

#define FK_EW_GRAIN 32768 /* below this, one thread */

#define FK_EW_DEFINE(SUF, T, ERF)                                                   \
    int fk_erf_##SUF(int64_t n, const T *x, T *out, int n_threads) {                             \
        if (n < 0) return FK_EBADSHAPE;                                                          \
        if (n > 0 && (!x || !out)) return FK_ENULL;                                              \
        const int nt = n < FK_EW_GRAIN || n_threads < 1 ? 1 : n_threads;                        \
        _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")                \
        for (int64_t i = 0; i < n; ++i) out[i] = ERF(x[i]);                                      \
        return FK_OK;                                                                            \
    }

FK_EW_DEFINE(f32, float, erff)
FK_EW_DEFINE(f64, double, erf)
