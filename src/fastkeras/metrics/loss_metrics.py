"""Metrics that are running means of a per-sample loss or score (keras.metrics names):
MeanSquaredLogarithmicError, LogCoshError, the hinges, KLDivergence, Poisson,
CosineSimilarity and the correlation coefficients.

Each applies Keras' rank rule to ``(y_true, y_pred)`` (a 1-D ``y`` against ``(N, 1)``
predictions pairs row by row) through the loss functions it wraps. Keras 3 applies that rule
in some of its functions only (its hinge, KL-divergence and Poisson metrics broadcast a
``(N,)`` label against ``(N, 1)`` predictions to ``(N, N)``); fastkeras applies it in all of
them, so a metric always equals the loss of the same name."""
import numpy as np

from fastkeras import losses as _losses
from fastkeras.losses.loss import squeeze_or_expand_to_same_rank
from fastkeras.losses.regression import EPSILON
from fastkeras.metrics.metric import MeanMetricWrapper, to_numpy

__all__ = [
    "MeanSquaredLogarithmicError", "LogCoshError", "Hinge", "SquaredHinge", "CategoricalHinge",
    "KLDivergence", "Poisson", "CosineSimilarity", "PearsonCorrelation",
    "ConcordanceCorrelation", "cosine_similarity", "pearson_correlation",
    "concordance_correlation",
]


def _pair64(y_true, y_pred):
    t = to_numpy(y_true, "y_true").astype(np.float64)
    p = to_numpy(y_pred, "y_pred").astype(np.float64)
    return squeeze_or_expand_to_same_rank(t, p)


def cosine_similarity(y_true, y_pred, axis=-1):
    """cos(y_true, y_pred) along ``axis`` (keras.metrics.cosine_similarity: +1 for aligned
    vectors; the loss of the same name is its negative)."""
    t, p = _pair64(y_true, y_pred)

    def unit(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))

    return np.sum(unit(t) * unit(p), axis=axis)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation coefficient of y_true and y_pred along ``axis``."""
    t, p = _pair64(y_true, y_pred)
    t = t - t.mean(axis=axis, keepdims=True)
    p = p - p.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / t.std(axis=axis, keepdims=True)
        p = p / p.std(axis=axis, keepdims=True)
    return np.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient along ``axis``:
    2 cov(t, p) / (var t + var p + (mean t - mean p)^2 + epsilon).

    (Keras writes the covariance as mean((t - mean p)(p - mean p)), the same number: the
    extra term (mean t - mean p) mean(p - mean p) is zero.)"""
    t, p = _pair64(y_true, y_pred)
    mt, mp = t.mean(axis=axis, keepdims=True), p.mean(axis=axis, keepdims=True)
    cov = np.mean((t - mt) * (p - mp), axis=axis, keepdims=True)
    norm = t.var(axis=axis, keepdims=True) + p.var(axis=axis, keepdims=True) + (mt - mp) ** 2
    return np.squeeze(2.0 * cov / (norm + EPSILON), axis=axis)


def _metric(cls_name, fn, default_name, doc, **defaults):
    """A MeanMetricWrapper subclass of fn, constructed as Keras' (name, dtype, then fn's
    keyword arguments) and configured as Keras' (name, dtype and those arguments)."""
    params = list(defaults)

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(params)
        if unknown:
            raise TypeError(f"{cls_name}: unexpected argument(s) {sorted(unknown)}")
        cfg = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **cfg)
        for k, v in cfg.items():
            setattr(self, k, v)

    return type(cls_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc})


MeanSquaredLogarithmicError = _metric(
    "MeanSquaredLogarithmicError", _losses.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean of (log(1 + y_pred) - log(1 + y_true))^2.")
LogCoshError = _metric("LogCoshError", _losses.log_cosh, "logcosh",
                       "Mean of log(cosh(y_pred - y_true)).")
Hinge = _metric("Hinge", _losses.hinge, "hinge", "Mean hinge loss (labels in {0, 1} or {-1, 1}).")
SquaredHinge = _metric("SquaredHinge", _losses.squared_hinge, "squared_hinge",
                       "Mean squared hinge loss.")
CategoricalHinge = _metric("CategoricalHinge", _losses.categorical_hinge, "categorical_hinge",
                           "Mean categorical hinge loss.")
KLDivergence = _metric("KLDivergence", _losses.kl_divergence, "kl_divergence",
                       "Mean Kullback-Leibler divergence of y_pred from y_true.")
Poisson = _metric("Poisson", _losses.poisson, "poisson",
                  "Mean of y_pred - y_true log(y_pred).")
CosineSimilarity = _metric("CosineSimilarity", cosine_similarity, "cosine_similarity",
                           "Mean cosine similarity of y_true and y_pred along `axis`.",
                           axis=-1)
PearsonCorrelation = _metric("PearsonCorrelation", pearson_correlation, "pearson_correlation",
                             "Mean Pearson correlation along `axis`.", axis=-1)
ConcordanceCorrelation = _metric(
    "ConcordanceCorrelation", concordance_correlation, "concordance_correlation",
    "Mean concordance correlation along `axis`.", axis=-1)
