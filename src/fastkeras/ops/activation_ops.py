"""Activation ops (keras.ops names) with their backward beside their forward.

Gradients follow TensorFlow at the kinks (relu: 0 at 0; relu6: 0 at 0 and 6;
leaky_relu: the slope at 0; elu: alpha * exp(0) at 0). GELU and erf run in the C
core (numpy has no erf); the rest are numpy expressions.
"""
import math

import numpy as np

from fastkeras import config
from fastkeras._kernels import elementwise as _ke
from fastkeras.ops.math import _norm_axis, make
from fastkeras.ops.tensor import as_array

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid",
    "hard_silu", "hard_swish", "silu", "swish", "softplus", "softsign", "mish", "log_sigmoid",
    "softmax", "log_softmax", "erf",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float(x, name="x"):
    a = as_array(x)
    if a.dtype.kind != "f":
        if a.dtype.kind not in "iub":
            raise TypeError(f"`{name}` must hold numbers, got dtype {a.dtype}")
        a = a.astype(np.float32 if config.floatx() != "float64" else np.float64)
    return a


def _elementwise(x, fwd, grad):
    a = _float(x)
    out = fwd(a)
    return make(out, (x,), lambda g, needs: ((g * grad(a, out)).astype(a.dtype, copy=False),))


def relu(x):
    return _elementwise(x, lambda a: np.maximum(a, 0).astype(a.dtype, copy=False),
                        lambda a, y: a > 0)


def relu6(x):
    return _elementwise(x, lambda a: np.clip(a, 0, 6).astype(a.dtype, copy=False),
                        lambda a, y: (a > 0) & (a < 6))


def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope * x); TensorFlow keeps the slope as a float32 attribute, so
    it is rounded to float32 here too (float64 results then agree to the last bit)."""
    s = float(np.float32(negative_slope))
    return _elementwise(x, lambda a: np.where(a > 0, a, a * a.dtype.type(s)),
                        lambda a, y: np.where(a > 0, 1, s).astype(a.dtype))


def elu(x, alpha=1.0):
    al = float(alpha)
    return _elementwise(x, lambda a: np.where(a > 0, a, a.dtype.type(al) * np.expm1(np.minimum(a, 0))),
                        lambda a, y: np.where(a > 0, 1, al * np.exp(np.minimum(a, 0))).astype(a.dtype))


def selu(x):
    return _elementwise(
        x,
        lambda a: (a.dtype.type(SELU_SCALE) * np.where(
            a > 0, a, a.dtype.type(SELU_ALPHA) * np.expm1(np.minimum(a, 0)))).astype(a.dtype),
        lambda a, y: (SELU_SCALE * np.where(a > 0, 1, SELU_ALPHA * np.exp(np.minimum(a, 0))))
        .astype(a.dtype))


def _sigmoid(a):
    # stable for large |a|: exp of a non-positive number only
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def sigmoid(x):
    return _elementwise(x, _sigmoid, lambda a, y: y * (1 - y))


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3)."""
    return _elementwise(x, lambda a: (np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False),
                        lambda a, y: ((a > -3) & (a < 3)) / 6.0)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    def fwd(a):
        return (a * np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)

    def grad(a, y):
        return np.where(a <= -3, 0.0, np.where(a >= 3, 1.0, (2 * a + 3) / 6))

    return _elementwise(x, fwd, grad)


hard_swish = hard_silu


def silu(x):
    """x * sigmoid(x) (swish)."""
    a = _float(x)
    s = _sigmoid(a)
    return make((a * s).astype(a.dtype, copy=False), (x,),
                lambda g, needs: ((g * (s + a * s * (1 - s))).astype(a.dtype, copy=False),))


swish = silu


def _softplus(a):
    return (np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0)).astype(a.dtype, copy=False)


def softplus(x):
    return _elementwise(x, _softplus, lambda a, y: _sigmoid(a))


def softsign(x):
    return _elementwise(x, lambda a: a / (1 + np.abs(a)), lambda a, y: 1 / np.square(1 + np.abs(a)))


def mish(x):
    """x * tanh(softplus(x))."""
    a = _float(x)
    t = np.tanh(_softplus(a))
    return make((a * t).astype(a.dtype, copy=False), (x,),
                lambda g, needs: ((g * (t + a * (1 - t * t) * _sigmoid(a))).astype(a.dtype),))


def log_sigmoid(x):
    """-softplus(-x), computed stably."""
    return _elementwise(x, lambda a: -_softplus(-a), lambda a, y: _sigmoid(-a))


def _c_input(a):
    c = np.ascontiguousarray(a if a.dtype in (np.float32, np.float64) else a.astype(np.float32))
    return c.reshape(-1), c


def gelu(x, approximate=True):
    """Gaussian error linear unit (Keras 3 default: the tanh approximation); C kernel."""
    a = _float(x)
    flat, c = _c_input(a)
    y = np.empty_like(c)
    nt = config.get_num_threads()
    _ke.gelu_forward(flat, y.reshape(-1), bool(approximate), nt)

    def backward(g, needs):
        gc = np.ascontiguousarray(g, dtype=c.dtype).reshape(-1)
        dx = np.empty_like(c)
        _ke.gelu_backward(flat, gc, dx.reshape(-1), bool(approximate), nt)
        return (dx.astype(a.dtype, copy=False),)

    return make(y.astype(a.dtype, copy=False), (x,), backward)


def erf(x):
    """The error function (C kernel); d erf/dx = 2 / sqrt(pi) * exp(-x^2)."""
    a = _float(x)
    flat, c = _c_input(a)
    y = np.empty_like(c)
    _ke.erf(flat, y.reshape(-1), config.get_num_threads())
    k = 2 / math.sqrt(math.pi)
    return make(y.astype(a.dtype, copy=False), (x,),
                lambda g, needs: ((g * k * np.exp(-a * a)).astype(a.dtype, copy=False),))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis (an int or a tuple of ints)."""
    a = _float(x)
    axes = _norm_axis(axis, a.ndim)
    e = np.exp(a - np.max(a, axis=axes, keepdims=True))
    y = (e / np.sum(e, axis=axes, keepdims=True)).astype(a.dtype, copy=False)
    return make(y, (x,), lambda g, needs: (
        (y * (g - np.sum(g * y, axis=axes, keepdims=True))).astype(a.dtype, copy=False),))


def log_softmax(x, axis=-1):
    a = _float(x)
    axes = _norm_axis(axis, a.ndim)
    s = a - np.max(a, axis=axes, keepdims=True)
    y = (s - np.log(np.sum(np.exp(s), axis=axes, keepdims=True))).astype(a.dtype, copy=False)
    return make(y, (x,), lambda g, needs: (
        (g - np.exp(y) * np.sum(g, axis=axes, keepdims=True)).astype(a.dtype, copy=False),))
