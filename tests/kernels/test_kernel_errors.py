"""C statuses become typed exceptions carrying the status (fastkeras.kernel_errors):
callers branch on ``.status``, never on the message."""
import numpy as np
import pytest

from fastkeras import kernel_errors as ke
from fastkeras._kernels import _core, softmax_xent as _kx


def test_status_enum_mirrors_the_c_header():
    codes = _core.status_codes()
    names = {"FK_OK": "OK", "FK_EBADSHAPE": "BAD_SHAPE", "FK_ENULL": "NULL",
             "FK_ELABEL": "LABEL", "FK_EBADARG": "BAD_ARG", "FK_ENOMEM": "NO_MEMORY",
             "FK_ENODEVICE": "NO_DEVICE", "FK_ECUDA": "CUDA", "FK_ENOTBUILT": "NOT_BUILT",
             "FK_EHOSTPTR": "HOST_POINTER"}
    assert set(codes) == set(names)
    for c_name, py_name in names.items():
        assert ke.Status[py_name] == codes[c_name], c_name
    assert len(ke.Status) == len(codes)


@pytest.mark.parametrize("status, cls, builtin", [
    (ke.Status.BAD_SHAPE, ke.KernelValueError, ValueError),
    (ke.Status.NULL, ke.KernelValueError, ValueError),
    (ke.Status.LABEL, ke.KernelValueError, ValueError),
    (ke.Status.BAD_ARG, ke.KernelValueError, ValueError),
    (ke.Status.HOST_POINTER, ke.KernelValueError, ValueError),
    (ke.Status.NO_MEMORY, ke.KernelMemoryError, MemoryError),
    (ke.Status.NO_DEVICE, ke.KernelRuntimeError, RuntimeError),
    (ke.Status.CUDA, ke.KernelRuntimeError, RuntimeError),
    (ke.Status.NOT_BUILT, ke.KernelRuntimeError, RuntimeError),
])
def test_each_status_raises_its_typed_error(status, cls, builtin):
    with pytest.raises(cls) as info:
        ke.raise_for_status(int(status), "fk_something", _core.status_str(int(status)),
                            "detail" if status is ke.Status.CUDA else "")
    err = info.value
    assert isinstance(err, builtin) and isinstance(err, ke.KernelError)
    assert err.status is status and err.function == "fk_something"
    assert str(err).startswith(f"fk_something: {_core.status_str(int(status))} "
                               f"(status {int(status)})")
    if status is ke.Status.CUDA:
        assert str(err).endswith(": detail")


def test_ok_raises_nothing_and_an_unknown_code_is_still_typed():
    assert ke.raise_for_status(0, "fk_x", "ok") is None
    with pytest.raises(ke.KernelRuntimeError) as info:
        ke.raise_for_status(-99, "fk_x", _core.status_str(-99))
    assert info.value.status == -99 and "unknown status" in str(info.value)


def test_a_kernel_call_carries_its_status():
    x = np.zeros((2, 3), np.float32)
    y = np.array([0, 7], np.int64)  # 7 is outside [0, 3)
    with pytest.raises(ke.KernelValueError) as info:
        _kx.sparse(x, y, None, want_loss=True, want_grad=False)
    assert info.value.status is ke.Status.LABEL
    assert info.value.function == "fk_softmax_xent_sparse"
