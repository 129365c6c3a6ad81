/* Fused optimizer steps (float32 and float64 from one body). */
#include <math.h>
#include <stdint.h>
#include "fastkeras/optim.h"

/* Elements per work item, and below how many elements a call stays on one thread. */
#define FK_OPTIM_BLOCK 16384
#define FK_OPTIM_GRAIN (1 << 20) /* ~0.5 ms of work on one core: below, a parallel region costs more (wake-ups, and contention with a BLAS pool that is still spinning) */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#else
#define FK_CLONES
#endif

#include "denormals.h"
#include "optim_check.h"

#define T float
#define SUF f32
#define SQRT sqrtf
#include "optim_impl.h"
#undef T
#undef SUF
#undef SQRT

#define T double
#define SUF f64
#define SQRT sqrt
#include "optim_impl.h"
