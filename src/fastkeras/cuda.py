"""GPU memory as fastkeras sees it: arrays that live on a CUDA device.

Anything exposing ``__cuda_array_interface__`` (CuPy, PyTorch, Numba, or the small
``DeviceArray`` below) or a CUDA-resident DLPack tensor (``__dlpack__`` /
``__dlpack_device__``, versioned 1.x or legacy capsules: JAX, PyTorch, CuPy, ...) is accepted wherever fastkeras takes an
array:

* the rank metrics (``AUC``, ``KS`` in their default binned form) bin device scores on the
  GPU where they are, without copying them: only the (num_thresholds + 1)-bucket
  histograms come back to the host;
* everything else copies the array to the host once (``to_host``) and runs on the CPU.

``DeviceArray`` owns device memory allocated by fastkeras' CUDA build, for users (and
tests, and benchmarks) without CuPy. In a CPU-only build, or without a GPU, these raise
RuntimeError ("not compiled" / "no CUDA device"); nothing aborts the process."""
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["is_available", "build_has_cuda", "gemm_backend", "device_count", "device_name",
           "peak_bandwidth", "is_device_array", "device_array", "DeviceArray", "to_host",
           "to_device", "optimizer_step"]

# typestr kinds NumPy can hold on the host: bool, signed / unsigned integers, floats
_KINDS = "biuf"


def _core():
    from fastkeras._kernels import _core

    return _core


def is_available():
    """True when this build has CUDA and a device is present."""
    return device_count() > 0


def build_has_cuda():
    """True when this build compiled the CUDA kernels (FASTKERAS_CUDA=ON)."""
    return bool(_core().build_facts()["cuda_compiled"])


def require_available(what):
    """RuntimeError naming `what` unless a CUDA device can be used: says whether this build
    lacks CUDA or no device was found."""
    if not is_available():
        why = ("this build has no CUDA support: pip install . -Ccmake.define.FASTKERAS_CUDA=ON"
               if not build_has_cuda() else "none was found")
        raise RuntimeError(f"{what}: no CUDA device available ({why})")


def gemm_backend(name=None):
    """Which code computes the device's matrix products: "cublas" (loaded at run time when
    the library is there) or "tiled" (fastkeras' own kernel). Give a name to choose;
    "cublas" falls back to "tiled" where cuBLAS cannot be loaded. The environment variable
    FASTKERAS_CUBLAS=0 makes "tiled" the default. Returns the backend in force."""
    from fastkeras._kernels import devops

    names = {"tiled": 0, "cublas": 1}
    if name is not None and name not in names:
        raise ValueError(f"`name` must be 'cublas' or 'tiled', got {name!r}")
    return "cublas" if devops.gemm_backend(names.get(name, -1)) == 1 else "tiled"


def device_count():
    return _core().cuda_device_count()


def device_name():
    """Device 0's name, or None."""
    return _core().cuda_device_name()


def peak_bandwidth():
    """Device 0's peak memory bandwidth in bytes/s (the benchmarks' GPU yardstick)."""
    return _core().cuda_peak_bandwidth()


_DL_CUDA, _DL_CUDA_MANAGED = 2, 13  # DLPack device types in GPU memory


def is_device_array(x):
    """True for arrays in GPU memory: __cuda_array_interface__, or DLPack on a CUDA device."""
    if hasattr(x, "__cuda_array_interface__"):
        return True
    dev = getattr(x, "__dlpack_device__", None)
    if dev is None or isinstance(x, np.ndarray):
        return False
    try:
        return int(dev()[0]) in (_DL_CUDA, _DL_CUDA_MANAGED)
    except Exception:  # noqa: BLE001 - a producer that cannot say is not on the GPU
        return False


class _Extent:
    """size and nbytes from shape and dtype (Python integers: no overflow)."""

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize


@dataclass(frozen=True)
class DeviceView(_Extent):
    """What __cuda_array_interface__ says, checked: a C-contiguous array at `ptr`."""
    ptr: int
    shape: tuple
    dtype: np.dtype
    readonly: bool
    owner: object = None  # a consumed DLPack tensor, kept alive while the view is used


def _require_c_contiguous(shape, strides, unit, name, what):
    """Refuse strides (in multiples of `unit`; None means C order) that are not C order."""
    if strides is None or math.prod(shape) <= 1:
        return
    want, step = [], unit
    for d in reversed(shape):
        want.append(step)
        step *= max(d, 1)
    if tuple(int(v) for v in strides) != tuple(reversed(want)):
        raise ValueError(f"`{name}`: the device array must be C-contiguous ({what} "
                         f"{tuple(strides)} for shape {shape})")


def _check_extent(shape, dtype, name):
    """Shapes whose bytes do not fit int64 describe no real array."""
    if any(d < 0 for d in shape):
        raise ValueError(f"`{name}`: negative dimension in shape {shape}")
    if math.prod(shape) * dtype.itemsize >= 1 << 62:
        raise ValueError(f"`{name}`: shape {shape} of {dtype} spans 2**62 bytes or more")


def device_array(x, name="array"):
    """Validate `x`'s __cuda_array_interface__ (versions 0-3) and return a DeviceView.
    Refused with the argument named: a mask, non-C-contiguous strides, a dtype NumPy cannot
    hold (or a non-native byte order), a NULL pointer to a non-empty array."""
    try:
        cai = x.__cuda_array_interface__
    except AttributeError:
        if is_device_array(x):
            return _dlpack_view(x, name)
        raise TypeError(f"`{name}` is not a device array (no __cuda_array_interface__, not a "
                        f"CUDA DLPack tensor)") from None
    if not isinstance(cai, dict):
        raise TypeError(f"`{name}`.__cuda_array_interface__ must be a dict, got {type(cai)}")
    try:
        shape = tuple(int(d) for d in cai["shape"])
        typestr = cai["typestr"]
        ptr, readonly = cai["data"]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"`{name}`: malformed __cuda_array_interface__ ({e!r})") from None
    try:
        dtype = np.dtype(typestr)
    except TypeError:
        raise TypeError(f"`{name}`: unknown element type {typestr!r}") from None
    if dtype.kind not in _KINDS or not dtype.isnative:
        raise TypeError(f"`{name}`: device arrays of {dtype} ({typestr!r}) are not supported; "
                        f"expected native-order bool, integers or floats")
    _check_extent(shape, dtype, name)
    if cai.get("mask") is not None:
        raise ValueError(f"`{name}`: masked device arrays are not supported")
    _require_c_contiguous(shape, cai.get("strides"), dtype.itemsize, name, "strides")
    view = DeviceView(int(ptr or 0), shape, dtype, bool(readonly))
    if view.ptr == 0 and view.size > 0:
        raise ValueError(f"`{name}`: NULL device pointer for a non-empty array {shape}")
    return view


def optimizer_step(args, params, grads, slots=(None, None, None), ema=None, gscale=None):
    """One fused optimizer step, in place, on tensors in GPU memory (the kernel-level twin
    of the CPU's; `args` as fastkeras' optimizers build it, e.g. {"kind": "adam", "lr": ...,
    "beta1": ..., "beta2": ..., "epsilon": ..., "alpha": lr-correction}). params, grads,
    each of the 3 slot lists (or None) and ema (or None) hold one device array per tensor,
    all float32 or all float64, C-contiguous, with matching sizes; params, slots and ema
    must be writable. Validated here, before the GIL is released."""
    from fastkeras._kernels import optim as _ko

    n = len(params)
    if len(grads) != n:
        raise ValueError(f"got {len(grads)} gradients for {n} parameters")
    if len(slots) != 3:
        raise ValueError("slots must be 3 lists (or None)")
    pv = [device_array(p, f"params[{i}]") for i, p in enumerate(params)]
    dtype = pv[0].dtype if pv else np.dtype(np.float32)
    if dtype.name not in ("float32", "float64"):
        raise TypeError(f"params must be float32 or float64, got {dtype}")

    def checked(arrays, what, writable):
        if arrays is None:
            return None
        if len(arrays) != n:
            raise ValueError(f"{what} has {len(arrays)} entries, expected {n}")
        out = []
        for i, a in enumerate(arrays):
            if a is None:
                out.append(0)
                continue
            v = device_array(a, f"{what}[{i}]")
            if v.dtype != dtype or v.size != pv[i].size:
                raise ValueError(f"{what}[{i}] must be {dtype} with {pv[i].size} elements, got "
                                 f"{v.dtype} with {v.size}")
            if writable and v.readonly:
                raise ValueError(f"{what}[{i}] is read-only")
            out.append(v.ptr)
        return out

    for i, v in enumerate(pv):
        if v.readonly:
            raise ValueError(f"params[{i}] is read-only")
    gp = checked(grads, "grads", False)
    sp = [checked(s, f"slots[{k}]", True) for k, s in enumerate(slots)]
    ep = checked(ema, "ema", True)
    _ko.step_device(dict(args), [v.size for v in pv], [v.ptr for v in pv], gp, sp, ep,
                    gscale, dtype == np.float64)


_DL_KINDS = {0: "i", 1: "u", 2: "f", 6: "b"}  # DLPack type codes NumPy can hold


def _dlpack_view(x, name):
    """A DeviceView of a CUDA DLPack tensor: a versioned (1.x) capsule where the producer
    offers one, else a legacy one; synchronised with the legacy default stream."""
    for kwargs in ({"stream": 1, "max_version": (1, 0)}, {"stream": 1}, {}):
        try:
            capsule = x.__dlpack__(**kwargs)
            break
        except TypeError:  # an older producer: fewer keywords
            continue
    else:
        raise TypeError(f"`{name}`.__dlpack__ accepts none of the protocol's calls")
    t = _core().dlpack_consume(capsule)
    return _dlpack_checked(t, name)


def _dlpack_checked(t, name):
    if t.lanes != 1 or t.code not in _DL_KINDS or t.bits not in (8, 16, 32, 64) or (
            t.code == 6 and t.bits != 8):
        raise TypeError(f"`{name}`: DLPack element type (code {t.code}, {t.bits} bits, "
                        f"{t.lanes} lanes) is not supported; expected bool, integers or floats")
    dtype = np.dtype(f"{_DL_KINDS[t.code]}{t.bits // 8}") if t.code != 6 else np.dtype(bool)
    shape = tuple(t.shape)
    _check_extent(shape, dtype, name)
    _require_c_contiguous(shape, t.strides, 1, name, "DLPack strides")
    view = DeviceView(int(t.ptr), shape, dtype, bool(t.readonly), t)
    if view.ptr == 0 and view.size > 0:
        raise ValueError(f"`{name}`: NULL device pointer for a non-empty array {shape}")
    return view


def to_host(x, name="array"):
    """A NumPy copy of device array `x` (one device-to-host copy)."""
    view = device_array(x, name)
    out = np.empty(view.shape, view.dtype)
    if view.size:
        _core().cuda_copy(view.ptr, out, True)
    return out


def to_device(a):
    """A DeviceArray holding a copy of host array `a`."""
    return DeviceArray.from_host(a)


def interface_of(ptr, shape, dtype):
    """The __cuda_array_interface__ (v3) of a C-contiguous, writable device array."""
    return {"shape": tuple(shape), "typestr": np.dtype(dtype).str, "data": (ptr, False),
            "version": 3, "strides": None, "stream": None}


class DeviceArray(_Extent):
    """A C-contiguous array in device memory owned by fastkeras (freed with the object),
    exposing __cuda_array_interface__ (v3) so CuPy / PyTorch / fastkeras can use it."""

    def __init__(self, shape, dtype="float32"):
        self.shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list))
                                             else (shape,)))
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in _KINDS:
            raise TypeError(f"DeviceArray: dtype {self.dtype} is not supported")
        if any(d < 0 for d in self.shape):
            raise ValueError(f"DeviceArray: negative dimension in shape {self.shape}")
        from fastkeras._limits import check_allocation

        check_allocation(self.shape, self.dtype, "DeviceArray")
        self._ptr = 0
        self._ptr = _core().cuda_malloc(self.nbytes)

    @classmethod
    def from_host(cls, a):
        a = np.ascontiguousarray(a)
        out = cls(a.shape, a.dtype)
        if a.size:
            _core().cuda_copy(out._ptr, a, False)
        return out

    def get(self):
        """The contents as a NumPy array (CuPy's spelling)."""
        return to_host(self)

    @property
    def __cuda_array_interface__(self):
        return interface_of(self._ptr, self.shape, self.dtype)

    def __del__(self):
        if getattr(self, "_ptr", 0):
            try:
                _core().cuda_free(self._ptr)
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                pass
            self._ptr = 0

    def __repr__(self):
        return f"fastkeras.cuda.DeviceArray(shape={self.shape}, dtype={self.dtype})"
