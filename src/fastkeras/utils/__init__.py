"""fastkeras.utils: to_categorical, set_random_seed and helpers (keras.utils names)."""
import numbers

import numpy as np

from fastkeras import _rng
from fastkeras.ops.tensor import as_array
from fastkeras.models.data_adapters import PyDataset, Sequence, pack_x_y_sample_weight, unpack_x_y_sample_weight
from fastkeras.utils.plotting import plot_model
# Keras 3 also exports the saving API's registration and scopes under keras.utils
from fastkeras.saving.object_registration import (CustomObjectScope, custom_object_scope,
                                                  get_custom_objects, get_registered_name,
                                                  get_registered_object,
                                                  register_keras_serializable)
from fastkeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from fastkeras.utils.sequence_utils import pad_sequences
from fastkeras.utils.dataset_utils import split_dataset, timeseries_dataset_from_array

__all__ = ["to_categorical", "set_random_seed", "normalize", "Sequence", "PyDataset",
           "plot_model",
           "CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "serialize_keras_object", "deserialize_keras_object", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight", "pad_sequences", "split_dataset",
           "timeseries_dataset_from_array", "clear_session"]


def clear_session(free_memory=True):
    """keras.utils.clear_session: see fastkeras.backend.clear_session."""
    from fastkeras import backend

    backend.clear_session(free_memory=free_memory)


def set_random_seed(seed):
    """Seed every random stream fastkeras uses (initializers, Dropout, fit's shuffling),
    Python's ``random`` and numpy's global generator."""
    _rng.set_seed(seed)


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels (keras.utils.to_categorical).

    The last axis of size 1 is dropped first, as Keras does; returns float32."""
    y = as_array(x)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("to_categorical: `x` must hold integer class indices")
    elif y.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: `x` must hold integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class indices must be >= 0, got {y.min()}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: index {y.max()} is out of range for "
                         f"num_classes={num_classes}")
    out = np.zeros((y.size, int(num_classes)), np.float32)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (int(num_classes),))


def normalize(x, axis=-1, order=2):
    """x divided by its L-order norm along axis (keras.utils.normalize).

    A NumPy array gives a NumPy array, with zero norms left as they are (x / 1), as Keras'
    NumPy path; anything else (lists, tensors) gives a Tensor computed with fastkeras.ops
    as Keras' ``ops.normalize``: order 2 as ``x * min(rsqrt(sum(x**2)), 1 / epsilon())``,
    other orders as ``x / max(norm, epsilon())``; differentiable. Unlike Keras 3.15's NumPy
    path (which re-inserts the norm at the last axis whatever ``axis`` is), the norm is
    taken and applied along ``axis``, and a vector keeps its shape."""
    if isinstance(x, np.ndarray):
        n = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
        return x / np.where(n == 0, 1, n)
    from fastkeras import config, ops

    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    t = ops.convert_to_tensor(x)
    if t.dtype.kind != "f":
        t = ops.cast(t, config.floatx())
    if t.ndim == 0:
        t = ops.expand_dims(t, 0)
    eps = config.epsilon()
    if order == 2:
        with np.errstate(divide="ignore"):  # a zero row: rsqrt is inf, clipped to 1 / eps
            inv = ops.rsqrt(ops.sum(ops.square(t), axis=axis, keepdims=True))
        return ops.multiply(t, ops.minimum(inv, 1.0 / eps))
    norm = ops.power(ops.sum(ops.power(ops.abs(t), order), axis=axis, keepdims=True),
                     1.0 / order) if order != 1 else ops.sum(ops.abs(t), axis=axis,
                                                             keepdims=True)
    return ops.divide(t, ops.maximum(norm, eps))
