/* Histogram (binned) and radix-sort (exact) engines for AUC, KS and thresholded counts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fastkeras/rank_hist.h"
#include "rank_bucket.h"

#ifdef FK_RANK_PROFILE /* development aid: phase timings of the exact path on stderr */
#include <stdio.h>
#include <time.h>
static double fk_prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#define FK_PROF_START() double fk_prof_t = fk_prof_now()
#define FK_PROF(what) do { double t_ = fk_prof_now(); \
    fprintf(stderr, "%s %.1f ms\n", what, (t_ - fk_prof_t) * 1e3); fk_prof_t = t_; } while (0)
#else
#define FK_PROF_START() ((void)0)
#define FK_PROF(what) ((void)0)
#endif

/* Elements per chunk, fixed partial-sum slots (independent of n_threads), and the
 * size below which one thread does the work. */
#define FK_HIST_CHUNK 65536
#define FK_HIST_SLOTS 64
#define FK_HIST_GRAIN 262144
/* Elements whose histogram cells are computed together (vectorised) before counting. */
#define FK_HIST_BLOCK 1024
/* Blocks ahead that the counting loop prefetches. */
#define FK_HIST_PREFETCH 2
/* Fixed blocks of the exact path's scan (parallel, thread-count invariant). */
#define FK_SCAN_BLOCKS 16

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#else
#define FK_CLONES
#endif

/* Order-preserving 64-bit keys: negative floats have all bits flipped, others the
 * sign bit set; -0.0 and +0.0 map to one key (they compare equal). NaN never
 * reaches here (checked by the caller). */
static inline uint64_t fk_key_f64(double x) {
    if (x == 0.0) x = 0.0;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | (1ull << 63));
}
static inline uint32_t fk_key_f32(float x) {
    if (x == 0.0f) x = 0.0f;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 31) ? ~u : (u | (1u << 31));
}

/* Work arrays of the exact path: big, written once, freed at the end. Backed by
 * transparent huge pages where the kernel offers them on request (madvise mode):
 * first-touch page faults otherwise cost about as much as the radix passes. */
#if defined(__linux__)
#include <sys/mman.h>
#endif
static void *fk_big_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return malloc(bytes ? bytes : 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, (bytes + huge - 1) / huge * huge) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE); /* a hint only */
#endif
    return p;
}
static void fk_big_free(void *p) { free(p); }

/* Stable LSD radix sort of (keys, idx) by keys, 8 bits per pass (256 write streams
 * per block stay cache-friendly); passes whose digit is the same for every key are
 * skipped. Parallel histograms and scatter over fixed blocks (deterministic).
 * Defined for 32-bit keys (float32 scores) and 64-bit keys (float64). */
#define FK_DEFINE_RADIX(NAME, KT, KBITS, FK_RADIX_BITS)                                    \
    static int NAME(int64_t n, KT *keys, uint32_t *idx, int n_threads) {                    \
        enum { RSIZE = 1 << FK_RADIX_BITS };                                                \
        KT *k2 = (KT *)fk_big_alloc((size_t)n * sizeof(KT));                               \
        uint32_t *i2 = (uint32_t *)fk_big_alloc((size_t)n * sizeof(uint32_t));               \
        const int nb = 8;                                                                   \
        size_t *hist = (size_t *)malloc((size_t)nb * RSIZE * sizeof(size_t));       \
        if (!k2 || !i2 || !hist) {                                                          \
            fk_big_free(k2);                                                                       \
            fk_big_free(i2);                                                                       \
            free(hist);                                                                     \
            return FK_ENOMEM;                                                               \
        }                                                                                   \
        int nt = n_threads < 1 ? 1 : n_threads;                                             \
        if (n < FK_HIST_GRAIN) nt = 1;                                                      \
        KT *src = keys, *dst = k2;                                                          \
        uint32_t *isrc = idx, *idst = i2;                                                   \
        for (int shift = 0; shift < KBITS; shift += FK_RADIX_BITS) {                        \
            memset(hist, 0, (size_t)nb * RSIZE * sizeof(size_t));                   \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")        \
            for (int b = 0; b < nb; ++b) {                                                  \
                const int64_t lo = n * b / nb, hi = n * (b + 1) / nb;                       \
                size_t *h = hist + (size_t)b * RSIZE;                               \
                for (int64_t i = lo; i < hi; ++i) ++h[(src[i] >> shift) & (RSIZE - 1)]; \
            }                                                                               \
            int single = 0;                                                                 \
            for (int d = 0; d < RSIZE && !single; ++d) {                            \
                size_t tot = 0;                                                             \
                for (int b = 0; b < nb; ++b) tot += hist[(size_t)b * RSIZE + d];    \
                if (tot == (size_t)n) single = 1;                                           \
                else if (tot) break;                                                        \
            }                                                                               \
            if (single) continue;                                                           \
            size_t off = 0;                                                                 \
            for (int d = 0; d < RSIZE; ++d)                                         \
                for (int b = 0; b < nb; ++b) {                                              \
                    size_t c = hist[(size_t)b * RSIZE + d];                         \
                    hist[(size_t)b * RSIZE + d] = off;                              \
                    off += c;                                                               \
                }                                                                           \
            _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")        \
            for (int b = 0; b < nb; ++b) {                                                  \
                const int64_t lo = n * b / nb, hi = n * (b + 1) / nb;                       \
                size_t *h = hist + (size_t)b * RSIZE;                               \
                for (int64_t i = lo; i < hi; ++i) {                                         \
                    const size_t p = h[(src[i] >> shift) & (RSIZE - 1)]++;          \
                    dst[p] = src[i];                                                        \
                    idst[p] = isrc[i];                                                      \
                }                                                                           \
            }                                                                               \
            KT *t = src;                                                                    \
            src = dst;                                                                      \
            dst = t;                                                                        \
            uint32_t *ti = isrc;                                                            \
            isrc = idst;                                                                    \
            idst = ti;                                                                      \
        }                                                                                   \
        if (src != keys) {                                                                  \
            memcpy(keys, src, (size_t)n * sizeof(KT));                                      \
            memcpy(idx, isrc, (size_t)n * sizeof(uint32_t));                                \
        }                                                                                   \
        fk_big_free(k2);                                                                           \
        fk_big_free(i2);                                                                           \
        free(hist);                                                                         \
        return FK_OK;                                                                       \
    }

/* 8-bit digits (256 write streams per block stay cache-friendly; 11-bit digits measured
 * slower here); 64-bit keys: most passes skipped for
 * float32 data widened to double */
FK_DEFINE_RADIX(fk_radix_sort_u32, uint32_t, 32, 8)
FK_DEFINE_RADIX(fk_radix_sort_u64, uint64_t, 64, 8)

#define T float
#define SUF f32
#define KEYFN fk_key_f32
#define KEY_T uint32_t
#define RADIX_SORT fk_radix_sort_u32
#include "rank_hist_impl.h"
#undef T
#undef SUF
#undef KEYFN
#undef KEY_T
#undef RADIX_SORT

#define T double
#define SUF f64
#define KEYFN fk_key_f64
#define KEY_T uint64_t
#define RADIX_SORT fk_radix_sort_u64
#include "rank_hist_impl.h"
