"""Binary cross-entropy and the regression losses (Keras 3 formulas), as fastkeras
ops so that they differentiate and compose (the documents' focal loss uses
binary_crossentropy inside a custom loss)."""
from fastkeras import ops
from fastkeras.ops import crossentropy_ops as _nn
from fastkeras.losses.crossentropy import logits_of
from fastkeras.losses.loss import loss_class, squeeze_or_expand_to_same_rank
from fastkeras.ops.tensor import convert_to_tensor

__all__ = [
    "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "BinaryCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
]

EPSILON = 1e-7  # keras.config.epsilon()


def _pair(y_true, y_pred):
    """(y_true, y_pred) as Tensors of y_pred's float dtype, their ranks matched as Keras
    matches them (a 1-D ``y`` against ``(N, 1)`` predictions pairs row by row)."""
    y_pred = convert_to_tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the element-wise binary cross-entropy (keras.losses); an output
    of ``activations.sigmoid`` is taken from its logits, as tf.keras does."""
    y_pred, from_logits = logits_of(y_pred, from_logits, "binary_crossentropy", "sigmoid")
    y_true, y_pred = _pair(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):  # element-wise: no broadcasting (Keras)
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(y_true.shape)}, "
                         f"output.shape={tuple(y_pred.shape)}")
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        bce = _nn.binary_crossentropy_from_logits(y_true, y_pred)
    else:
        # Inside [epsilon, 1 - epsilon], tf.keras 2's formula, whose numbers the source
        # documents print: epsilon is added inside the logs after clipping. Where clipping
        # changed the probability (0 or 1 exactly, or within epsilon of them), Keras 3's value
        # log(epsilon): tf.keras 2 gave log(2 epsilon) there, a loss 0.69 lower per element.
        # Inside, the two formulas differ by about epsilon / p (under 1e-6 relative for p in
        # [0.1, 0.9]); README, "Binary cross-entropy".
        p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = ops.logical_and(ops.greater(y_pred, EPSILON), ops.less(y_pred, 1.0 - EPSILON))
        eps = ops.multiply(ops.cast(inside, p.dtype), EPSILON)
        bce = ops.negative(ops.add(
            ops.multiply(y_true, ops.log(ops.add(p, eps))),
            ops.multiply(ops.subtract(1.0, y_true),
                         ops.log(ops.add(ops.subtract(1.0, p), eps)))))
    return ops.mean(bce, axis=axis)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred),
                              ops.maximum(ops.abs(y_true), EPSILON)))
    return ops.multiply(100.0, ops.mean(diff, axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    a = ops.log(ops.add(ops.maximum(y_pred, EPSILON), 1.0))
    b = ops.log(ops.add(ops.maximum(y_true, EPSILON), 1.0))
    return ops.mean(ops.square(ops.subtract(a, b)), axis=-1)


BinaryCrossentropy = loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                from_logits=False, label_smoothing=0.0, axis=-1)
MeanSquaredError = loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = loss_class("MeanAbsolutePercentageError",
                                       mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = loss_class("MeanSquaredLogarithmicError",
                                       mean_squared_logarithmic_error,
                                       "mean_squared_logarithmic_error")
