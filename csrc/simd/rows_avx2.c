/* AVX2 + FMA build of the row primitives: the portable baseline of the default wheel. */
#include <immintrin.h>

static inline float fk_hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline double fk_hsum256d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#define VF __m256
#define VD __m256d
#define VL 8
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(a) _mm256_set1_ps(a)
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSTREAM(p, v) _mm256_stream_ps((p), (v))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VFMADD(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VFNMADD(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define VROUND(a) _mm256_round_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n) _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define VZERO_BELOW(e, x, lo) _mm256_andnot_ps(_mm256_cmp_ps((x), (lo), _CMP_LT_OQ), (e))
#define VREDMAX(v) fk_hmax256(v)
#define VDZERO() _mm256_setzero_pd()
#define VDADD(a, b) _mm256_add_pd((a), (b))
#define VDREDSUM(v) fk_hsum256d(v)
#define VACC_D(a0, a1, e) do { \
    (a0) = _mm256_add_pd((a0), _mm256_cvtps_pd(_mm256_castps256_ps128(e))); \
    (a1) = _mm256_add_pd((a1), _mm256_cvtps_pd(_mm256_extractf128_ps((e), 1))); } while (0)
#define FK_ROWS_TABLE fk_rows_f32_avx2

#include "rows_vec.h"
