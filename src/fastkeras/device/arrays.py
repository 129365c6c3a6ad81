"""Arrays of the plan's backends: views of device buffers and model inputs that live in GPU
memory (``DeviceInput``)."""
import numpy as np

__all__ = ["DeviceInput", "DeviceView", "size_of"]


def size_of(arr):
    return int(np.prod(arr.shape))


class DeviceView:
    """Another shape of a device array (same memory, kept alive by the view), or rows
    start:stop of one (offset=start * row elements)."""

    def __init__(self, base, shape, offset=None):
        shape = tuple(int(d) for d in shape)
        if offset is None and int(np.prod(shape)) != size_of(base):
            raise ValueError(f"cannot view a device array of shape {base.shape} as {shape}")
        offset = offset or 0
        if offset < 0 or offset + int(np.prod(shape)) > size_of(base):
            raise ValueError(f"rows outside the device array of shape {base.shape}")
        self.base = base.base if isinstance(base, DeviceView) else base
        self._ptr = base._ptr + offset * base.dtype.itemsize
        self.shape, self.dtype = shape, base.dtype

    @property
    def size(self):
        return size_of(self)

    @property
    def __cuda_array_interface__(self):
        from fastkeras import cuda

        return cuda.interface_of(self._ptr, self.shape, self.dtype)


class WrappedView:
    """A validated DeviceView (fastkeras.cuda.device_array) as the plan's arrays look."""

    def __init__(self, view):
        self.base, self._ptr, self.shape, self.dtype = view, view.ptr, view.shape, view.dtype


class DeviceInput:
    """A model input that lives in GPU memory (CuPy, PyTorch, JAX, DeviceArray, ...):
    fit / evaluate / predict of a device model take its rows where they are (a slice is a
    pointer offset, shuffled rows one gather on the device); a CPU model copies it to the
    host once. rows: None (all), (start, stop), or an int64 array of row indices."""

    def __init__(self, view, keep, rows=None):
        self.view, self.keep, self.rows = view, keep, rows

    @classmethod
    def of(cls, x, name):
        from fastkeras import cuda

        view = cuda.device_array(x, name)
        if view.dtype.kind not in "fiub" or len(view.shape) < 1:
            raise ValueError(f"`{name}`: a device input must be a numeric array with a batch "
                             f"axis, got shape {view.shape} of {view.dtype}")
        return cls(view, x)

    def _range(self):
        return (0, self.view.shape[0]) if self.rows is None else self.rows

    @property
    def shape(self):
        n = len(self.rows) if isinstance(self.rows, np.ndarray) else \
            self._range()[1] - self._range()[0]
        return (n,) + tuple(self.view.shape[1:])

    @property
    def ndim(self):
        return len(self.view.shape)

    @property
    def dtype(self):
        return self.view.dtype

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        if isinstance(self.rows, np.ndarray):
            return DeviceInput(self.view, self.keep, self.rows[idx])
        start, stop = self._range()
        if isinstance(idx, slice):
            a, b, step = idx.indices(stop - start)
            if step == 1:
                return DeviceInput(self.view, self.keep, (start + a, start + max(a, b)))
        return DeviceInput(self.view, self.keep, np.arange(start, stop, dtype=np.int64)[idx])

    def to_host(self):
        """The rows as a NumPy array (one device-to-host copy of the whole array)."""
        from fastkeras import cuda

        full = np.empty(self.view.shape, self.view.dtype)
        if full.size:
            cuda._core().cuda_copy(self.view.ptr, full, True)
        if isinstance(self.rows, np.ndarray):
            return full[self.rows]
        start, stop = self._range()
        return full[start:stop]

