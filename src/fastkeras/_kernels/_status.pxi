# Turning a C status into a typed Python exception (fastkeras.kernel_errors) that names
# the C function and carries the status.
from fastkeras.kernel_errors import raise_for_status as _raise_for_status


cdef inline int check_status(int status, str func) except -1:
    if status == 0:
        return 0
    detail = ""
    if status == FK_ECUDA:  # what the CUDA runtime said
        detail = fk_cuda_last_error().decode(errors='replace')
    _raise_for_status(status, func, fk_status_str(status).decode(), detail)
    return -1


# A flat array's length against the size the geometry implies, before the GIL is released.
cdef inline void expect(Py_ssize_t got, long long want, str what) except *:
    if got != want:
        raise ValueError(f"{what} has {got} elements, expected {want}")
