"""The rest of tf.keras' losses (Keras 3 formulas): Huber, LogCosh, the hinges,
KLDivergence, Poisson, CosineSimilarity and the focal cross-entropies."""

import numpy as np

from fastkeras import ops
from fastkeras.losses.loss import loss_class
from fastkeras.losses.regression import EPSILON, _pair

__all__ = [
    "huber", "log_cosh", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence",
    "poisson", "cosine_similarity", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "CosineSimilarity",
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
]


def huber(y_true, y_pred, delta=1.0):
    """0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (mean over the last axis)."""
    y_true, y_pred = _pair(y_true, y_pred)
    err = ops.subtract(y_pred, y_true)
    a = ops.abs(err)
    quad = ops.multiply(0.5, ops.square(err))
    lin = ops.subtract(ops.multiply(float(delta), a), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(ops.less_equal(a, float(delta)), quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """log(cosh(e)) = e + softplus(-2e) - log 2, mean over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    # Keras takes log(2) of a float32 tensor before casting it
    log2 = float(np.log(np.float32(2.0)))
    e = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(e, ops.softplus(ops.multiply(e, -2.0))), log2),
                    axis=-1)


def _hinge_labels(y_true):
    v = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true)
    if np.all((v == 0) | (v == 1)):
        return ops.subtract(ops.multiply(2.0, y_true), 1.0)
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)); labels in {0, 1} become {-1, 1}."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)),
                                           0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max_neg - pos + 1, 0) with pos the true class score, max_neg the best other."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true log(y_true / y_pred)), both clipped to [epsilon, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = ops.clip(y_true, EPSILON, 1.0)
    p = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, EPSILON)))),
                    axis=-1)


def _l2_normalize(x, axis):
    inv = ops.minimum(ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True)), 1.0 / EPSILON)
    return ops.multiply(x, inv)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-cos(y_true, y_pred) along axis (so that minimising aligns them)."""
    y_true, y_pred = _pair(y_true, y_pred)
    with np.errstate(divide="ignore"):
        p = _l2_normalize(y_pred, axis)
        t = _l2_normalize(y_true, axis)
    return ops.negative(ops.sum(ops.multiply(t, p), axis=axis))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy down-weighted by (1 - p_t)^gamma for well-classified samples."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    bce = ops.negative(ops.add(ops.multiply(y_true, ops.log(p)),
                               ops.multiply(ops.subtract(1.0, y_true),
                                            ops.log(ops.subtract(1.0, p)))))
    p_t = ops.add(ops.multiply(y_true, y_pred),
                  ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        w = ops.add(ops.multiply(y_true, alpha), ops.multiply(ops.subtract(1.0, y_true),
                                                              1.0 - alpha))
        focal = ops.multiply(w, focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy weighted by alpha (1 - p)^gamma per class."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis}")
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        k = y_true.shape[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / k)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    out = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    out = ops.clip(out, EPSILON, 1.0 - EPSILON)
    cce = ops.negative(ops.multiply(y_true, ops.log(out)))
    weight = ops.multiply(ops.power(ops.subtract(1.0, out), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(weight, cce), axis=axis)


Huber = loss_class("Huber", huber, "huber_loss", delta=1.0)
LogCosh = loss_class("LogCosh", log_cosh, "log_cosh")
Hinge = loss_class("Hinge", hinge, "hinge")
SquaredHinge = loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = loss_class("Poisson", poisson, "poisson")
CosineSimilarity = loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
BinaryFocalCrossentropy = loss_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
    axis=-1)
CategoricalFocalCrossentropy = loss_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy,
    "categorical_focal_crossentropy", alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1)
