/* AVX-512F build of the row primitives (compiled with -mavx512f -mfma). */
#include <immintrin.h>

#define VF __m512
#define VD __m512d
#define VL 16
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VSET1(a) _mm512_set1_ps(a)
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSCALEF(p, n) _mm512_scalef_ps((p), (n))
#define VSTREAM(p, v) _mm512_stream_ps((p), (v))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VFMADD(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VFNMADD(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define VROUND(a) _mm512_roundscale_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n) _mm512_castsi512_ps(_mm512_slli_epi32( \
    _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define VZERO_BELOW(e, x, lo) _mm512_maskz_mov_ps(~_mm512_cmp_ps_mask((x), (lo), _CMP_LT_OQ), (e))
#define VREDMAX(v) _mm512_reduce_max_ps(v)
#define VDZERO() _mm512_setzero_pd()
#define VDADD(a, b) _mm512_add_pd((a), (b))
#define VDREDSUM(v) _mm512_reduce_add_pd(v)
#define VACC_D(a0, a1, e) do { \
    (a0) = _mm512_add_pd((a0), _mm512_cvtps_pd(_mm512_castps512_ps256(e))); \
    (a1) = _mm512_add_pd((a1), _mm512_cvtps_pd(_mm256_castpd_ps( \
        _mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)))); } while (0)
#define FK_ROWS_TABLE fk_rows_f32_avx512

#include "rows_vec.h"
