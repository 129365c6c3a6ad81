# DLPack (the array-exchange ABI of dmlc/dlpack): legacy "dltensor" and versioned (1.x)
# "dltensor_versioned" capsules, declared here from the published struct layouts. Included
# by _core.pyx.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
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
    typedef struct { uint32_t major; uint32_t minor; } fk_DLPackVersion;
    typedef struct fk_DLManagedTensorVersioned {
        fk_DLPackVersion version; void *manager_ctx;
        void (*deleter)(struct fk_DLManagedTensorVersioned *self);
        uint64_t flags; fk_DLTensor dl_tensor;
    } fk_DLManagedTensorVersioned;
    static void fk_dlv_delete(fk_DLManagedTensorVersioned *t) {
        if (t && t->deleter) t->deleter(t);
    }
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
    ctypedef struct fk_DLPackVersion:
        uint32_t major
        uint32_t minor
    ctypedef struct fk_DLManagedTensorVersioned:
        fk_DLPackVersion version
        uint64_t flags
        fk_DLTensor dl_tensor
    void fk_dlv_delete(fk_DLManagedTensorVersioned *t)


cdef class DLPackTensor:
    """A consumed DLPack capsule: the tensor's facts, kept alive (its producer's deleter
    runs when this object goes away)."""
    cdef fk_DLManagedTensor *mt
    cdef fk_DLManagedTensorVersioned *mtv
    cdef readonly size_t ptr
    cdef readonly bint readonly
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
        if self.mtv != NULL:
            fk_dlv_delete(self.mtv)
            self.mtv = NULL


def dlpack_consume(object capsule):
    """Take ownership of an unused DLPack capsule ("dltensor", or "dltensor_versioned" of
    major version 1), rename it "used_..." as the protocol asks, and return a
    DLPackTensor."""
    cdef DLPackTensor t = DLPackTensor.__new__(DLPackTensor)
    cdef fk_DLTensor *d
    if PyCapsule_IsValid(capsule, b"dltensor_versioned"):
        t.mtv = <fk_DLManagedTensorVersioned *>PyCapsule_GetPointer(capsule,
                                                                    b"dltensor_versioned")
        if t.mtv == NULL:
            raise ValueError("the DLPack capsule holds NULL")
        PyCapsule_SetName(capsule, b"used_dltensor_versioned")
        if t.mtv.version.major != 1:
            raise ValueError(f"DLPack version {t.mtv.version.major}.{t.mtv.version.minor} is "
                             f"not supported (1.x is)")
        d = &t.mtv.dl_tensor
        t.readonly = (t.mtv.flags & 1) != 0  # DLPACK_FLAG_BITMASK_READ_ONLY
    elif PyCapsule_IsValid(capsule, b"dltensor"):
        t.mt = <fk_DLManagedTensor *>PyCapsule_GetPointer(capsule, b"dltensor")
        if t.mt == NULL:
            raise ValueError("the DLPack capsule holds NULL")
        PyCapsule_SetName(capsule, b"used_dltensor")
        d = &t.mt.dl_tensor
        t.readonly = False
    else:
        raise TypeError("expected an unused DLPack capsule ('dltensor' or "
                        "'dltensor_versioned')")
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
