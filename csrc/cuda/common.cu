// Shared CUDA helpers (common.cuh) and the device queries of the C API.
#include <stdio.h>
#include <string.h>
#include "common.cuh"
#include "fastkeras/cuda/device.h"

namespace {
thread_local char last_error[256] = "";
}

namespace fkcuda {

int status_of(cudaError_t e) {
    if (e == cudaSuccess) return FK_OK;
    const char *name = cudaGetErrorName(e), *text = cudaGetErrorString(e);
    snprintf(last_error, sizeof last_error, "%s: %s", name ? name : "?", text ? text : "?");
    cudaGetLastError();  // clear the (non-sticky) error
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) return FK_ENODEVICE;
    if (e == cudaErrorMemoryAllocation) return FK_ENOMEM;
    return FK_ECUDA;
}

int require_device() {
    int count = fk_cuda_device_count();
    if (count < 0) return count;
    return count == 0 ? FK_ENODEVICE : FK_OK;
}

int require_device_pointer(const void *p) {
    cudaPointerAttributes attr;
    int rc = status_of(cudaPointerGetAttributes(&attr, p));
    if (rc != FK_OK) return rc;
    if (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) return FK_OK;
    return FK_EHOSTPTR;
}

Buffers::~Buffers() {
    for (void *q : p) cudaFree(q);
}

int Buffers::alloc(void **out, size_t bytes) {
    void *q = nullptr;
    int rc = status_of(cudaMalloc(&q, bytes > 0 ? bytes : 1));
    if (rc == FK_OK) p.push_back(q);
    *out = q;
    return rc;
}

int Buffers::upload(void **dev, const void *host, size_t bytes) {
    int rc = alloc(dev, bytes);
    if (rc == FK_OK && host && bytes)
        rc = status_of(cudaMemcpy(*dev, host, bytes, cudaMemcpyHostToDevice));
    return rc;
}

unsigned blocks_for(int64_t total, int threads, int64_t cap) {
    int64_t b = (total + threads - 1) / threads;
    if (b > cap) b = cap;
    return (unsigned)(b < 1 ? 1 : b);
}

}  // namespace fkcuda

extern "C" int fk_cuda_device_count(void) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        cudaGetLastError();
        return 0;
    }
    if (e != cudaSuccess) return fkcuda::status_of(e);
    return count;
}

extern "C" int fk_cuda_device_name(char *buf, int len) {
    if (!buf || len < 1) return FK_ENULL;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    cudaDeviceProp prop;
    rc = fkcuda::status_of(cudaGetDeviceProperties(&prop, 0));
    if (rc != FK_OK) return rc;
    strncpy(buf, prop.name, (size_t)len - 1);
    buf[len - 1] = '\0';
    return FK_OK;
}

extern "C" const char *fk_cuda_last_error(void) { return last_error; }

extern "C" int fk_cuda_copy(void *dst, const void *src, int64_t bytes, int direction) {
    if (bytes < 0) return FK_EBADSHAPE;
    if (bytes == 0) return FK_OK;
    if (!dst || !src) return FK_ENULL;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    rc = fkcuda::require_device_pointer(direction == 0 ? src : dst);
    if (rc != FK_OK) return rc;
    return fkcuda::status_of(cudaMemcpy(dst, src, (size_t)bytes,
                                        direction == 0 ? cudaMemcpyDeviceToHost
                                                       : cudaMemcpyHostToDevice));
}

extern "C" int fk_cuda_malloc(void **ptr, int64_t bytes) {
    if (!ptr) return FK_ENULL;
    *ptr = nullptr;
    if (bytes < 0) return FK_EBADSHAPE;
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    return fkcuda::status_of(cudaMalloc(ptr, bytes > 0 ? (size_t)bytes : 1));
}

extern "C" int fk_cuda_free(void *ptr) {
    return ptr ? fkcuda::status_of(cudaFree(ptr)) : FK_OK;
}

extern "C" double fk_cuda_peak_bandwidth(void) {
    int rc = fkcuda::require_device();
    if (rc != FK_OK) return rc;
    int khz = 0, bits = 0;
    rc = fkcuda::status_of(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, 0));
    if (rc == FK_OK)
        rc = fkcuda::status_of(cudaDeviceGetAttribute(&bits, cudaDevAttrGlobalMemoryBusWidth, 0));
    if (rc != FK_OK) return rc;
    return 2.0 * khz * 1e3 * (bits / 8.0);
}
