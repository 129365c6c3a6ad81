"""Element-wise and reduction ops with their backward beside their forward.

Each op computes its value with numpy, wraps it in a Tensor and, only when a
tape is active, records a closure that maps the upstream gradient to the
inputs' gradients (broadcast dimensions summed back out).
"""
import builtins

import numpy as np

from fastkeras.ops import tape as _tape
from fastkeras.ops.tensor import Tensor, Variable, VariableSlice, as_array

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "negative",
    "power",
    "square",
    "sqrt",
    "exp",
    "log",
    "sum",
    "mean",
    "reshape",
    "cast",
    "getitem",
    "matmul",
    "max",
    "min",
    "abs",
    "cumsum",
    "argmax",
    "argmin",
    "arange",
    "equal",
    "true_divide",
]


def _operand(x):
    """numpy value of an op input; Python scalars stay scalars (weakly typed, as in tf)."""
    if isinstance(x, (int, float, bool)) and not isinstance(x, np.generic):
        return x
    return as_array(x)


def make(value, inputs, backward):
    """Wrap an op's value and record its backward on the active tapes."""
    out = Tensor(np.asarray(value))
    if _tape.is_recording():
        _tape.record(inputs, out, backward)
    return out


def unbroadcast(g, shape):
    """Sum g over the axes that broadcasting added or stretched to reach g.shape."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _shape(v):
    return np.shape(v)


def add(x1, x2):
    a, b = _operand(x1), _operand(x2)

    def backward(g, needs):
        return (
            unbroadcast(g, _shape(a)) if needs[0] else None,
            unbroadcast(g, _shape(b)) if needs[1] else None,
        )

    return make(np.add(a, b), (x1, x2), backward)


def subtract(x1, x2):
    a, b = _operand(x1), _operand(x2)

    def backward(g, needs):
        return (
            unbroadcast(g, _shape(a)) if needs[0] else None,
            unbroadcast(-g, _shape(b)) if needs[1] else None,
        )

    return make(np.subtract(a, b), (x1, x2), backward)


def multiply(x1, x2):
    a, b = _operand(x1), _operand(x2)

    def backward(g, needs):
        return (
            unbroadcast(g * b, _shape(a)) if needs[0] else None,
            unbroadcast(g * a, _shape(b)) if needs[1] else None,
        )

    return make(np.multiply(a, b), (x1, x2), backward)


def divide(x1, x2):
    a, b = _operand(x1), _operand(x2)
    out = np.true_divide(a, b)

    def backward(g, needs):
        return (
            unbroadcast(g / b, _shape(a)) if needs[0] else None,
            unbroadcast(-g * out / b, _shape(b)) if needs[1] else None,
        )

    return make(out, (x1, x2), backward)


def negative(x):
    a = _operand(x)
    return make(np.negative(a), (x,), lambda g, needs: (-g,))


def power(x1, x2):
    a, b = _operand(x1), _operand(x2)
    out = np.power(a, b)

    def backward(g, needs):
        ga = gb = None
        if needs[0]:
            ga = unbroadcast(g * b * np.power(a, np.subtract(b, 1)), _shape(a))
        if needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * out * np.log(a), _shape(b))
        return ga, gb

    return make(out, (x1, x2), backward)


def square(x):
    a = _operand(x)
    return make(np.square(a), (x,), lambda g, needs: (g * 2 * a,))


def sqrt(x):
    a = _operand(x)
    out = np.sqrt(a)
    return make(out, (x,), lambda g, needs: (g / (2 * out),))


def exp(x):
    a = _operand(x)
    out = np.exp(a)
    return make(out, (x,), lambda g, needs: (g * out,))


def log(x):
    a = _operand(x)
    return make(np.log(a), (x,), lambda g, needs: (g / a,))


def _norm_axis(axis, ndim):
    if axis is None:
        return None
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for ax in axes:
        ax = int(ax)
        if not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"axis {ax} is out of bounds for a tensor of rank {ndim}")
        out.append(ax % ndim if ndim else 0)
    return tuple(out)


def _expand_reduced(g, shape, axes, keepdims):
    if not keepdims and axes is not None:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def sum(x, axis=None, keepdims=False):
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    out = np.sum(a, axis=axes, keepdims=keepdims)

    def backward(g, needs):
        return (_expand_reduced(g, a.shape, axes, keepdims).astype(a.dtype, copy=True),)

    return make(out, (x,), backward)


def mean(x, axis=None, keepdims=False):
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    out = np.mean(a, axis=axes, keepdims=keepdims)
    count = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))

    def backward(g, needs):
        return ((_expand_reduced(g, a.shape, axes, keepdims) / builtins.max(count, 1)).astype(a.dtype),)

    return make(out, (x,), backward)


def reshape(x, newshape):
    a = as_array(x)
    out = np.reshape(a, newshape)
    return make(out, (x,), lambda g, needs: (np.reshape(g, a.shape),))


def cast(x, dtype):
    a = as_array(x)
    dtype = np.dtype(getattr(dtype, "name", dtype))
    out = a.astype(dtype)
    differentiable = a.dtype.kind == "f" and dtype.kind == "f"

    def backward(g, needs):
        return (g.astype(a.dtype) if differentiable else None,)

    return make(out, (x,), backward)


def getitem(x, key):
    """x[key], differentiable; a Variable's slice can also be assigned (tf semantics)."""
    a = as_array(x)
    if isinstance(key, Tensor):
        key = key._value
    if isinstance(key, np.ndarray) and key.ndim == 0:
        key = key.item()

    def backward(g, needs):
        full = np.zeros(a.shape, dtype=g.dtype)
        np.add.at(full, key, g)
        return (full,)

    if isinstance(x, Variable):
        out = VariableSlice(x, key)
        if _tape.is_recording():
            _tape.record((x,), out, backward)
        return out
    return make(np.array(a[key]), (x,), backward)


def matmul(x1, x2):
    """Matrix product with numpy's broadcasting rules (1-D operands included)."""
    a, b = as_array(x1), as_array(x2)
    out = np.matmul(a, b)

    def backward(g, needs):
        ga = gb = None
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if needs[0]:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if needs[1]:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb

    return make(out, (x1, x2), backward)


def _extreme(x, axis, keepdims, fn):
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    out = fn(a, axis=axes, keepdims=keepdims)

    def backward(g, needs):
        # tf.reduce_max / reduce_min: the gradient is split equally among tied extremes
        full = _expand_reduced(out, a.shape, axes, keepdims)
        mask = (a == full).astype(a.dtype if a.dtype.kind == "f" else np.float64)
        count = mask.sum(axis=axes, keepdims=True) if axes is not None else mask.sum()
        return (mask * _expand_reduced(g, a.shape, axes, keepdims) / count,)

    return make(out, (x,), backward)


def max(x, axis=None, keepdims=False):
    """Maximum over axes (keras.ops.max); ties share the gradient equally, as in TensorFlow."""
    return _extreme(x, axis, keepdims, np.max)


def min(x, axis=None, keepdims=False):
    """Minimum over axes (keras.ops.min); ties share the gradient equally, as in TensorFlow."""
    return _extreme(x, axis, keepdims, np.min)


def abs(x):
    """|x|; the gradient is sign(x) (0 at 0, as in TensorFlow)."""
    a = _operand(x)
    return make(np.abs(a), (x,), lambda g, needs: (g * np.sign(a),))


def cumsum(x, axis=None):
    """Cumulative sum (keras.ops.cumsum / tf.cumsum); flattened when axis is None."""
    a = as_array(x)
    ax = None if axis is None else int(axis)
    out = np.cumsum(a, axis=ax)

    def backward(g, needs):
        if ax is None:
            r = np.flip(np.cumsum(np.flip(g.reshape(-1)))).reshape(a.shape)
        else:
            r = np.flip(np.cumsum(np.flip(g, axis=ax), axis=ax), axis=ax)
        return (r,)

    return make(out, (x,), backward)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (not differentiable)."""
    a = as_array(x)
    return Tensor(np.argmax(a, axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    a = as_array(x)
    return Tensor(np.argmin(a, axis=axis, keepdims=keepdims))


def arange(start, stop=None, step=1, dtype=None):
    """keras.ops.arange (tf.range): a 1-D Tensor of evenly spaced values."""
    if stop is None:
        start, stop = 0, start
    return Tensor(np.arange(int(as_array(start)), int(as_array(stop)), int(as_array(step)),
                            dtype=dtype or np.int32))


def equal(x1, x2):
    return Tensor(np.equal(as_array(x1), as_array(x2)))


true_divide = divide
