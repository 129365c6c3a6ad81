# Turning a C status into a Python exception that names the C function.
cdef inline int check_status(int status, str func) except -1:
    if status == 0:
        return 0
    msg = f"{func}: {fk_status_str(status).decode()} (status {status})"
    if status == FK_ECUDA:  # what the CUDA runtime said
        msg += f": {fk_cuda_last_error().decode(errors='replace')}"
    if status == FK_ENOMEM:
        raise MemoryError(msg)
    if status == FK_ENODEVICE or status == FK_ECUDA or status == FK_ENOTBUILT:
        raise RuntimeError(msg)
    raise ValueError(msg)


# A flat array's length against the size the geometry implies, before the GIL is released.
cdef inline void expect(Py_ssize_t got, long long want, str what) except *:
    if got != want:
        raise ValueError(f"{what} has {got} elements, expected {want}")
