/* fastkeras CUDA device queries and copies. In a build without CUDA these exist too:
 * no device, FK_ENOTBUILT. Declared without CUDA headers so C callers compile without
 * the toolkit. */
#ifndef FASTKERAS_CUDA_DEVICE_H
#define FASTKERAS_CUDA_DEVICE_H

#include <stdint.h>
#include "fastkeras/fk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices (>= 0), or a negative fk_status. */
int fk_cuda_device_count(void);
/* Name of device 0 into buf (NUL-terminated), or a negative fk_status. */
int fk_cuda_device_name(char *buf, int len);
/* The text of this thread's last failed CUDA call ("" if none): what FK_ECUDA means. */
const char *fk_cuda_last_error(void);
/* Copy `bytes` between device and host memory: direction 0 device -> host (src must be
 * device memory), 1 host -> device (dst must be). FK_EHOSTPTR if the pointer said to be
 * device memory is not. */
int fk_cuda_copy(void *dst, const void *src, int64_t bytes, int direction);
/* Device 0's peak memory bandwidth in bytes/s (memory clock x bus width x 2, DDR), the
 * yardstick of the benchmarks' GPU rows; a negative fk_status if there is no device. */
double fk_cuda_peak_bandwidth(void);
/* Device memory for callers without their own allocator (fastkeras.cuda.DeviceArray). */
int fk_cuda_malloc(void **ptr, int64_t bytes);
int fk_cuda_free(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
