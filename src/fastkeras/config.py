"""Process-wide settings: kernel threads, floatx and epsilon (tf.keras.config names).

Threads: ``FASTKERAS_NUM_THREADS`` is read once at import; ``set_num_threads``
changes the value later. The value is passed to every kernel call as an
argument (never through ``omp_set_num_threads``), so a change made in one
thread never disturbs a kernel already running in another, and results are
identical whatever the thread count. Float matrix products run on the C core's
BLAS with this count (ops/products.py); NumPy's own BLAS pool is set to it too
(fastkeras/_numpy_blas.py).
"""
import os
import threading

__all__ = [
    "get_num_threads",
    "set_num_threads",
    "floatx",
    "set_floatx",
    "epsilon",
    "set_epsilon",
    "image_data_format",
    "set_image_data_format",
    "backend",
    "get_buffer_cache_limit",
    "set_buffer_cache_limit",
    "get_device",
    "set_device",
]

_lock = threading.Lock()
_FLOATX = "float32"
_EPSILON = 1e-7
_DEVICE = "cpu"
_ALLOWED_FLOATX = ("float16", "bfloat16", "float32", "float64")


def _default_threads():
    try:
        from fastkeras._kernels import _core

        return max(1, int(_core.build_facts()["default_num_threads"]))
    except ImportError:  # pragma: no cover - the compiled core is always built
        return max(1, os.cpu_count() or 1)


def _parse_threads(value, source):
    if isinstance(value, bool):
        raise TypeError(f"{source} must be a positive integer, got {value!r}")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{source} must be a positive integer, got {value!r}") from None
    if isinstance(value, float) and value != n:
        raise TypeError(f"{source} must be a positive integer, got {value!r}")
    if n < 1:
        raise ValueError(f"{source} must be >= 1, got {n}")
    return n


def _initial_threads():
    env = os.environ.get("FASTKERAS_NUM_THREADS")
    if env is None or env.strip() == "":
        return _default_threads()
    try:
        return _parse_threads(env.strip(), "FASTKERAS_NUM_THREADS")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid environment variable: {exc}") from None


_NUM_THREADS = _initial_threads()


def _pin_numpy_blas(n):
    """NumPy's own BLAS pool follows the same count (see fastkeras/_numpy_blas.py)."""
    from fastkeras import _numpy_blas

    _numpy_blas.set_threads(n)


_pin_numpy_blas(_NUM_THREADS)


def get_num_threads():
    """Number of threads the C kernels use (an upper bound: small inputs run on one)."""
    return _NUM_THREADS


def set_num_threads(n):
    """Set the number of threads the C kernels use (n >= 1)."""
    global _NUM_THREADS
    n = _parse_threads(n, "n")
    with _lock:
        _NUM_THREADS = n
        _pin_numpy_blas(n)


def floatx():
    """The default float dtype name, ``"float32"`` unless changed."""
    return _FLOATX


def set_floatx(value):
    """Set the default float dtype (``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``)."""
    global _FLOATX
    value = str(value)
    if value not in _ALLOWED_FLOATX:
        raise ValueError(f"Unknown `floatx` value: {value!r}. Expected one of {_ALLOWED_FLOATX}")
    _FLOATX = value


def epsilon():
    """The fuzz factor used in numeric expressions (Keras' ``epsilon()``, 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Set the fuzz factor used by losses that clip probabilities."""
    global _EPSILON
    value = float(value)
    if not (0.0 < value < 0.5):
        raise ValueError(f"epsilon must be in (0, 0.5), got {value}")
    _EPSILON = value


def image_data_format():
    """The default image layout, ``"channels_last"`` (keras.config.image_data_format)."""
    return "channels_last"


def set_image_data_format(data_format):
    """keras.config.set_image_data_format: fastkeras' layers default to channels_last, so
    only that value is accepted; pass ``data_format="channels_first"`` to each layer."""
    fmt = str(data_format).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    if fmt == "channels_first":
        raise NotImplementedError(
            "set_image_data_format: fastkeras layers default to `data_format`="
            "'channels_last'; a global 'channels_first' is not supported (pass "
            "data_format='channels_first' to each layer)")


def backend():
    """The backend's name: ``"fastkeras"`` (Keras answers "tensorflow", "jax", ...;
    fastkeras is its own backend, so code branching on those names takes its generic
    path)."""
    return "fastkeras"


_BUFFER_CACHE_LIMIT = 512 << 20


def get_buffer_cache_limit():
    """Bytes of freed large output buffers fastkeras may keep for reuse (512 MB default)."""
    return _BUFFER_CACHE_LIMIT


def set_buffer_cache_limit(nbytes):
    """Bound the buffer cache (see fastkeras.ops.buffers); 0 disables it and frees its buffers."""
    global _BUFFER_CACHE_LIMIT
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0, got {nbytes!r}")
    from fastkeras._kernels import _alloc

    _alloc.set_limit(nbytes)
    _BUFFER_CACHE_LIMIT = nbytes


def _parse_device(device, name="device"):
    """'cpu' or 'cuda' from the spellings users write ('gpu', 'cuda:0', '/GPU:0', ...)."""
    if not isinstance(device, str):
        raise TypeError(f"`{name}` must be a string such as 'cpu' or 'cuda', got {device!r}")
    d = device.strip().lower().lstrip("/")
    d = d.replace("device:", "")
    if d in ("cpu", "cpu:0"):
        return "cpu"
    if d in ("cuda", "gpu", "cuda:0", "gpu:0"):
        from fastkeras import cuda

        cuda.require_available(f"{name}={device!r}")
        return "cuda"
    raise ValueError(f"`{name}` must be 'cpu' or 'cuda' (also 'gpu', 'cuda:0', '/GPU:0'), got "
                     f"{device!r}")


def get_device():
    """The device that models compiled without a `device` train and predict on."""
    return _DEVICE


def set_device(device):
    """Train and predict on `device` ('cpu' or 'cuda') from now on, for every model compiled
    without its own `device`. 'cuda' needs the CUDA build and a GPU (RuntimeError
    otherwise); models outside what the device runs are refused when fit / evaluate /
    predict starts, naming the layer, loss or optimizer option."""
    global _DEVICE
    d = _parse_device(device)
    with _lock:
        _DEVICE = d
