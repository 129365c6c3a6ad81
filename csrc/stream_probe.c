/* The benchmark's bandwidth yardstick: STREAM-like passes with a given mix of streams. */
#include <stddef.h>
#include <stdint.h>

#include "fastkeras/fk_build.h"
#include "fastkeras/fk_status.h"

#define FK_STREAM_BLOCK 16384 /* elements per block (64 KB per stream): all streams advance together */

#define FK_STREAM_CHUNK 64 /* elements (4 cache lines) of one stream before the next */

/* Every stream advances chunk by chunk in turn, so all of them have misses in flight at
 * once, as in a fused kernel that touches each of its arrays per element. Reads sum into
 * 16 accumulators (registers: a store next to each load would stall on 4K aliasing). */
static double stream_block(float *const *read, int n_read, float *const *update, int n_update,
                           float *const *write, int n_write, int64_t lo, int64_t hi) {
    float acc[16] = {0};
    for (int64_t c = lo; c < hi; c += FK_STREAM_CHUNK) {
        const int64_t len = hi - c < FK_STREAM_CHUNK ? hi - c : FK_STREAM_CHUNK;
        for (int k = 0; k < n_read; ++k) {
            const float *restrict r = read[k] + c;
            int64_t j = 0;
            for (; j + 16 <= len; j += 16)
                for (int v = 0; v < 16; ++v) acc[v] += r[j + v];
            for (; j < len; ++j) acc[0] += r[j];
        }
        for (int k = 0; k < n_update; ++k) {
            float *restrict u = update[k] + c;
            for (int64_t j = 0; j < len; ++j) u[j] = 0.5f * u[j] + 0.25f;
        }
        for (int k = 0; k < n_write; ++k) {
            float *restrict w = write[k] + c;
            for (int64_t j = 0; j < len; ++j) w[j] = 0.25f;
        }
    }
    double sum = 0.0;
    for (int v = 0; v < 16; ++v) sum += acc[v];
    return sum;
}

int fk_stream_pass(float *const *read, int n_read, float *const *update, int n_update,
                   float *const *write, int n_write, int64_t n, int n_threads,
                   double *checksum) {
    if (n < 0 || n_read < 0 || n_update < 0 || n_write < 0) return FK_EBADSHAPE;
    if (n_read + n_update + n_write == 0 || checksum == NULL) return FK_EBADARG;
    if ((n_read && read == NULL) || (n_update && update == NULL) || (n_write && write == NULL))
        return FK_ENULL;
    for (int k = 0; k < n_read; ++k) if (read[k] == NULL) return FK_ENULL;
    for (int k = 0; k < n_update; ++k) if (update[k] == NULL) return FK_ENULL;
    for (int k = 0; k < n_write; ++k) if (write[k] == NULL) return FK_ENULL;
    const int64_t blocks = (n + FK_STREAM_BLOCK - 1) / FK_STREAM_BLOCK;
    double sum = 0.0;
    int nt = n_threads < 1 ? 1 : n_threads;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) reduction(+ : sum)
#endif
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t lo = b * FK_STREAM_BLOCK;
        const int64_t hi = lo + FK_STREAM_BLOCK < n ? lo + FK_STREAM_BLOCK : n;
        sum += stream_block(read, n_read, update, n_update, write, n_write, lo, hi);
    }
    *checksum = sum;
    return FK_OK;
}
