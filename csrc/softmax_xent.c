/* Fused softmax + cross-entropy kernels (float32 and float64 from one body). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "fastkeras/softmax_xent.h"
#include "simd/rows.h"

/* Below this many elements a call runs on one thread: the fork/join costs more. */
#define FK_XENT_GRAIN 32768
/* Gradients at least this large are written with streaming stores (no
 * read-for-ownership of output lines that would only be overwritten); rows of
 * up to FK_STREAM_MAX_C classes are staged in a stack buffer in L1/L2. */
#define FK_STREAM_MIN_BYTES (8.0 * 1024 * 1024)
#define FK_STREAM_MAX_C 4096

void fk_xent_opts_init(fk_xent_opts *opts) {
    if (!opts) return;
    opts->from_logits = 1;
    opts->label_smoothing = 0.0;
    opts->epsilon = 1e-7;
    opts->has_ignore_class = 0;
    opts->ignore_class = -1;
    opts->grad_scale = 1.0;
}

#define FK_PREFETCH_MAX_BYTES (32 * 1024)

static int fk_xent_check(int64_t n, int64_t c, const void *x, const int64_t *labels,
                         const void *targets, const fk_xent_opts *o) {
    if (n < 0 || c < 1) return FK_EBADSHAPE;
    if (n > 0 && c > INT64_MAX / 8 / n) return FK_EBADSHAPE;
    if (n > 0 && (!x || (!labels && !targets))) return FK_ENULL;
    if (!(o->label_smoothing >= 0.0 && o->label_smoothing <= 1.0)) return FK_EBADARG;
    if (!o->from_logits && !(o->epsilon > 0.0 && o->epsilon < 0.5)) return FK_EBADARG;
    if (!(o->grad_scale == o->grad_scale)) return FK_EBADARG;
    return FK_OK;
}

static int fk_xent_threads(int64_t n, int64_t c, int requested) {
    int64_t nt = requested < 1 ? 1 : requested;
    int64_t by_work = (n * c) / FK_XENT_GRAIN;
    if (by_work < 1) by_work = 1;
    if (nt > by_work) nt = by_work;
    if (nt > n) nt = n;
    return (int)(nt < 1 ? 1 : nt);
}

/* ---- float64 row helpers: libm exp, exact to < 1 ulp, double throughout. */
static inline double rowmax_d(int64_t n, const double *x) {
    double m = -INFINITY;
    for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
    return m;
}
static inline double sumexp_d(int64_t n, const double *x, double shift, const double *pf) {
    (void)pf;
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) s += exp(x[j] - shift);
    return s;
}
static inline double exp_store_sum_d(int64_t n, const double *x, double shift, double *out,
                                     const double *pf) {
    (void)pf;
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        out[j] = exp(x[j] - shift);
        s += out[j];
    }
    return s;
}
static inline void affine_d(int64_t n, double *out, double a, const double *t, double b,
                            double c) {
    if (t) for (int64_t j = 0; j < n; ++j) out[j] = a * out[j] + (b * t[j] + c);
    else for (int64_t j = 0; j < n; ++j) out[j] = a * out[j] + c;
}

/* ---- float32 instantiation: rows go through the SIMD dispatch table. */
#define T float
#define SUF f32
#define ROWS_T fk_rows_f32
#define ROWS_GET() fk_rows_f32_get()
#define ROWMAX(n, x) rows->rowmax((n), (x))
#define SUMEXP(n, x, m, pf) rows->sumexp((n), (x), (m), (pf))
#define EXPSTORE(n, x, m, g, pf) rows->exp_store_sum((n), (x), (m), (g), (pf))
#define AFFINE(n, g, a, t, b, c) rows->affine((n), (g), (a), (t), (b), (c))
#define AFFINE_OUT(n, g, a, t, b, c, out) \
    ((out) == (g) ? rows->affine((n), (g), (a), (t), (b), (c)) \
                  : rows->affine_stream((n), (g), (a), (t), (b), (c), (out)))
#define FK_XENT_STREAM 1
#include "softmax_xent_impl.h"
#undef FK_XENT_STREAM
#undef AFFINE_OUT
#undef T
#undef SUF
#undef ROWS_T
#undef ROWS_GET
#undef ROWMAX
#undef SUMEXP
#undef EXPSTORE
#undef AFFINE

/* ---- float64 instantiation. */
#define T double
#define SUF f64
#define ROWS_T void
#define ROWS_GET() ((const void *)0)
#define ROWMAX(n, x) rowmax_d((n), (x))
#define SUMEXP(n, x, m, pf) sumexp_d((n), (x), (m), (pf))
#define EXPSTORE(n, x, m, g, pf) exp_store_sum_d((n), (x), (m), (g), (pf))
#define AFFINE(n, g, a, t, b, c) affine_d((n), (g), (a), (t), (b), (c))
#define AFFINE_OUT(n, g, a, t, b, c, out) affine_d((n), (g), (a), (t), (b), (c))
#include "softmax_xent_impl.h"
