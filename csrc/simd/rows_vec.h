/* Internal: the vector row primitives, written once against a tiny macro
 * layer and compiled twice (rows_avx2.c, rows_avx512.c) with different
 * target flags. Includer defines the V* macros and FK_ROWS_TABLE. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "rows.h"

/* exp(x) for a vector: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6
 * polynomial fitted on Chebyshev nodes (relative error 2e-8 before rounding,
 * under 1 ulp after), times 2^n. NaN propagates: VMAX/VMIN keep their second
 * operand when either is NaN, and x is always that operand. */
#define FK_EXP_POLY(r) \
    VFMADD(VFMADD(VFMADD(VFMADD(VFMADD(VFMADD(VSET1(1.394858118146658e-3f), (r), \
    VSET1(8.375128731131554e-3f)), (r), VSET1(4.1666217148303986e-2f)), (r), \
    VSET1(0.16666415333747864f)), (r), VSET1(0.5f)), (r), VSET1(1.0f)), (r), VSET1(1.0f))

#ifdef VSCALEF
/* AVX-512: scalef builds p * 2^n in one instruction and underflows to 0 by itself. */
static inline VF vexp(VF x) {
    VF xc = VMAX(VSET1(-104.0f), x);
    VF n = VROUND(VMUL(xc, VSET1(1.44269504088896341f)));
    VF r = VFNMADD(n, VSET1(0.693359375f), xc); /* ln2 split in two */
    r = VFNMADD(n, VSET1(-2.12194440e-4f), r);
    return VSCALEF(FK_EXP_POLY(r), n);
}
#else
/* AVX2: 2^n is built in the exponent bits; inputs below -87.33 give exactly 0. */
static inline VF vexp(VF x) {
    const VF lo = VSET1(-87.33654f), hi = VSET1(88.0f);
    VF xc = VMIN(hi, VMAX(lo, x));
    VF n = VROUND(VMUL(xc, VSET1(1.44269504088896341f)));
    VF r = VFNMADD(n, VSET1(0.693359375f), xc);
    r = VFNMADD(n, VSET1(-2.12194440e-4f), r);
    VF e = VMUL(FK_EXP_POLY(r), VPOW2I(n));
    return VZERO_BELOW(e, x, lo);
}
#endif

/* Sums of exp values: 16 vectors are added in float, then the block is added
 * to double accumulators; the float part sums at most 16 terms per lane. */
#define FK_BLOCK 16

/* One prefetch per vector: a 16-float vector is one cache line on AVX-512, and
 * on AVX2 every other prefetch hits a line already requested, which is cheap. */
#define FK_PREFETCH_LINE(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

/* Tail of a row: copied into a full vector padded with -inf (exp -> 0). */
static inline VF load_tail(int64_t rem, const float *x, float pad) {
    float buf[VL];
    for (int i = 0; i < VL; ++i) buf[i] = pad;
    memcpy(buf, x, (size_t)rem * sizeof(float));
    return VLOAD(buf);
}

static float rowmax_v(int64_t n, const float *x) {
    VF m0 = VSET1(-INFINITY), m1 = m0;
    int64_t j = 0;
    for (; j + 2 * VL <= n; j += 2 * VL) {
        m0 = VMAX(m0, VLOAD(x + j));
        m1 = VMAX(m1, VLOAD(x + j + VL));
    }
    for (; j + VL <= n; j += VL) m0 = VMAX(m0, VLOAD(x + j));
    if (j < n) m1 = VMAX(m1, load_tail(n - j, x + j, -INFINITY));
    return VREDMAX(VMAX(m0, m1));
}

static double sumexp_v(int64_t n, const float *x, float shift, const float *pf) {
    const VF s = VSET1(shift);
    VD a0 = VDZERO(), a1 = VDZERO();
    int64_t j = 0;
    while (j + VL <= n) {
        VF fs = VSET1(0.0f);
        for (int b = 0; b < FK_BLOCK && j + VL <= n; ++b, j += VL) {
            if (pf) FK_PREFETCH_LINE(pf + j);
            fs = VADD(fs, vexp(VSUB(VLOAD(x + j), s)));
        }
        VACC_D(a0, a1, fs);
    }
    if (j < n) {
        VF e = vexp(VSUB(load_tail(n - j, x + j, -INFINITY), s));
        VACC_D(a0, a1, e);
    }
    return VDREDSUM(VDADD(a0, a1));
}

static double exp_store_sum_v(int64_t n, const float *x, float shift, float *out,
                              const float *pf) {
    const VF s = VSET1(shift);
    VD a0 = VDZERO(), a1 = VDZERO();
    int64_t j = 0;
    while (j + VL <= n) {
        VF fs = VSET1(0.0f);
        for (int b = 0; b < FK_BLOCK && j + VL <= n; ++b, j += VL) {
            if (pf) FK_PREFETCH_LINE(pf + j);
            VF e = vexp(VSUB(VLOAD(x + j), s));
            VSTORE(out + j, e);
            fs = VADD(fs, e);
        }
        VACC_D(a0, a1, fs);
    }
    if (j < n) {
        float buf[VL];
        VF e = vexp(VSUB(load_tail(n - j, x + j, -INFINITY), s));
        VSTORE(buf, e);
        memcpy(out + j, buf, (size_t)(n - j) * sizeof(float));
        VACC_D(a0, a1, e);
    }
    return VDREDSUM(VDADD(a0, a1));
}

static void affine_v(int64_t n, float *out, float a, const float *t, float b, float c) {
    const VF va = VSET1(a), vb = VSET1(b), vc = VSET1(c);
    int64_t j = 0;
    if (t) {
        for (; j + VL <= n; j += VL)
            VSTORE(out + j, VFMADD(va, VLOAD(out + j), VFMADD(vb, VLOAD(t + j), vc)));
        for (; j < n; ++j) out[j] = fmaf(a, out[j], fmaf(b, t[j], c));
    } else {
        for (; j + VL <= n; j += VL) VSTORE(out + j, VFMADD(va, VLOAD(out + j), vc));
        for (; j < n; ++j) out[j] = fmaf(a, out[j], c);
    }
}

static void affine_stream_v(int64_t n, const float *src, float a, const float *t, float b,
                            float c, float *dst) {
    const VF va = VSET1(a), vb = VSET1(b), vc = VSET1(c);
    int64_t j = 0;
    /* scalar head until dst is vector-aligned, then streaming stores; the
     * arithmetic is affine_v's (fma(a, x, fma(b, t, c))) so results match it */
    while (j < n && ((uintptr_t)(dst + j) & (VL * sizeof(float) - 1)) != 0) {
        dst[j] = t ? fmaf(a, src[j], fmaf(b, t[j], c)) : fmaf(a, src[j], c);
        ++j;
    }
    if (t) {
        for (; j + VL <= n; j += VL)
            VSTREAM(dst + j, VFMADD(va, VLOAD(src + j), VFMADD(vb, VLOAD(t + j), vc)));
        for (; j < n; ++j) dst[j] = fmaf(a, src[j], fmaf(b, t[j], c));
    } else {
        for (; j + VL <= n; j += VL) VSTREAM(dst + j, VFMADD(va, VLOAD(src + j), vc));
        for (; j < n; ++j) dst[j] = fmaf(a, src[j], c);
    }
    _mm_sfence(); /* streamed data is visible to other threads before we return */
}

/* 12 independent FMA chains: enough to cover the FMA latency on both pipes. */
static double fma_probe_v(int64_t iters) {
    const VF b = VSET1(0.999999f), c = VSET1(1e-7f);
    /* distinct starting values, so the compiler cannot merge the chains */
    VF a0 = VSET1(1.00f), a1 = VSET1(1.01f), a2 = VSET1(1.02f), a3 = VSET1(1.03f),
       a4 = VSET1(1.04f), a5 = VSET1(1.05f), a6 = VSET1(1.06f), a7 = VSET1(1.07f),
       a8 = VSET1(1.08f), a9 = VSET1(1.09f), a10 = VSET1(1.10f), a11 = VSET1(1.11f);
    for (int64_t i = 0; i < iters; ++i) {
        a0 = VFMADD(a0, b, c); a1 = VFMADD(a1, b, c); a2 = VFMADD(a2, b, c);
        a3 = VFMADD(a3, b, c); a4 = VFMADD(a4, b, c); a5 = VFMADD(a5, b, c);
        a6 = VFMADD(a6, b, c); a7 = VFMADD(a7, b, c); a8 = VFMADD(a8, b, c);
        a9 = VFMADD(a9, b, c); a10 = VFMADD(a10, b, c); a11 = VFMADD(a11, b, c);
    }
    VF s = VADD(VADD(VADD(a0, a1), VADD(a2, a3)), VADD(VADD(a4, a5), VADD(a6, a7)));
    s = VADD(s, VADD(VADD(a8, a9), VADD(a10, a11)));
    float out[VL];
    VSTORE(out, s);
    volatile float sink = out[0];
    (void)sink;
    return 2.0 * 12.0 * VL * (double)iters;
}

const fk_rows_f32 FK_ROWS_TABLE = {rowmax_v, sumexp_v, exp_store_sum_v, affine_v, affine_stream_v,
                                   fma_probe_v};
