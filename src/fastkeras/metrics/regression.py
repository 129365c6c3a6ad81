"""Regression metrics (running means of per-sample errors)."""
import numpy as np

from fastkeras.metrics.metric import Mean, MeanMetricWrapper, to_numpy
from fastkeras.ops.tensor import Tensor

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
           "MeanAbsolutePercentageError"]


def _pair(y_true, y_pred):
    t = to_numpy(y_true, "y_true").astype(np.float64)
    p = to_numpy(y_pred, "y_pred").astype(np.float64)
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    return t, p


def _mse(y_true, y_pred):
    t, p = _pair(y_true, y_pred)
    return np.mean((p - t) ** 2, axis=-1)


def _mae(y_true, y_pred):
    t, p = _pair(y_true, y_pred)
    return np.mean(np.abs(p - t), axis=-1)


def _mape(y_true, y_pred):
    t, p = _pair(y_true, y_pred)
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), 1e-7)), axis=-1)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_mse, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_mae, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(_mape, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean squared error."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _pair(y_true, y_pred)
        super().update_state((p - t) ** 2, sample_weight)

    def result(self):
        return Tensor(np.sqrt(super().result()._value))
