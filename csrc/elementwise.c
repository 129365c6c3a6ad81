/* Element-wise activations (see fastkeras/elementwise.h). One body per dtype. */
#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fastkeras/elementwise.h"

#define FK_EW_GRAIN 32768 /* below this, one thread */

#define FK_SQRT1_2 0.70710678118654752440
#define FK_INV_SQRT_2PI 0.39894228040143267794
#define FK_SQRT_2_PI 0.79788456080286535588 /* sqrt(2 / pi) */

#define FK_EW_DEFINE(SUF, T, ERF, TANH, EXP)                                                    \
    int fk_erf_##SUF(int64_t n, const T *x, T *out, int n_threads) {                             \
        if (n < 0) return FK_EBADSHAPE;                                                          \
        if (n > 0 && (!x || !out)) return FK_ENULL;                                              \
        const int nt = n < FK_EW_GRAIN || n_threads < 1 ? 1 : n_threads;                        \
        _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")                \
        for (int64_t i = 0; i < n; ++i) out[i] = ERF(x[i]);                                      \
        return FK_OK;                                                                            \
    }                                                                                            \
    int fk_gelu_fwd_##SUF(int64_t n, const T *x, T *y, int approximate, int n_threads) {         \
        if (n < 0) return FK_EBADSHAPE;                                                          \
        if (n > 0 && (!x || !y)) return FK_ENULL;                                                \
        const int nt = n < FK_EW_GRAIN || n_threads < 1 ? 1 : n_threads;                        \
        if (approximate) {                                                                       \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
            for (int64_t i = 0; i < n; ++i) {                                                    \
                const T v = x[i];                                                                \
                const T u = (T)FK_SQRT_2_PI * (v + (T)0.044715 * v * v * v);                     \
                y[i] = (T)0.5 * v * ((T)1 + TANH(u));                                            \
            }                                                                                    \
        } else {                                                                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
            for (int64_t i = 0; i < n; ++i) {                                                    \
                const T v = x[i];                                                                \
                y[i] = (T)0.5 * v * ((T)1 + ERF(v * (T)FK_SQRT1_2));                             \
            }                                                                                    \
        }                                                                                        \
        return FK_OK;                                                                            \
    }                                                                                            \
    int fk_gelu_bwd_##SUF(int64_t n, const T *x, const T *g, T *dx, int approximate,            \
                          int n_threads) {                                                       \
        if (n < 0) return FK_EBADSHAPE;                                                          \
        if (n > 0 && (!x || !g || !dx)) return FK_ENULL;                                         \
        const int nt = n < FK_EW_GRAIN || n_threads < 1 ? 1 : n_threads;                        \
        if (approximate) {                                                                       \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
            for (int64_t i = 0; i < n; ++i) {                                                    \
                const T v = x[i];                                                                \
                const T t = TANH((T)FK_SQRT_2_PI * (v + (T)0.044715 * v * v * v));              \
                const T du = (T)FK_SQRT_2_PI * ((T)1 + (T)(3 * 0.044715) * v * v);               \
                dx[i] = g[i] * ((T)0.5 * ((T)1 + t) + (T)0.5 * v * ((T)1 - t * t) * du);         \
            }                                                                                    \
        } else {                                                                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
            for (int64_t i = 0; i < n; ++i) {                                                    \
                const T v = x[i];                                                                \
                const T cdf = (T)0.5 * ((T)1 + ERF(v * (T)FK_SQRT1_2));                          \
                const T pdf = (T)FK_INV_SQRT_2PI * EXP((T)-0.5 * v * v);                         \
                dx[i] = g[i] * (cdf + v * pdf);                                                  \
            }                                                                                    \
        }                                                                                        \
        return FK_OK;                                                                            \
    }

FK_EW_DEFINE(f32, float, erff, tanhf, expf)
FK_EW_DEFINE(f64, double, erf, tanh, exp)
