/* Build facts and the once-per-process SIMD dispatch decision. */
#include <stdlib.h>
#include <time.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "fastkeras/fk_build.h"
#include "simd/rows.h"

#ifndef FASTKERAS_VERSION
#define FASTKERAS_VERSION "0.0.0"
#endif

const char *fk_version(void) { return FASTKERAS_VERSION; }

const char *fk_compiler(void) {
#if defined(__clang__)
    return "Clang " __clang_version__;
#elif defined(__GNUC__)
    return "GNU " __VERSION__;
#elif defined(_MSC_VER)
    return "MSVC";
#else
    return "unknown";
#endif
}

int fk_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fk_default_num_threads(void) {
#ifdef _OPENMP
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
#else
    return 1;
#endif
}

int fk_cuda_compiled(void) {
#ifdef FASTKERAS_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}

int fk_simd_compiled_max(void) {
#if defined(FK_HAVE_AVX512)
    return FK_SIMD_AVX512;
#elif defined(FK_HAVE_AVX2)
    return FK_SIMD_AVX2;
#else
    return FK_SIMD_SCALAR;
#endif
}

int fk_simd_cpu_max(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return FK_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FK_SIMD_AVX2;
#endif
    return FK_SIMD_SCALAR;
}

const char *fk_simd_name(int level) {
    switch (level) {
    case FK_SIMD_AVX512: return "avx512";
    case FK_SIMD_AVX2: return "avx2";
    default: return "scalar";
    }
}

/* FASTKERAS_SIMD=scalar|avx2|avx512 caps the level (for testing every path). */
static int env_cap(void) {
    const char *s = getenv("FASTKERAS_SIMD");
    if (!s || !*s) return FK_SIMD_AVX512;
    if (strcmp(s, "scalar") == 0) return FK_SIMD_SCALAR;
    if (strcmp(s, "avx2") == 0) return FK_SIMD_AVX2;
    return FK_SIMD_AVX512;
}

static int resolve_level(void) {
    int lvl = fk_simd_compiled_max();
    int cpu = fk_simd_cpu_max();
    int cap = env_cap();
    if (cpu < lvl) lvl = cpu;
    if (cap < lvl) lvl = cap;
    return lvl;
}

/* Written once; a benign race resolves to the same value in every thread. */
static int g_level = -1;

int fk_simd_level(void) {
    int lvl = __atomic_load_n(&g_level, __ATOMIC_ACQUIRE);
    if (lvl < 0) {
        lvl = resolve_level();
        __atomic_store_n(&g_level, lvl, __ATOMIC_RELEASE);
    }
    return lvl;
}

double fk_peak_gflops(int n_threads, double seconds) {
    const fk_rows_f32 *rows = fk_rows_f32_get();
    const int64_t iters = 1 << 20;
    int nt = n_threads < 1 ? 1 : n_threads;
    double best = 0.0;
    struct timespec t0, t1;
    for (int rep = 0; rep < 3; ++rep) {
        double flops = 0.0, elapsed = 0.0;
        int64_t rounds = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) reduction(+ : flops)
#endif
            flops += rows->fma_probe(iters);
            ++rounds;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            elapsed = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        } while (elapsed < seconds / 3.0 && rounds < 100000);
        double g = flops / elapsed / 1e9;
        best = g > best ? g : best;
    }
    return best;
}

const fk_rows_f32 *fk_rows_f32_get(void) {
    switch (fk_simd_level()) {
#if defined(FK_HAVE_AVX512)
    case FK_SIMD_AVX512: return &fk_rows_f32_avx512;
#endif
#if defined(FK_HAVE_AVX2)
    case FK_SIMD_AVX2: return &fk_rows_f32_avx2;
#endif
    default: return &fk_rows_f32_scalar;
    }
}
