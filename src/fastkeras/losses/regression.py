"""Binary cross-entropy and the regression losses (Keras 3 formulas), as fastkeras
ops so that they differentiate and compose (the documents' focal loss uses
binary_crossentropy inside a custom loss)."""
from fastkeras import ops
from fastkeras.losses.loss import loss_class
from fastkeras.ops.tensor import convert_to_tensor

__all__ = [
    "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "BinaryCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
]

EPSILON = 1e-7  # keras.config.epsilon()


def _pair(y_true, y_pred):
    y_pred = convert_to_tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    if y_true.shape != y_pred.shape and y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    return y_true, y_pred


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the element-wise binary cross-entropy (keras.losses)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        # max(x, 0) - x * z + log(1 + exp(-|x|)), stable for large |x|
        bce = ops.add(ops.subtract(ops.relu(y_pred), ops.multiply(y_pred, y_true)),
                      ops.log1p(ops.exp(ops.negative(ops.abs(y_pred)))))
    else:
        # tf.keras 2's formula, whose numbers the source documents print: epsilon is added
        # inside the logs after clipping (Keras 3 dropped it; the two differ by about
        # epsilon / p, under 1e-6 relative for p in [0.1, 0.9])
        p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = ops.negative(ops.add(
            ops.multiply(y_true, ops.log(ops.add(p, EPSILON))),
            ops.multiply(ops.subtract(1.0, y_true),
                         ops.log(ops.add(ops.subtract(1.0, p), EPSILON)))))
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
