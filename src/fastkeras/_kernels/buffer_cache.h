/* A small cache of large freed NumPy data buffers, installed as a NumPy
 * PyDataMem_Handler only around fastkeras' own allocations. Buffers of at
 * least `min_size` bytes are kept on free (up to `limit` bytes in total, 8
 * of them) and handed back for an allocation of exactly the same size, so a
 * training loop stops paying the kernel's page faults and zeroing for every
 * fresh 30 MB gradient (glibc returns blocks over 32 MB to the system). */
#ifndef FASTKERAS_BUFFER_CACHE_H
#define FASTKERAS_BUFFER_CACHE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FK_BC_SLOTS 8

typedef struct fk_buffer_cache {
    void *ptr[FK_BC_SLOTS];
    size_t size[FK_BC_SLOTS];
    size_t total, limit, min_size;
    pthread_mutex_t lock;
} fk_buffer_cache;

static fk_buffer_cache fk_bc = {{0}, {0}, 0, (size_t)512 << 20, (size_t)8 << 20,
                                PTHREAD_MUTEX_INITIALIZER};

static void *fk_bc_take(size_t size) {
    void *p = NULL;
    pthread_mutex_lock(&fk_bc.lock);
    for (int i = 0; i < FK_BC_SLOTS; ++i)
        if (fk_bc.ptr[i] && fk_bc.size[i] == size) {
            p = fk_bc.ptr[i];
            fk_bc.ptr[i] = NULL;
            fk_bc.total -= size;
            break;
        }
    pthread_mutex_unlock(&fk_bc.lock);
    return p;
}

static void *fk_bc_malloc(void *ctx, size_t size) {
    (void)ctx;
    if (size >= fk_bc.min_size) {
        void *p = fk_bc_take(size);
        if (p) return p;
    }
    return malloc(size ? size : 1);
}

static void *fk_bc_calloc(void *ctx, size_t nelem, size_t elsize) {
    (void)ctx;
    if (elsize && nelem > SIZE_MAX / elsize) return NULL;
    size_t size = nelem * elsize;
    if (size >= fk_bc.min_size) {
        void *p = fk_bc_take(size);
        if (p) {
            memset(p, 0, size);
            return p;
        }
    }
    return calloc(nelem ? nelem : 1, elsize ? elsize : 1);
}

static void *fk_bc_realloc(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    return realloc(ptr, size ? size : 1);
}

static void fk_bc_free(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    if (!ptr) return;
    if (size >= fk_bc.min_size) {
        int kept = 0;
        pthread_mutex_lock(&fk_bc.lock);
        if (fk_bc.total + size <= fk_bc.limit)
            for (int i = 0; i < FK_BC_SLOTS; ++i)
                if (!fk_bc.ptr[i]) {
                    fk_bc.ptr[i] = ptr;
                    fk_bc.size[i] = size;
                    fk_bc.total += size;
                    kept = 1;
                    break;
                }
        pthread_mutex_unlock(&fk_bc.lock);
        if (kept) return;
    }
    free(ptr);
}

/* Set the limit (0 disables keeping buffers) and release what is over it. */
static void fk_bc_set_limit(size_t limit) {
    void *drop[FK_BC_SLOTS];
    int nd = 0;
    pthread_mutex_lock(&fk_bc.lock);
    fk_bc.limit = limit;
    for (int i = 0; i < FK_BC_SLOTS && fk_bc.total > limit; ++i)
        if (fk_bc.ptr[i]) {
            drop[nd++] = fk_bc.ptr[i];
            fk_bc.total -= fk_bc.size[i];
            fk_bc.ptr[i] = NULL;
        }
    pthread_mutex_unlock(&fk_bc.lock);
    for (int i = 0; i < nd; ++i) free(drop[i]);
}

static size_t fk_bc_cached_bytes(void) {
    pthread_mutex_lock(&fk_bc.lock);
    size_t t = fk_bc.total;
    pthread_mutex_unlock(&fk_bc.lock);
    return t;
}

#endif
