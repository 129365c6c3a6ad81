# cython: language_level=3
"""Scoped NumPy allocator that reuses large buffers (see buffer_cache.h).

``with cached_buffers(): ...`` makes NumPy allocate through the cache in this
context only (NumPy's handlers are context-local); arrays made there free
through it whenever they die.
"""
from contextlib import contextmanager
from libc.string cimport strncpy
from cpython.pycapsule cimport PyCapsule_New

cimport numpy as cnp

cnp.import_array()

cdef extern from "buffer_cache.h" nogil:
    void *fk_bc_malloc(void *ctx, size_t size)
    void *fk_bc_calloc(void *ctx, size_t nelem, size_t elsize)
    void *fk_bc_realloc(void *ctx, void *ptr, size_t size)
    void fk_bc_free(void *ctx, void *ptr, size_t size)
    void fk_bc_set_limit(size_t limit)
    size_t fk_bc_cached_bytes()

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyDataMemAllocator:
        void *ctx
        void *(*malloc)(void *ctx, size_t size) noexcept nogil
        void *(*calloc)(void *ctx, size_t nelem, size_t elsize) noexcept nogil
        void *(*realloc)(void *ctx, void *ptr, size_t new_size) noexcept nogil
        void (*free)(void *ctx, void *ptr, size_t size) noexcept nogil
    ctypedef struct PyDataMem_Handler:
        char name[127]
        unsigned char version
        PyDataMemAllocator allocator
    object PyDataMem_SetHandler(object handler)

cdef PyDataMem_Handler _handler
strncpy(_handler.name, b"fastkeras_buffer_cache", 126)
_handler.version = 1
_handler.allocator.ctx = NULL
_handler.allocator.malloc = <void *(*)(void *, size_t) noexcept nogil>fk_bc_malloc
_handler.allocator.calloc = <void *(*)(void *, size_t, size_t) noexcept nogil>fk_bc_calloc
_handler.allocator.realloc = <void *(*)(void *, void *, size_t) noexcept nogil>fk_bc_realloc
_handler.allocator.free = <void (*)(void *, void *, size_t) noexcept nogil>fk_bc_free
_capsule = PyCapsule_New(<void *>&_handler, b"mem_handler", NULL)


@contextmanager
def cached_buffers():
    """Allocate NumPy data through the buffer cache inside this block."""
    old = PyDataMem_SetHandler(_capsule)
    try:
        yield
    finally:
        PyDataMem_SetHandler(old)


def set_limit(size_t nbytes):
    """Keep at most nbytes of freed large buffers (0 keeps none)."""
    fk_bc_set_limit(nbytes)


def cached_bytes():
    """Bytes currently held in the cache."""
    return fk_bc_cached_bytes()
