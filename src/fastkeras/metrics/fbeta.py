"""F-beta / F1 scores and the probabilistic (cross-entropy) metrics."""
import numpy as np

from fastkeras.losses.crossentropy import (categorical_crossentropy, logits_of,
                                           sparse_categorical_crossentropy)
from fastkeras.losses.loss import squeeze_or_expand_to_same_rank
from fastkeras.losses.regression import binary_crossentropy
from fastkeras.metrics.metric import Metric, MeanMetricWrapper, to_numpy
from fastkeras.ops.tensor import Tensor

__all__ = ["FBetaScore", "F1Score", "binary_crossentropy", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy"]


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


class FBetaScore(Metric):
    """F-beta score over classes (keras.metrics.FBetaScore).

    y_true and y_pred are (batch, classes); threshold=None marks each row's maximum as the
    prediction, else y_pred > threshold. average: None (per class), "micro", "macro",
    "weighted" (by support)."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(dtype=dtype, name=name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average}")
        # Keras' checks and messages: Python floats only (beta=2 is refused, as in Keras)
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if not beta > 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if not 0.0 < threshold <= 1.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self._built = False

    def _build(self, n):
        for nm in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, nm, self.add_variable((n,), dtype="float64", name=nm))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = to_numpy(y_true, "y_true").astype(np.float64)
        p = to_numpy(y_pred, "y_pred").astype(np.float64)
        if p.ndim != 2 or t.ndim != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={p.shape} and "
                             f"y_true.shape={t.shape}.")
        if t.shape != p.shape:
            raise ValueError(f"FBetaScore: `y_true` {t.shape} and `y_pred` {p.shape} must have "
                             "the same shape")
        if not self._built:
            self._build(p.shape[1])
        if self.threshold is None:
            pred = (p == p.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            pred = (p > self.threshold).astype(np.float64)
        w = np.ones((p.shape[0], 1)) if sample_weight is None else \
            to_numpy(sample_weight, "sample_weight").astype(np.float64).reshape(-1, 1)
        self.true_positives.assign(self.true_positives._value + (pred * t * w).sum(0))
        self.false_positives.assign(self.false_positives._value + (pred * (1 - t) * w).sum(0))
        self.false_negatives.assign(self.false_negatives._value + ((1 - pred) * t * w).sum(0))
        self.intermediate_weights.assign(self.intermediate_weights._value + (t * w).sum(0))

    def result(self):
        if not self._built:
            return Tensor(np.asarray(0.0, self._dtype))
        tp, fp, fn = (v._value for v in (self.true_positives, self.false_positives,
                                          self.false_negatives))
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
        b2 = self.beta ** 2
        f = _div((1 + b2) * precision * recall, b2 * precision + recall)
        if self.average == "macro":
            f = np.mean(f)
        elif self.average == "weighted":
            w = self.intermediate_weights._value
            f = _div(np.sum(f * w), np.sum(w))
        return Tensor(np.asarray(f, self._dtype))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = super().get_config()
        config.update(average=self.average, beta=self.beta, threshold=self.threshold)
        return config


class F1Score(FBetaScore):
    """F1 score (beta = 1) over classes (keras.metrics.F1Score)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class BinaryCrossentropy(MeanMetricWrapper):
    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


def _ranked_categorical_crossentropy(y_true, y_pred, **kwargs):
    """categorical_crossentropy after Keras' rank rule, as the loss class applies it (Keras'
    metric skips the rule and refuses (N,) against (N, 1); fastkeras' metric equals the loss)."""
    y_pred, kwargs["from_logits"] = logits_of(y_pred, kwargs.get("from_logits", False),
                                              "categorical_crossentropy")
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_numpy(y_true, "y_true"),
                                                    to_numpy(y_pred, "y_pred"))
    return categorical_crossentropy(y_true, y_pred, **kwargs)


class CategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(_ranked_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis
