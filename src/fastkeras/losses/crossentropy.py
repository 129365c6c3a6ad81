"""Categorical and sparse categorical cross-entropy: functions and Loss classes.

Both run on the fused C kernel. The classes, when the reduction is not
"none", compute the reduced loss and (under a tape) the gradient of the
reduced loss in one pass over y_pred: the backward then only scales a buffer
that already exists, so forward + backward reads the logits once and writes
the gradient once.
"""
import math
import warnings

import numpy as np

from fastkeras.losses.loss import Loss, _weight_shapes, squeeze_or_expand_to_same_rank
from fastkeras.ops import crossentropy_ops as _nn
from fastkeras.ops.math import make
from fastkeras.ops.tensor import Tensor, as_array

__all__ = [
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "SparseCategoricalCrossentropy",
    "CategoricalCrossentropy",
]


def _warn_single_class(y_pred_shape, fname):
    if len(y_pred_shape) and y_pred_shape[-1] == 1:
        warnings.warn(
            f"In loss {fname}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={tuple(y_pred_shape)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )


def logits_of(y_pred, from_logits, fn_name, activation="softmax"):
    """(output, from_logits) as tf.keras computes a cross-entropy: an output of
    ``activations.softmax`` (over the last axis) or ``activations.sigmoid`` (a Dense layer's
    activation, an Activation layer) carries its logits, and the matching loss (categorical
    for softmax, binary for sigmoid) is computed from them, exactly, instead of from clipped
    probabilities (a softmax output of 1e-30 costs 69, not -log(1e-7) = 16.1). Keras warns
    when such an output is passed with from_logits=True, and still uses the logits.

    tf.keras also takes a sigmoid's logits for the categorical losses (a softmax
    cross-entropy of them) and a softmax's for the binary one, which computes a different
    function from the one asked for; fastkeras computes those from the probabilities."""
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is None or getattr(y_pred, "_keras_logits_of", None) != activation:
        return y_pred, from_logits
    if from_logits:
        warn_not_logits(fn_name, activation, stacklevel=4)
    return logits, True


def warn_not_logits(fn_name, activation, stacklevel=3):
    """Keras' warning for from_logits=True on an output that carries its logits."""
    warnings.warn(f'"`{fn_name}` received `from_logits=True`, but the `output` argument '
                  f"was produced by a {activation} activation and thus does not "
                  "represent logits. Was this intended?", stacklevel=stacklevel)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1, label_smoothing=0.0):
    """Per-sample cross-entropy for integer labels (keras.losses.sparse_categorical_crossentropy).

    Returns a Tensor shaped like y_true (y_pred without its class axis). Rows
    whose label equals ``ignore_class`` get 0 and are masked out of reductions.
    ``label_smoothing`` is a fastkeras extension (tf.keras has it only for the
    dense form); 0 gives tf.keras' numbers exactly.
    """
    y_pred, from_logits = logits_of(y_pred, from_logits, "sparse_categorical_crossentropy")
    p = _nn.prepare_sparse(y_true, y_pred, from_logits, axis, ignore_class, label_smoothing)
    out = _nn._per_sample_op(p, y_true, y_pred)
    if p.valid is not None:
        out._keras_mask = p.valid.reshape(p.batch_shape)
    return out


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy for one-hot / probability targets (keras.losses.categorical_crossentropy).

    ``label_smoothing`` in [0, 1] mixes the targets with the uniform distribution.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    _warn_single_class(np.shape(as_array(y_pred)), "categorical_crossentropy")
    y_pred, from_logits = logits_of(y_pred, from_logits, "categorical_crossentropy")
    p = _nn.prepare_dense(y_true, y_pred, from_logits, axis, label_smoothing)
    return _nn._per_sample_op(p, y_true, y_pred)


def fused_reduced(p, y_true, y_pred, sample_weight, reduction):
    """Reduced loss of a prepared problem, with the reduced gradient in the same kernel pass."""
    n = p.x.shape[0]
    vshape = tuple(p.batch_shape)
    weight = None  # Keras' sample weight after squeeze/expand and mask, unbroadcast
    if sample_weight is not None:
        sw = as_array(sample_weight)
        if sw.dtype.kind not in "fiub":
            raise TypeError(f"`sample_weight` must hold numbers, got dtype {sw.dtype}")
        new_v, new_w, product = _weight_shapes(vshape, sw.shape)
        if product != new_v:  # the weight widens the losses: the generic path multiplies
            return None
        weight = sw.astype(np.float64).reshape(new_w)
        vshape = new_v
    if p.valid is not None:
        valid = p.valid.reshape(vshape)
        if reduction in ("mean", "sum_over_batch_size"):
            count = int(valid.sum())
            fm = np.where(valid, valid.size / count if count else 0.0, 0.0)
        else:
            fm = valid.astype(np.float64)
        weight = fm if weight is None else weight * fm
    row_w = None if weight is None else np.ascontiguousarray(
        np.broadcast_to(weight, vshape).reshape(n), dtype=np.float64)
    if reduction == "sum":
        divisor = 1.0
    elif reduction == "mean_with_sample_weight" and weight is not None:
        divisor = float(weight.sum())
    else:
        divisor = float(math.prod(vshape))
    scale = 0.0 if divisor == 0.0 else 1.0 / divisor
    need_grad = _nn.tracked(y_pred)
    gscale = None if row_w is None or not need_grad else row_w.astype(p.x.dtype)
    loss, grad = p.kernel(gscale, want_loss=True, want_grad=need_grad, grad_scale=scale)
    if row_w is not None:
        total = float(np.dot(loss.astype(np.float64), row_w))
    else:
        total = float(loss.sum(dtype=np.float64))
    value = np.asarray(total * scale, dtype=p.result_dtype)

    def backward(g, needs):
        if not needs[1] or grad is None:
            return None, None
        gv = grad if g == 1 else grad * g.astype(grad.dtype)
        return None, p.grad_to_input(gv)

    return make(value, (y_true, y_pred), backward)


def _fusable(loss, sample_weight):
    if loss.reduction in (None, "none"):
        return False
    # A sample weight that is itself being differentiated takes the generic path.
    return not (isinstance(sample_weight, Tensor) and _nn.tracked(sample_weight))


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy between integer labels and predictions (keras.losses.SparseCategoricalCrossentropy).

    Args:
        from_logits: whether y_pred holds logits (True) or probabilities.
        ignore_class: label value whose samples are skipped (and not counted).
        reduction: "sum_over_batch_size" (default), "sum", "mean",
            "mean_with_sample_weight", "none" or None.
        axis: the class axis of y_pred (default -1; Keras' TensorFlow backend supports only
            -1, its torch backend any axis, as fastkeras does).
        name, dtype: as in Keras (dtype defaults to floatx, float32).
        label_smoothing: fastkeras extension, see the function's docstring.
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None,
                 label_smoothing=0.0):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = axis
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.ignore_class,
                                               axis=self.axis,
                                               label_smoothing=self.label_smoothing)

    def _fused_call(self, y_true, y_pred, sample_weight):
        if not _fusable(self, sample_weight):
            return None
        y_pred, from_logits = logits_of(y_pred, self.from_logits,
                                        "sparse_categorical_crossentropy")
        p = _nn.prepare_sparse(y_true, y_pred, from_logits, self.axis, self.ignore_class,
                               self.label_smoothing, dtype=self._dtype)
        return fused_reduced(p, y_true, y_pred, sample_weight, self.reduction)

    def get_config(self):
        config = super().get_config()
        config.update(from_logits=self.from_logits, ignore_class=self.ignore_class,
                      label_smoothing=self.label_smoothing)
        if self.axis != -1:
            config["axis"] = self.axis
        return config


class CategoricalCrossentropy(Loss):
    """Cross-entropy between one-hot/probability targets and predictions (keras.losses.CategoricalCrossentropy).

    Args:
        from_logits: whether y_pred holds logits (True) or probabilities.
        label_smoothing: float in [0, 1]; targets become t * (1 - ls) + ls / classes.
        axis: the class axis (default -1).
        reduction, name, dtype: as in Keras.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = axis

    def call(self, y_true, y_pred):
        y_pred, from_logits = logits_of(y_pred, self.from_logits, "categorical_crossentropy")
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return categorical_crossentropy(y_true, y_pred, from_logits, self.label_smoothing,
                                        self.axis)

    def _fused_call(self, y_true, y_pred, sample_weight):
        if not _fusable(self, sample_weight):
            return None
        _warn_single_class(np.shape(y_pred), "categorical_crossentropy")
        y_pred, from_logits = logits_of(y_pred, self.from_logits, "categorical_crossentropy")
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        p = _nn.prepare_dense(y_true, y_pred, from_logits, self.axis, self.label_smoothing,
                              dtype=self._dtype)
        return fused_reduced(p, y_true, y_pred, sample_weight, self.reduction)

    def get_config(self):
        config = super().get_config()
        config.update(from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                      axis=self.axis)
        return config
