/* fastkeras C core: what this build contains and what the CPU offers. */
#ifndef FASTKERAS_FK_BUILD_H
#define FASTKERAS_FK_BUILD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SIMD levels of the run-time dispatch, lowest to highest. */
enum fk_simd_level { FK_SIMD_SCALAR = 0, FK_SIMD_AVX2 = 1, FK_SIMD_AVX512 = 2 };

const char *fk_version(void);
const char *fk_compiler(void);          /* e.g. "GNU 12.2.0" */
int fk_openmp_enabled(void);            /* 1 if compiled with OpenMP */
int fk_default_num_threads(void);       /* OpenMP's processor count, 1 without OpenMP */
int fk_cuda_compiled(void);             /* 1 if the CUDA twins are linked in */

/* Highest level compiled into this library / supported by this CPU. */
int fk_simd_compiled_max(void);
int fk_simd_cpu_max(void);
/* The level kernels dispatch to: min(compiled, cpu, FASTKERAS_SIMD env cap),
 * resolved once on first use (thread-safe) and fixed for the process. */
int fk_simd_level(void);
const char *fk_simd_name(int level);

/* Measured float32 peak of this machine in GFLOP/s: register-only FMA chains
 * at the dispatched SIMD level on n_threads threads for about `seconds`. */
double fk_peak_gflops(int n_threads, double seconds);

/* One STREAM-like pass over float32 arrays of n elements (the benchmark's bandwidth
 * yardstick): every element of the n_read read-only arrays is read, every element of
 * the n_update arrays read and written back, every element of the n_write arrays
 * written without being read. All streams advance together block by block, the blocks
 * split statically over n_threads threads. *checksum keeps the reads observable.
 * FK_EBADSHAPE for a negative count, FK_EBADARG for no stream at all or a NULL
 * checksum, FK_ENULL for a NULL array. */
int fk_stream_pass(float *const *read, int n_read, float *const *update, int n_update,
                   float *const *write, int n_write, int64_t n, int n_threads,
                   double *checksum);

#ifdef __cplusplus
}
#endif
#endif
