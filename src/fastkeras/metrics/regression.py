"""Regression metrics: running means of per-sample errors, and R2Score."""
import warnings

import numpy as np

from fastkeras.losses.loss import squeeze_or_expand_to_same_rank
from fastkeras.metrics.metric import Mean, MeanMetricWrapper, Metric, to_numpy
from fastkeras.ops.tensor import Tensor

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
           "MeanAbsolutePercentageError", "R2Score"]


def _pair(y_true, y_pred):
    t = to_numpy(y_true, "y_true").astype(np.float64)
    p = to_numpy(y_pred, "y_pred").astype(np.float64)
    return squeeze_or_expand_to_same_rank(t, p)


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


class R2Score(Metric):
    """Coefficient of determination (keras.metrics.R2Score).

    y_true and y_pred are (batch, outputs). ``class_aggregation``: "uniform_average" (mean of
    the per-output scores, the default), "variance_weighted_average" (weighted by each
    output's variance) or None (one score per output). ``num_regressors`` > 0 gives the
    adjusted R^2 (Keras' rule: it falls back to R^2 with a warning when there are too few
    samples). Variables as Keras': num_samples, squared_sum, sum, residual, count."""

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{self._AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, t_shape, p_shape):
        if len(t_shape) != 2 or len(p_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={p_shape} and "
                             f"y_true.shape={t_shape}.")
        n = p_shape[-1]
        self.squared_sum = self.add_variable((n,), name="squared_sum")
        self.sum = self.add_variable((n,), name="sum")
        self.total_mse = self.add_variable((n,), name="residual")
        self.count = self.add_variable((n,), name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _pair(y_true, y_pred)
        if not self._built:
            self._build(t.shape, p.shape)
        if t.shape != p.shape or t.shape[1:] != tuple(self.sum.shape):
            raise ValueError(f"R2Score: `y_true` {t.shape} and `y_pred` {p.shape} must both "
                             f"be (batch, {self.sum.shape[0]})")
        w = np.ones(()) if sample_weight is None else to_numpy(
            sample_weight, "sample_weight").astype(np.float64)
        if w.ndim == 1:
            w = w[:, None]
        try:
            w = np.broadcast_to(w, t.shape)
        except ValueError:
            raise ValueError(f"`sample_weight` with shape {np.shape(sample_weight)} cannot be "
                             f"broadcast to y_true's shape {t.shape}") from None
        wt = t * w
        self.sum.assign(self.sum._value + wt.sum(axis=0))
        self.squared_sum.assign(self.squared_sum._value + (t * wt).sum(axis=0))
        self.total_mse.assign(self.total_mse._value + ((t - p) ** 2 * w).sum(axis=0))
        self.count.assign(self.count._value + w.sum(axis=0))
        self.num_samples.assign(self.num_samples._value + t.size)

    def result(self):
        if not self._built or not float(self.num_samples._value):
            # no samples yet (Mean's rule; Keras raises before the first update and gives
            # NaN after a reset)
            return Tensor(np.asarray(0.0, self._dtype))
        s, c = self.sum._value.astype(np.float64), self.count._value.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = self.squared_sum._value - s * (s / c)
            raw = 1.0 - self.total_mse._value / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, k = float(self.num_samples._value), self.num_regressors
        if k:
            if k > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif k == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - k - 1.0)
        return Tensor(np.asarray(score, self._dtype))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
