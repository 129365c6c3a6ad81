"""Accuracy metrics: functions (per-sample values) and classes (running means)."""
import numpy as np

from fastkeras.losses.loss import squeeze_or_expand_to_same_rank
from fastkeras.metrics.metric import MeanMetricWrapper, to_numpy
from fastkeras.ops.tensor import Tensor

__all__ = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
]


def _out(v):
    return Tensor(np.asarray(v, dtype=np.float32))


def accuracy(y_true, y_pred):
    """1.0 where y_pred equals y_true, element-wise (keras.metrics.accuracy)."""
    t, p = squeeze_or_expand_to_same_rank(to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred"))
    return _out(np.equal(t, p))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) equals y_true, element-wise (Keras 3: the mean over
    the last axis is taken by the metric, per sample)."""
    t, p = squeeze_or_expand_to_same_rank(to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred"))
    return _out(np.equal(t.astype(np.float32), (p > threshold).astype(np.float32)))


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) == argmax(y_true) (one-hot targets)."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    return _out(np.argmax(t, axis=-1) == np.argmax(p, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    if t.ndim == p.ndim and t.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    hit = np.argmax(p, axis=-1) == t.astype(np.int64)
    if hit.ndim > 1 and hit.shape[-1] == 1:
        hit = hit[..., 0]
    return _out(hit)


def _in_top_k(p, labels, k):
    # ties count as inside (tf.math.in_top_k): fewer than k scores strictly greater
    target = np.take_along_axis(p, labels[..., None], axis=-1)
    return (p > target).sum(axis=-1) < k


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    return _out(_in_top_k(p, np.argmax(t, axis=-1), k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the k best scores; with ``from_sorted_ids``
    y_pred holds category ids sorted best first and the label must be in its first k."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    shape = t.shape
    if t.ndim == p.ndim and t.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if from_sorted_ids:
        p = p.reshape(-1, p.shape[-1]) if p.ndim > 1 else p.reshape(1, -1)
        hit = np.any(p[:, :k] == t.reshape(-1, 1).astype(p.dtype), axis=1)
    else:
        hit = _in_top_k(p, t.astype(np.int64), k)
    return _out(hit.reshape(shape) if hit.size == int(np.prod(shape)) else hit)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k, self.from_sorted_ids = k, from_sorted_ids
