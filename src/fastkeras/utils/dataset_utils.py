"""timeseries_dataset_from_array and split_dataset (keras.utils names) without tf.data:
NumPy arrays in, NumPy arrays (or an iterable of NumPy batches) out."""
import itertools
import numbers
import random as _pyrandom

import numpy as np

from fastkeras.ops.tensor import Tensor

__all__ = ["timeseries_dataset_from_array", "split_dataset", "TimeseriesDataset"]


def _array(a, name):
    if isinstance(a, Tensor):
        return a._value
    try:
        return np.asarray(a)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array, got {type(a).__name__}") from None


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


class TimeseriesDataset:
    """The windows of timeseries_dataset_from_array as a re-iterable of NumPy batches
    (what the tf.data.Dataset of Keras yields, converted): ``for x, y in dataset``,
    ``len(dataset)`` batches, ``dataset[i]`` the i-th batch, ``dataset.take(n)`` the first
    n. ``fit`` reads it as an iterable of batches, in order (as it reads a dataset), so
    fit's ``shuffle`` does not apply; with ``shuffle=True`` each pass draws a new order."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size,
                 shuffle, rng):
        self._data, self._targets = data, targets
        self._starts = starts
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._batch_size = batch_size
        self._shuffle, self._rng = shuffle, rng
        self._passes = 0

    def __len__(self):
        n = len(self._starts)
        if self._batch_size is None:
            return n
        return -(-n // self._batch_size)

    def _item(self, starts):
        x = self._data[starts[..., None] + self._offsets]
        if self._targets is None:
            return x
        return x, self._targets[starts]

    def _order(self):
        starts = self._starts
        if self._shuffle and self._passes > 0:  # a new order each pass, as tf.data shuffles
            starts = starts[self._rng.permutation(len(starts))]
        return starts

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or \
                not -n <= index < n:
            raise IndexError(f"batch index {index!r} out of range for {n} batches")
        index %= n
        if self._batch_size is None:
            return self._item(self._starts[index])
        return self._item(self._starts[index * self._batch_size:
                                       (index + 1) * self._batch_size])

    def __iter__(self):
        starts = self._order()
        self._passes += 1
        if self._batch_size is None:
            for s in starts:
                yield self._item(s)
            return
        for i in range(0, len(starts), self._batch_size):
            yield self._item(starts[i:i + self._batch_size])

    def take(self, count):
        """The first ``count`` batches of a new pass (all of them for -1), as tf.data's
        take (shuffled, each call draws a new order)."""
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < -1:
            raise ValueError(f"take: `count` must be an integer >= -1, got {count!r}")
        n = len(self) if count == -1 else min(int(count), len(self))
        return list(itertools.islice(iter(self), n))

    def __repr__(self):
        return (f"<TimeseriesDataset: {len(self._starts)} windows of "
                f"{len(self._offsets)} steps, {len(self)} batches>")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Sliding windows over a timeseries (keras.utils.timeseries_dataset_from_array):
    window i holds ``data[s, s + r, ..., s + r * (sequence_length - 1)]`` for the i-th start
    ``s`` (starts every ``sequence_stride`` steps, ``r`` = ``sampling_rate``), its target is
    ``targets[s]``; ``start_index`` / ``end_index`` bound the data used.

    Returns a TimeseriesDataset: an iterable of NumPy batches ``(x, y)`` (``x`` alone when
    targets is None) that fit, evaluate and predict take, in place of Keras' tf.data
    dataset. Unshuffled, the batches equal Keras'. ``shuffle=True`` shuffles the starts as
    Keras does first (``np.random.RandomState(seed)``); Keras then also mixes windows in
    a tf.data buffer, which is not reproduced, so shuffled batches hold the same windows
    grouped differently."""
    data = _array(data, "data")
    if data.ndim == 0:
        raise ValueError("`data` must have a time axis (axis 0)")
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    sequence_length = _positive_int(sequence_length, "sequence_length")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: "
                         f"sampling_rate={sampling_rate}")
    if sampling_rate >= n:
        raise ValueError(f"`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length {n}")
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: "
                         f"sequence_stride={sequence_stride}")
    if sequence_stride >= n:
        raise ValueError(f"`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length {n}")
    sampling_rate = _positive_int(sampling_rate, "sampling_rate")
    sequence_stride = _positive_int(sequence_stride, "sequence_stride")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: '
                         f"format={format}")
    start = start_index or 0
    end = end_index if end_index is not None else n
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _array(targets, "targets")
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        rng = np.random.RandomState(seed)
        rng.shuffle(starts)
    else:
        rng = None
    window_data = data[start:end]
    window_targets = None if targets is None else targets[start:end]
    return TimeseriesDataset(window_data, window_targets, starts, sequence_length,
                             sampling_rate, batch_size, bool(shuffle), rng)


# ------------------------------------------------------------------------------ split_dataset
def _rescale_split_sizes(left_size, right_size, total):
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(size)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and (size <= 0 or size >= total)) or \
                (type(size) is float and (size <= 0 or size >= 1)):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It "
                         "must be less than or equal to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than "
                         f"the {total}. Received: left_size + right_size = {left + right}"
                         f"and total_length = {total}")
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}.Resulting {side} side dataset split "
                             "will be empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Split an array, or a list / tuple of arrays of one length, into a left and a right
    part (keras.utils.split_dataset): ``left_size`` / ``right_size`` are sample counts
    (int) or fractions (float); the one left None is the complement.

    Returns NumPy data of the input's structure (an array -> arrays; a list or tuple of
    arrays -> tuples of arrays, as Keras' datasets yield tuples) instead of Keras'
    tf.data datasets; the samples and their order equal Keras' (``shuffle`` uses Python's
    ``random`` seeded by ``seed``, as Keras does). ``preferred_backend`` is accepted and
    ignored."""
    if isinstance(dataset, (list, tuple)):
        kind = type(dataset).__name__
        if len(dataset) == 0:
            raise ValueError(f"Received an empty {kind} dataset. Please provide a non-empty "
                             f"{kind} of arrays.")
        arrays = []
        for i, element in enumerate(dataset):
            if isinstance(element, Tensor):
                element = element._value
            if not isinstance(element, np.ndarray):
                raise ValueError(f"Expected a {kind} of `numpy.ndarray` objects,Received: "
                                 f"{type(element)} at index {i}.")
            if arrays and element.shape[:1] != arrays[0].shape[:1]:
                raise ValueError(f"Received a {kind} of NumPy arrays with different lengths."
                                 f"Mismatch found at index {i}, Expected shape="
                                 f"{arrays[0].shape} Received shape={element.shape}.Please "
                                 f"provide a {kind} of NumPy arrays of the same length.")
            arrays.append(element)
        structured = True
    elif isinstance(dataset, (np.ndarray, Tensor)):
        arrays = [dataset._value if isinstance(dataset, Tensor) else dataset]
        structured = False
    else:
        raise TypeError("The `dataset` argument must be either a NumPy array or a "
                        "list/tuple of arrays (fastkeras has no tf.data). "
                        f"Received: dataset={dataset} of type {type(dataset)}")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be "
                         "specified. Received: left_size=None and right_size=None")
    total = len(arrays[0])
    if total == 0:
        raise ValueError("Received an empty dataset. Argument `dataset` must be a non-empty "
                         "list/tuple of `numpy.ndarray` objects.")
    order = list(range(total))
    if shuffle:
        if seed is None:
            seed = _pyrandom.randint(0, int(1e6))
        _pyrandom.Random(seed).shuffle(order)  # the permutation random.seed + shuffle give
    left, right = _rescale_split_sizes(left_size, right_size, total)
    left_idx, right_idx = np.array(order[:left]), np.array(order[total - right:])
    parts = ([a[left_idx] for a in arrays], [a[right_idx] for a in arrays])
    if structured:
        return tuple(parts[0]), tuple(parts[1])
    return parts[0][0], parts[1][0]
