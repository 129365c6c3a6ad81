"""fastkeras.utils: to_categorical, set_random_seed and helpers (keras.utils names)."""
import numpy as np

from fastkeras import _rng
from fastkeras.ops.tensor import as_array
from fastkeras.models.training import PyDataset, Sequence, pack_x_y_sample_weight, unpack_x_y_sample_weight
from fastkeras.utils.plotting import plot_model
# Keras 3 also exports the saving API's registration and scopes under keras.utils
from fastkeras.saving.object_registration import (CustomObjectScope, custom_object_scope,
                                                  get_custom_objects, get_registered_name,
                                                  get_registered_object,
                                                  register_keras_serializable)
from fastkeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["to_categorical", "set_random_seed", "normalize", "Sequence", "PyDataset",
           "plot_model",
           "CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "serialize_keras_object", "deserialize_keras_object", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]


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
    """x divided by its L-order norm along axis (zero norms left at zero)."""
    a = as_array(x)
    n = np.linalg.norm(a, ord=order, axis=axis, keepdims=True)
    return a / np.where(n == 0, 1, n)
