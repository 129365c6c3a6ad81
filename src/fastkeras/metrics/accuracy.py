"""Accuracy metrics: functions (per-sample values) and classes (running means)."""
import numpy as np

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
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    if t.shape != p.shape:
        t = t.reshape(p.shape) if t.size == p.size else t
    return _out(np.equal(t, p))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of (y_pred > threshold) == y_true."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    hit = np.equal(t.astype(np.float32), (p > threshold).astype(np.float32))
    return _out(hit.mean(axis=-1) if hit.ndim else hit)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) == argmax(y_true) (one-hot targets)."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    return _out(np.argmax(t, axis=-1) == np.argmax(p, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label."""
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return _out(np.argmax(p, axis=-1) == t.astype(np.int64))


def _in_top_k(p, labels, k):
    # ties count as inside (tf.math.in_top_k): fewer than k scores strictly greater
    target = np.take_along_axis(p, labels[..., None], axis=-1)
    return (p > target).sum(axis=-1) < k


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    return _out(_in_top_k(p, np.argmax(t, axis=-1), k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return _out(_in_top_k(p, t.astype(np.int64), k))


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


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
