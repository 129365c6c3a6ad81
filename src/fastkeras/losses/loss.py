"""The ``Loss`` base class and Keras 3's reduction rules."""
import numpy as np

from fastkeras import config
from fastkeras.ops import math as _m
from fastkeras.ops.tensor import Tensor, as_array, convert_to_tensor

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "reduce_weighted_values",
    "standardize_reduction",
    "squeeze_or_expand",
    "squeeze_or_expand_to_same_rank",
]

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


def standardize_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {_REDUCTIONS}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def squeeze_or_expand(shape1, shape2, expand_rank_1=True):
    """Keras' rule for ranks that differ by one with a trailing 1, on shapes: the new shapes.

    The side with the trailing 1 loses it, except that a rank-1 other side (a 1-D ``y``
    against ``(N, 1)`` predictions) is expanded to ``(N, 1)`` instead."""
    s1, s2 = tuple(shape1), tuple(shape2)
    if len(s1) == len(s2) + 1 and s1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            s2 = s2 + (1,)
        else:
            s1 = s1[:-1]
    elif len(s2) == len(s1) + 1 and s2 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            s1 = s1 + (1,)
        else:
            s2 = s2[:-1]
    return s1, s2


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' ``squeeze_or_expand_to_same_rank`` on arrays or Tensors (differentiable).

    Element-wise losses and metrics apply it to ``(y_true, y_pred)`` so that ``y`` of shape
    ``(N,)`` meets predictions of shape ``(N, 1)`` row by row instead of broadcasting to
    ``(N, N)``."""
    s1, s2 = tuple(np.shape(x1)), tuple(np.shape(x2))
    if len(s1) == len(s2):
        return x1, x2
    new1, new2 = squeeze_or_expand(s1, s2, expand_rank_1)
    return _reshape(x1, new1), _reshape(x2, new2)


def _weight_shapes(vshape, wshape, name="sample_weight"):
    """Keras' shapes for ``values * sample_weight``: (values, weight, product) shapes.

    The weight's rank is matched to the values' (``squeeze_or_expand``), then the two
    broadcast as Keras multiplies them (a weight may widen the values, e.g. a scalar loss of
    a 1-D batch times one weight per sample); shapes that do not broadcast raise."""
    new_v, new_w = squeeze_or_expand(vshape, wshape)
    try:
        out = np.broadcast_shapes(new_v, new_w)
    except ValueError:
        raise ValueError(
            f"`{name}` with shape {tuple(wshape)} cannot be applied to per-sample losses of "
            f"shape {tuple(vshape)}"
        ) from None
    return new_v, new_w, out


def _reshape(x, shape):
    if tuple(np.shape(x)) == tuple(shape):
        return x
    return _m.reshape(x, shape) if isinstance(x, Tensor) else np.reshape(x, shape)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weight, mask and reduce per-sample losses exactly as Keras 3 does (differentiable)."""
    reduction = standardize_reduction(reduction)
    values = convert_to_tensor(values, dtype=dtype)
    weight = None
    if sample_weight is not None:
        sw = sample_weight if isinstance(sample_weight, Tensor) else as_array(sample_weight)
        if sw.dtype.kind not in "fiub":
            raise TypeError(f"`sample_weight` must hold numbers, got dtype {sw.dtype}")
        vshape, wshape, _ = _weight_shapes(values.shape, sw.shape)
        values = _reshape(values, vshape)
        if isinstance(sw, Tensor):
            weight = _reshape(_m.cast(sw, values.dtype) if sw.dtype != values.dtype else sw, wshape)
        else:
            weight = sw.astype(values.dtype).reshape(wshape)
    if mask is not None:
        mask = as_array(mask).astype(bool).reshape(values.shape)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = int(mask.sum())
            float_mask = np.where(mask, mask.size / valid if valid else 0.0, 0.0)
        else:
            float_mask = mask.astype(np.float64)
        float_mask = float_mask.astype(values.dtype)
        weight = float_mask if weight is None else (
            _m.multiply(weight, float_mask) if isinstance(weight, Tensor) else weight * float_mask
        )
    if weight is not None:
        values = _m.multiply(values, weight)
    vshape = values.shape
    if reduction in (None, "none") or vshape == () or vshape == (0,):
        return values
    total = _m.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = float(np.sum(as_array(weight), dtype=np.float64))
    else:
        divisor = float(np.prod(vshape))
    if divisor == 0.0:  # Keras' divide_no_nan
        return _m.multiply(total, np.asarray(0.0, dtype=values.dtype))
    return _m.divide(total, np.asarray(divisor, dtype=values.dtype))


class Loss:
    """Base class of losses (keras.losses.Loss).

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses
    with fastkeras.ops; ``__call__`` converts inputs to ``dtype`` (floatx by
    default), applies ``sample_weight`` and the reduction.
    """

    # defaults for subclasses whose __init__ does not call super().__init__ (the source
    # documents' FocalLoss does this; tf.keras 2 tolerated it)
    reduction = "sum_over_batch_size"
    _dtype = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = np.dtype(dtype or (config.floatx() if config.floatx() != "bfloat16" else "float32"))

    @property
    def dtype(self):
        return self._compute_dtype().name

    def _compute_dtype(self):
        if self._dtype is not None:
            return self._dtype
        return np.dtype(config.floatx() if config.floatx() != "bfloat16" else "float32")

    @property
    def name(self):
        return self.__dict__.get("name") or _snake(type(self).__name__)

    @name.setter
    def name(self, value):
        self.__dict__["name"] = value

    def __call__(self, y_true, y_pred, sample_weight=None):
        fast = self._fused_call(y_true, y_pred, sample_weight)
        if fast is not None:
            return fast
        dt = self._compute_dtype()
        y_pred = convert_to_tensor(y_pred, dtype=dt)
        y_true = convert_to_tensor(y_true, dtype=dt)
        losses = self.call(y_true, y_pred)
        mask = getattr(losses, "_keras_mask", None)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction, dt)

    def _fused_call(self, y_true, y_pred, sample_weight):
        """Built-in losses return a fused result here; None means the generic path."""
        return None

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss built from a per-sample function and its keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    @property
    def fn_kwargs(self):
        """The keyword arguments the wrapped function is called with."""
        return dict(self._fn_kwargs)

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def loss_class(cls_name, fn, default_name, **defaults):
    """A LossFunctionWrapper subclass for fn whose constructor takes fn's keyword
    arguments (positionally too, in the given order) plus reduction / name / dtype."""
    params = list(defaults)

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None,
                 **kwargs):
        cfg = dict(defaults)
        cfg.update(zip(params, args))
        unknown = set(kwargs) - set(params)
        if unknown:
            raise TypeError(f"{cls_name}: unexpected argument(s) {sorted(unknown)}")
        cfg.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype,
                                     **cfg)

    return type(cls_name, (LossFunctionWrapper,), {"__init__": __init__,
                                                   "__doc__": f"Loss class of {fn.__name__}."})
