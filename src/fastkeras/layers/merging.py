"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)
and the advanced activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax)."""
import numpy as np

from fastkeras import activations
from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.layers.core import set_weight_options, weight_config
from fastkeras.ops import activation_ops as _a

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
           "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _broadcast_shape(shapes, name):
    nd = len(shapes[0])
    if any(len(s) != nd for s in shapes):
        raise ValueError(f"{name}: inputs must have the same rank, got shapes {shapes}")
    out = []
    for i in range(nd):
        ds = [s[i] for s in shapes]
        known = {d for d in ds if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{name}: inputs with shapes {shapes} cannot be merged (axis {i})")
        out.append(known.pop() if known else (None if None in ds else 1))
    return tuple(out)


class _Merge(Layer):
    min_inputs = 2

    def compute_mask(self, inputs, mask=None):
        """A step is kept where every input that has a mask keeps it."""
        if not isinstance(mask, (list, tuple)):
            return mask
        masks = [np.asarray(m, bool) for m in mask if m is not None]
        if not masks:
            return None
        return np.logical_and.reduce(np.broadcast_arrays(*masks))

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.min_inputs:
            raise ValueError(f"{type(self).__name__} {self.name!r} must be called on a list of "
                             f"at least {self.min_inputs} tensors, got {type(inputs).__name__}"
                             + (f" of {len(inputs)}" if isinstance(inputs, (list, tuple))
                                else ""))

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return _broadcast_shape([tuple(s) for s in input_shape], type(self).__name__)


class Add(_Merge):
    def _merge(self, a, b):
        return ops.add(a, b)


class Subtract(_Merge):
    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Subtract {self.name!r} must be called on a list of exactly 2 "
                             "tensors")
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    def _merge(self, a, b):
        return ops.multiply(a, b)


class Average(_Merge):
    def _merge(self, a, b):
        return ops.add(a, b)

    def _finish(self, out, n):
        return ops.divide(out, n)


class Maximum(_Merge):
    def _merge(self, a, b):
        return ops.maximum(a, b)


class Minimum(_Merge):
    def _merge(self, a, b):
        return ops.minimum(a, b)


class Concatenate(_Merge):
    """Concatenate a list of tensors along ``axis`` (the last by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        self._check(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        shapes = [list(s) for s in input_shape]
        nd = len(shapes[0])
        ax = self.axis % nd
        out = list(shapes[0])
        for s in shapes[1:]:
            if len(s) != nd or any(s[i] != out[i] and None not in (s[i], out[i])
                                   for i in range(nd) if i != ax):
                raise ValueError(f"Concatenate {self.name!r} requires inputs with matching "
                                 f"shapes except for the concatenation axis {self.axis}. "
                                 f"Received: input_shape={[tuple(x) for x in input_shape]}")
            out[ax] = None if out[ax] is None or s[ax] is None else out[ax] + s[ax]
        return tuple(out)

    def get_config(self):
        c = super().get_config()
        c["axis"] = self.axis
        return c


class Dot(_Merge):
    """Dot product along ``axes`` of two (batch, ...) tensors, optionally L2-normalised."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        self.normalize = bool(normalize)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Dot {self.name!r} must be called on a list of exactly 2 tensors")
        a, b = inputs
        ax = [x % t.ndim for x, t in zip(self.axes, (a, b))]
        if self.normalize:
            a = ops.divide(a, ops.maximum(ops.sqrt(ops.sum(ops.square(a), axis=ax[0],
                                                           keepdims=True)), 1e-12))
            b = ops.divide(b, ops.maximum(ops.sqrt(ops.sum(ops.square(b), axis=ax[1],
                                                           keepdims=True)), 1e-12))
        letters = "abcdefghijklmnopqrstuvw"
        la = ["z"] + list(letters[:a.ndim - 1])
        lb = ["z"] + list(letters[a.ndim - 1:a.ndim - 1 + b.ndim - 1])
        lb[ax[1]] = la[ax[0]]
        out = ["z"] + [c for i, c in enumerate(la) if i not in (0, ax[0])] + \
            [c for i, c in enumerate(lb) if i not in (0, ax[1])]
        y = ops.einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)
        return ops.expand_dims(y, 1) if y.ndim == 1 else y

    def compute_output_shape(self, input_shape):
        return Layer.compute_output_shape(self, input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(axes=self.axes, normalize=self.normalize)
        return c


def _functional(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"Functional interface to the {cls.__name__} layer."
    return fn


add, subtract, multiply, average = (_functional(c) for c in (Add, Subtract, Multiply, Average))
maximum, minimum, concatenate = (_functional(c) for c in (Maximum, Minimum, Concatenate))


def dot(inputs, axes=-1, **kwargs):
    return Dot(axes=axes, **kwargs)(inputs)


# ------------------------------------------------------------------ activation layers
class _Elementwise(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise):
    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: `max_value` must be >= 0, got {max_value!r}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"ReLU: `negative_slope` must be >= 0, got {negative_slope!r}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        c = super().get_config()
        c.update(max_value=self.max_value, negative_slope=self.negative_slope,
                 threshold=self.threshold)
        return c


class LeakyReLU(_Elementwise):
    """max(x, negative_slope * x); Keras 3 default slope 0.3 (``alpha`` is the tf.keras 2
    name)."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)
        if self.negative_slope < 0:
            raise ValueError(f"LeakyReLU: `negative_slope` must be >= 0, got {negative_slope!r}")

    def call(self, inputs):
        return _a.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        c = super().get_config()
        c["negative_slope"] = self.negative_slope
        return c


class PReLU(_Elementwise):
    """relu(x) - alpha * relu(-x) with a learned alpha per position (shared along
    ``shared_axes``)."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        set_weight_options(self, locals(), "alpha")
        self.shared_axes = None if shared_axes is None else (
            [shared_axes] if isinstance(shared_axes, (int, np.integer)) else list(shared_axes))

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for ax in self.shared_axes or []:
            shape[ax - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU {self.name!r}: every non-shared input dimension must be "
                             f"known, got input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint, name="alpha")
        self.built = True

    def call(self, inputs):
        return ops.subtract(_a.relu(inputs), ops.multiply(self.alpha, _a.relu(ops.negative(inputs))))

    def get_config(self):
        c = super().get_config()
        c.update(shared_axes=self.shared_axes, **weight_config(self, "alpha"))
        return c


class ELU(_Elementwise):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return _a.elu(inputs, self.alpha)

    def get_config(self):
        c = super().get_config()
        c["alpha"] = self.alpha
        return c


class Softmax(_Elementwise):
    """softmax along ``axis``; positions where ``mask`` is False get probability 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            big = -1e9 if np.dtype(inputs.dtype) != np.float16 else -6e4
            inputs = ops.add(inputs, ops.multiply(1.0 - ops.cast(mask, inputs.dtype).numpy(),
                                                  big))
        return _a.softmax(inputs, self.axis)

    def get_config(self):
        c = super().get_config()
        c["axis"] = self.axis
        return c
