/* Element-wise activations, forward and backward (see fastkeras/activation.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fastkeras/activation.h"
#include "workers.h"

#define FK_ACT_GRAIN 65536 /* below this, one thread */
#define FK_ACT_BLOCK 4096  /* elements per scheduled block */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FK_CLONES
#endif

/* min / max that vectorise (fminf / fmaxf do not) and keep a NaN in x */
#define FK_LO(x, lo) ((x) < (lo) ? (lo) : (x))
#define FK_HI(x, hi) ((x) > (hi) ? (hi) : (x))

#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQRT_2_PI 0.79788456080286535588
#define INV_SQRT_2PI 0.39894228040143267794

/* ---------------------------------------------------------------- float32 math
 * Branch-free, so loops over them vectorise. exp: x = n ln2 + r, |r| <= ln2/2,
 * a degree-7 Taylor polynomial (error r^8/8! < 5e-9), 2^n from the exponent bits;
 * below -87.3 the result is flushed to 0. */
typedef union {
    float f;
    int32_t i;
} fk_f32bits; /* type punning the vectoriser understands (memcpy is not vectorised) */

static inline __attribute__((always_inline)) float f_pow2i(float n) {
    fk_f32bits u; /* n in [-126, 128]: a biased exponent in [1, 255], shifted unsigned */
    u.i = (int32_t)((uint32_t)((int32_t)n + 127) << 23);
    return u.f;
}
static inline __attribute__((always_inline)) float f_exp(float x) {
    const float xc = FK_HI(FK_LO(x, -87.3f), 88.7f);
    /* the exponent from a NaN-free copy (converting NaN to an integer is undefined);
     * a NaN x still gives NaN through r */
    const float n = __builtin_rintf((xc == xc ? xc : 0.0f) * 1.44269504088896341f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const float e = p * f_pow2i(n);
    return x < -87.3f ? 0.0f : e;
}
/* exp(x) - 1, accurate near 0: a Taylor series for |x| < 0.35 (error < 3e-10). */
static inline __attribute__((always_inline)) float f_expm1(float x) {
    float p = 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    const float small = p * x;
    return fabsf(x) < 0.35f ? small : f_exp(x) - 1.0f;
}
/* log(x) for x > 0 (normal numbers): x = m 2^e, m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716 (series to s^11). */
static inline __attribute__((always_inline)) float f_log(float x) {
    fk_f32bits u;
    u.f = x;
    const int32_t b = u.i;
    int32_t e = ((b >> 23) & 0xff) - 127;
    u.i = (b & 0x007fffff) | 0x3f800000; /* m in [1, 2) */
    float m = u.f;
    const int32_t big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e += big;
    const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p + (float)e * 0.693147180559945309f;
}
/* log(1 + u) for u >= 0 (Goldberg: log(w) * u / (w - 1), w = 1 + u, exact for tiny u). */
static inline __attribute__((always_inline)) float f_log1p(float u) {
    const float w = 1.0f + u;
    const float d = w - 1.0f;
    const float dd = d == 0.0f ? 1.0f : d; /* no division by 0, even on a discarded lane */
    return d == 0.0f ? u : f_log(w) * (u / dd);
}
/* tanh: an odd Taylor series for |x| < 0.4 (error < 1e-7 relative), else
 * 1 - 2 / (exp(2|x|) + 1); saturates to +-1 past |x| = 9. */
static inline __attribute__((always_inline)) float f_tanh(float x) {
    const float a = fabsf(x), a2 = x * x;
    float p = 21844.0f / 6081075.0f;
    p = p * a2 - 1382.0f / 155925.0f;
    p = p * a2 + 62.0f / 2835.0f;
    p = p * a2 - 17.0f / 315.0f;
    p = p * a2 + 2.0f / 15.0f;
    p = p * a2 - 1.0f / 3.0f;
    const float small = x + x * a2 * p;
    const float big = 1.0f - 2.0f / (f_exp(2.0f * FK_HI(a, 9.0f)) + 1.0f);
    return a < 0.4f ? small : copysignf(big, x);
}
/* erfc(x) for x >= 0: exp(-x^2) times a fitted polynomial in t = 1 / (1 + x / 2) (the
 * Chebyshev fit of Numerical Recipes' erfcc, fractional error under 1.2e-7 for x >= 0). */
static inline __attribute__((always_inline)) float f_erfc_pos(float x) {
    const float t = 1.0f / (1.0f + 0.5f * x);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    return t * f_exp(p - x * x);
}
/* Phi(x) = erfc(-x / sqrt 2) / 2, without cancellation in either tail. */
static inline __attribute__((always_inline)) float f_ncdf(float x) {
    const float e = 0.5f * f_erfc_pos(fabsf(x) * 0.70710678118654752f);
    return x < 0.0f ? e : 1.0f - e;
}
static inline __attribute__((always_inline)) double d_ncdf(double x) {
    return 0.5 * erfc(-x * 0.70710678118654752440);
}

static inline __attribute__((always_inline)) float f_sigmoid(float x) {
    const float e = f_exp(-fabsf(x));
    const float r = 1.0f / (1.0f + e);
    return x >= 0.0f ? r : e * r;
}
static inline __attribute__((always_inline)) float f_softplus(float x) { return FK_LO(x, 0.0f) + f_log1p(f_exp(-fabsf(x))); }

/* float64: libm */
static inline __attribute__((always_inline)) double d_exp(double x) { return exp(x); }
static inline __attribute__((always_inline)) double d_expm1(double x) { return expm1(x); }
static inline __attribute__((always_inline)) double d_log1p(double x) { return log1p(x); }
static inline __attribute__((always_inline)) double d_tanh(double x) { return tanh(x); }
static inline __attribute__((always_inline)) double d_sigmoid(double x) {
    const double e = exp(-fabs(x));
    const double r = 1.0 / (1.0 + e);
    return x >= 0.0 ? r : e * r;
}
static inline __attribute__((always_inline)) double d_softplus(double x) { return FK_LO(x, 0.0) + log1p(exp(-fabs(x))); }

#define T float
#define SUF f32
#define EXP f_exp
#define EXPM1 f_expm1
#define LOG1P f_log1p
#define TANH f_tanh
#define SIGMOID f_sigmoid
#define SOFTPLUS f_softplus
#define NCDF f_ncdf
#define FABS fabsf
#define FMAX FK_LO
#define FMIN FK_HI
#include "activation_impl.h"
#undef T
#undef SUF
#undef EXP
#undef EXPM1
#undef LOG1P
#undef TANH
#undef SIGMOID
#undef SOFTPLUS
#undef NCDF
#undef FABS
#undef FMAX
#undef FMIN

#define T double
#define SUF f64
#define EXP d_exp
#define EXPM1 d_expm1
#define LOG1P d_log1p
#define TANH d_tanh
#define SIGMOID d_sigmoid
#define SOFTPLUS d_softplus
#define NCDF d_ncdf
#define FABS fabs
#define FMAX FK_LO
#define FMIN FK_HI
#include "activation_impl.h"
