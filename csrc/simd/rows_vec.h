/* Internal: the vector row primitives, written once against a tiny macro
 * layer and compiled twice (rows_avx2.c, rows_avx512.c) with different
 * target flags. Includer defines the V* macros and FK_ROWS_TABLE. */
#include <math.h>
#include <string.h>
#include "rows.h"

/* exp(x) for a vector: x = n ln2 + r, |r| <= ln2/2, exp(r) by its degree-7
 * Taylor polynomial (truncation < 1e-8 relative), 2^n built in the exponent
 * bits. Inputs below -87.33 give exactly 0; NaN propagates (operand order of
 * VMAX/VMIN keeps a NaN x). */
static inline VF vexp(VF x) {
    const VF lo = VSET1(-87.33654f), hi = VSET1(88.0f);
    VF xc = VMIN(hi, VMAX(lo, x));
    VF n = VROUND(VMUL(xc, VSET1(1.44269504088896341f)));
    VF r = VFNMADD(n, VSET1(0.693359375f), xc);          /* ln2 split in two */
    r = VFNMADD(n, VSET1(-2.12194440e-4f), r);
    VF p = VSET1(1.0f / 5040.0f);
    p = VFMADD(p, r, VSET1(1.0f / 720.0f));
    p = VFMADD(p, r, VSET1(1.0f / 120.0f));
    p = VFMADD(p, r, VSET1(1.0f / 24.0f));
    p = VFMADD(p, r, VSET1(1.0f / 6.0f));
    p = VFMADD(p, r, VSET1(0.5f));
    p = VFMADD(p, r, VSET1(1.0f));
    p = VFMADD(p, r, VSET1(1.0f));
    VF e = VMUL(p, VPOW2I(n));
    return VZERO_BELOW(e, x, lo);
}

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

static double sumexp_v(int64_t n, const float *x, float shift) {
    const VF s = VSET1(shift);
    VD a0 = VDZERO(), a1 = VDZERO();
    int64_t j = 0;
    for (; j + VL <= n; j += VL) {
        VF e = vexp(VSUB(VLOAD(x + j), s));
        VACC_D(a0, a1, e);
    }
    if (j < n) {
        VF e = vexp(VSUB(load_tail(n - j, x + j, -INFINITY), s));
        VACC_D(a0, a1, e);
    }
    return VDREDSUM(VDADD(a0, a1));
}

static double exp_store_sum_v(int64_t n, const float *x, float shift, float *out) {
    const VF s = VSET1(shift);
    VD a0 = VDZERO(), a1 = VDZERO();
    int64_t j = 0;
    for (; j + VL <= n; j += VL) {
        VF e = vexp(VSUB(VLOAD(x + j), s));
        VSTORE(out + j, e);
        VACC_D(a0, a1, e);
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
        for (; j < n; ++j) out[j] = a * out[j] + (b * t[j] + c);
    } else {
        for (; j + VL <= n; j += VL) VSTORE(out + j, VFMADD(va, VLOAD(out + j), vc));
        for (; j < n; ++j) out[j] = a * out[j] + c;
    }
}

const fk_rows_f32 FK_ROWS_TABLE = {rowmax_v, sumexp_v, exp_store_sum_v, affine_v};
