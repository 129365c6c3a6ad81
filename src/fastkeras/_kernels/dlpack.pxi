# DLPack (the array-exchange ABI of dmlc/dlpack, legacy "dltensor" capsules): declared here
# from the published struct layout. Included by _core.pyx.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from cpython.pycapsule cimport PyCapsule_IsValid, PyCapsule_GetPointer, PyCapsule_SetName

cdef extern from *:
    """
    typedef struct { int device_type; int32_t device_id; } fk_DLDevice;
    typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } fk_DLDataType;
    typedef struct {
        void *data; fk_DLDevice device; int32_t ndim; fk_DLDataType dtype;
        int64_t *shape; int64_t *strides; uint64_t byte_offset;
    } fk_DLTensor;
    typedef struct fk_DLManagedTensor {
        fk_DLTensor dl_tensor; void *manager_ctx;
        void (*deleter)(struct fk_DLManagedTensor *self);
    } fk_DLManagedTensor;
    static void fk_dl_delete(fk_DLManagedTensor *t) { if (t && t->deleter) t->deleter(t); }
    """
    ctypedef struct fk_DLDevice:
        int device_type
        int32_t device_id
    ctypedef struct fk_DLDataType:
        uint8_t code
        uint8_t bits
        uint16_t lanes
    ctypedef struct fk_DLTensor:
        void *data
        fk_DLDevice device
        int32_t ndim
        fk_DLDataType dtype
        int64_t *shape
        int64_t *strides
        uint64_t byte_offset
    ctypedef struct fk_DLManagedTensor:
        fk_DLTensor dl_tensor
    void fk_dl_delete(fk_DLManagedTensor *t)


cdef class DLPackTensor:
    """A consumed DLPack capsule: the tensor's facts, kept alive (its producer's deleter
    runs when this object goes away)."""
    cdef fk_DLManagedTensor *mt
    cdef readonly size_t ptr
    cdef readonly tuple shape
    cdef readonly object strides  # in elements, or None (C-contiguous)
    cdef readonly int device_type
    cdef readonly int device_id
    cdef readonly int code
    cdef readonly int bits
    cdef readonly int lanes

    def __dealloc__(self):
        if self.mt != NULL:
            fk_dl_delete(self.mt)
            self.mt = NULL


def dlpack_consume(object capsule):
    """Take ownership of a legacy DLPack capsule (named "dltensor", renamed "used_dltensor"
    as the protocol asks) and return a DLPackTensor."""
    if not PyCapsule_IsValid(capsule, b"dltensor"):
        raise TypeError("expected an unused DLPack capsule named 'dltensor'")
    cdef fk_DLManagedTensor *mt = <fk_DLManagedTensor *>PyCapsule_GetPointer(capsule, b"dltensor")
    if mt == NULL:
        raise ValueError("the DLPack capsule holds NULL")
    PyCapsule_SetName(capsule, b"used_dltensor")
    cdef DLPackTensor t = DLPackTensor.__new__(DLPackTensor)
    t.mt = mt
    cdef fk_DLTensor *d = &mt.dl_tensor
    if d.ndim < 0 or d.ndim > 64:
        raise ValueError(f"DLPack tensor with ndim {d.ndim}")
    if d.ndim > 0 and d.shape == NULL:
        raise ValueError("DLPack tensor without a shape")
    t.shape = tuple(d.shape[i] for i in range(d.ndim))
    t.strides = None if d.strides == NULL else tuple(d.strides[i] for i in range(d.ndim))
    t.ptr = <size_t>d.data + <size_t>d.byte_offset
    t.device_type = d.device.device_type
    t.device_id = d.device.device_id
    t.code = d.dtype.code
    t.bits = d.dtype.bits
    t.lanes = d.dtype.lanes
    return t
