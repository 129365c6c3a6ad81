"""Data adapters for fit / evaluate / predict: NumPy arrays (and structures of them),
generators and iterables of batches, and keras.utils.Sequence / PyDataset, each read
as a re-iterable source of packed (x, y, sample_weight) batches."""
import math
import warnings

import numpy as np

from fastkeras import _rng
from fastkeras.layers.base import _flatten
from fastkeras.ops.tensor import Tensor

__all__ = ["Sequence", "PyDataset", "unpack_x_y_sample_weight", "pack_x_y_sample_weight",
           "ArrayData", "IterData", "BatchSource"]


class Sequence:
    """Base class of batch providers for fit (keras.utils.Sequence): implement
    ``__len__`` (batches per epoch) and ``__getitem__(index)`` -> (x, y[, sample_weight])."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() (batches "
                                  "per epoch)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) "
                                  "-> (x, y[, sample_weight])")

    def on_epoch_end(self):
        pass


class PyDataset(Sequence):
    """Keras 3's name for a batch provider (keras.utils.PyDataset): a Sequence whose
    constructor takes Keras' ``workers``, ``use_multiprocessing`` and ``max_queue_size``.
    fastkeras reads the batches in the calling thread, in order (the arguments are kept as
    attributes, for code that reads them); ``num_batches`` is ``len(self)``."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PyDataset: `{name}` must be a positive integer, got "
                                 f"{value!r}")
        self._workers, self._use_multiprocessing = workers, bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return self.__dict__.get("_workers", 1)

    @property
    def use_multiprocessing(self):
        return self.__dict__.get("_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return self.__dict__.get("_max_queue_size", 10)

    @property
    def num_batches(self):
        return len(self)


# ------------------------------------------------------------------------------ data
def as_struct(data, name, device_ok=False):
    """Arrays (numpy) of a nested list / dict / single input, with a clear error. Arrays in
    GPU memory become DeviceInputs when device_ok (a device model takes their rows where
    they are), else host copies (one device-to-host copy each)."""
    def conv(v):
        if isinstance(v, Tensor):
            return v._value
        if not isinstance(v, np.ndarray) and is_on_device(v):
            from fastkeras.device.arrays import DeviceInput

            d = DeviceInput.of(v, name)
            return d if device_ok else d.to_host()
        a = np.asarray(v)
        if a.dtype == object:
            raise TypeError(f"`{name}` must hold numeric arrays, got an object array")
        return a
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: conv(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(v, (np.ndarray, Tensor)) for v in data):
        return [conv(v) for v in data]
    return conv(data)


def floats_to_floatx(x):
    """Keras 3's array data adapter: float arrays given to fit / evaluate / predict that
    are not in floatx are cast to it (a float64 model fed float64 arrays computes on their
    float32 values, as Keras'; a direct ``model(x)`` call keeps float64)."""
    from fastkeras import config

    fx = np.dtype(config.floatx()) if config.floatx() != "bfloat16" else np.dtype("float32")

    def cast(v):
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype != fx:
            return v.astype(fx)
        return v
    if isinstance(x, dict):
        return {k: cast(v) for k, v in x.items()}
    if isinstance(x, list):
        return [cast(v) for v in x]
    return cast(x)


def is_on_device(v):
    if not (hasattr(v, "__cuda_array_interface__") or hasattr(v, "__dlpack_device__")):
        return False
    from fastkeras import cuda

    return cuda.is_device_array(v)


def take_samples(struct, idx):
    if struct is None:
        return None
    if isinstance(struct, dict):
        return {k: v[idx] for k, v in struct.items()}
    if isinstance(struct, list):
        return [v[idx] for v in struct]
    return struct[idx]


def num_samples(struct, name):
    flat = _flatten(struct)
    lens = {int(a.shape[0]) if a.ndim else 1 for a in flat}
    if len(lens) != 1:
        raise ValueError(f"All arrays in `{name}` must have the same number of samples, got "
                         f"lengths {sorted(lens)}")
    return lens.pop()


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) of a batch as fit passes it to train_step: ``x`` alone,
    ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (keras.utils.unpack_x_y_sample_weight;
    missing parts are None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} elements")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch structure Keras hands to train_step / test_step / predict_step: ``x``
    alone when there are no targets (``(x,)`` when x is itself a list or tuple, so that it
    is not read as (x, y)), else ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return x, y
    return x, y, sample_weight


def ran_out_warning(stacklevel=4):
    warnings.warn("Your input ran out of data; interrupting training. Make sure that your "
                  "dataset or generator can generate at least `steps_per_epoch * epochs` "
                  "batches. You may need to use the `.repeat()` function when building your "
                  "dataset.", UserWarning, stacklevel=stacklevel)


class BatchSource:
    """Batches, epoch by epoch, as Keras' EpochIterator hands them out. Without
    ``steps_per_epoch`` an epoch is one pass over the data. With it, an epoch is that many
    batches taken from the current pass, which carries over into the next epoch; where the
    pass ends first, the epoch ends early and ``ran_out`` is set. A source that can be read
    again (arrays, a Sequence, a re-iterable) starts a new pass at the next epoch; a
    generator cannot (``restartable`` False)."""

    restartable = True
    steps_per_epoch = None

    def _new_pass(self):  # an iterator over one pass of packed batches
        raise NotImplementedError

    def _end_pass(self):
        pass

    def num_batches(self):  # batches in a pass, or None when unknown
        return None

    def steps(self):
        return self.steps_per_epoch if self.steps_per_epoch is not None else \
            self.num_batches()

    def batches(self):
        """This epoch's batches."""
        self.ran_out = False
        passes = getattr(self, "_passes", 0)
        if self.steps_per_epoch is None:
            count = 0
            for batch in self._new_pass():
                count += 1
                yield batch
            self._passes = passes + 1
            self._end_pass()
            # a generator read to its end yields nothing the next time
            self.ran_out = count == 0 and passes > 0 and not self.restartable
            return
        it = getattr(self, "_it", None)
        fresh = it is None
        if fresh:
            it, self._seen = self._new_pass(), 0
        taken = 0
        while taken < self.steps_per_epoch:
            try:
                batch = next(it)
            except StopIteration:
                self._it = None
                self._passes = passes + 1
                self._end_pass()
                if taken == 0 and not fresh and self.restartable:
                    # the last pass ended exactly at the previous epoch's end
                    it, fresh, self._seen = self._new_pass(), True, 0
                    continue
                self.ran_out = True
                return
            self._it = it
            taken += 1
            self._seen += 1
            yield batch
        known = self.num_batches()
        if known is not None and self._seen >= known:  # the pass is used up: a new one next
            self._it = None
            self._passes = passes + 1
            self._end_pass()


class ArrayData(BatchSource):
    """Batches of in-memory arrays, packed as Keras packs them."""

    def __init__(self, x, y, sw, batch_size, shuffle=False, steps_per_epoch=None):
        self.x, self.y, self.sw = x, y, sw
        self.n = num_samples(x, "x")
        if y is not None:
            ny = num_samples(y, "y")
            if ny != self.n:
                raise ValueError(f"`x` and `y` must have the same number of samples: x has "
                                 f"{self.n}, y has {ny}")
        if sw is not None and num_samples(sw, "sample_weight") != self.n:
            raise ValueError(f"`sample_weight` must have one entry per sample ({self.n})")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps_per_epoch = steps_per_epoch

    def num_batches(self):
        return max(math.ceil(self.n / self.batch_size), 1) if self.n else 0

    def _new_pass(self):
        order = np.arange(self.n)
        if self.shuffle:
            order = _rng.generator().permutation(self.n)
        for s in range(0, self.n, self.batch_size):
            idx = order[s:s + self.batch_size]
            if not self.shuffle:
                idx = slice(s, s + self.batch_size)
            yield pack_x_y_sample_weight(take_samples(self.x, idx), take_samples(self.y, idx),
                                         take_samples(self.sw, idx))


DATA_NAMES = ("x", "y", "sample_weight")


class IterData(BatchSource):
    """Batches from a Sequence, a re-iterable (a list of batches, a dataset object) or a
    Python generator / iterator, handed on as they come (a tuple stays a tuple of the same
    length; anything else is x alone)."""

    def __init__(self, source, steps, shuffle=False, weigh=None):
        self.source, self.steps_per_epoch = source, steps
        self.shuffle = shuffle  # a Sequence's batches in a new order each pass (Keras)
        self.weigh = weigh  # (y, sample_weight) -> sample_weight: fit's class_weight
        self._it = None
        if isinstance(source, Sequence):
            self.restartable = True
        else:
            try:
                self.restartable = iter(source) is not source
            except TypeError:
                raise TypeError(f"Expected arrays, a Sequence or an iterable of batches, got "
                                f"{type(source).__name__}") from None

    def num_batches(self):
        if isinstance(self.source, Sequence) or hasattr(self.source, "__len__"):
            return len(self.source)
        return None

    def _new_pass(self):
        if isinstance(self.source, Sequence):
            n = len(self.source)
            order = _rng.generator().permutation(n) if self.shuffle else range(n)
            items = (self.source[int(i)] for i in order)
        else:
            items = iter(self.source)
        for item in items:
            if isinstance(item, tuple):
                item = tuple(as_struct(v, DATA_NAMES[i] if i < 3 else "data")
                             for i, v in enumerate(item))
                if self.weigh is not None and len(item) >= 2:
                    x, y, sw = (item + (None,))[:3]
                    item = (x, y, self.weigh(y, sw))
                yield item
            else:  # x alone ((x,) when x is a list, so that it is not read as (x, y))
                yield pack_x_y_sample_weight(as_struct(item, "x"))

    def _end_pass(self):
        if isinstance(self.source, Sequence):
            self.source.on_epoch_end()


def is_iterable_source(x):
    return isinstance(x, Sequence) or (hasattr(x, "__next__") and not isinstance(x, np.ndarray))\
        or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict, Tensor)))


def check_finite(struct, name):
    for a in _flatten(struct):
        if not isinstance(a, np.ndarray):  # a DeviceInput: not scanned on the host
            continue
        # one float64 sum (no temporary) is finite unless some value is NaN / inf
        if a.dtype.kind == "f" and not np.isfinite(np.sum(a, dtype=np.float64)) and \
                not np.isfinite(a).all():
            bad = int(np.size(a) - np.isfinite(a).sum())
            raise ValueError(f"`{name}` contains {bad} NaN or infinite values")


# ------------------------------------------------------------------------------ compile
