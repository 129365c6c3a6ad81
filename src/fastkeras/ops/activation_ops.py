"""Activation ops (keras.ops names) with their backward beside their forward.

Gradients follow TensorFlow at the kinks (relu: 0 at 0; relu6: 0 at 0 and 6;
leaky_relu: the slope at 0; elu: alpha * exp(0) at 0). GELU and erf run in the C
core (numpy has no erf); the rest are numpy expressions.
"""
import math

import numpy as np

from fastkeras import config
from fastkeras._kernels import elementwise as _ke
from fastkeras.ops import buffers
from fastkeras.ops.math import _norm_axis, make
from fastkeras.ops.tensor import as_array

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid",
    "hard_silu", "hard_swish", "silu", "swish", "softplus", "softsign", "mish", "log_sigmoid",
    "softmax", "log_softmax", "erf", "tanh",
]


def _float(x, name="x"):
    a = as_array(x)
    if a.dtype.kind != "f":
        if a.dtype.kind not in "iub":
            raise TypeError(f"`{name}` must hold numbers, got dtype {a.dtype}")
        a = a.astype(np.float32 if config.floatx() != "float64" else np.float64)
    return a


def _c_input(a):
    # np.asarray(order="C"), not ascontiguousarray: that one turns a 0-d array into 1-d
    c = np.asarray(a if a.dtype in (np.float32, np.float64) else a.astype(np.float32),
                   order="C")
    return c.reshape(-1), c


def _act(x, name, alpha=0.0, keep_output=False):
    """y = f(x) and its backward in one pass each, in the C core (activation.h)."""
    a = _float(x)
    flat, c = _c_input(a)
    y = buffers.empty(c.shape, c.dtype)
    kind = _ke.KINDS[name]
    nt = config.get_num_threads()
    _ke.act_forward(kind, flat, y.reshape(-1), alpha, nt)

    def backward(g, needs):
        gc = np.ascontiguousarray(g, dtype=c.dtype).reshape(-1)
        dx = buffers.empty(c.shape, c.dtype)
        _ke.act_backward(kind, flat, y.reshape(-1) if keep_output else None, gc,
                         dx.reshape(-1), alpha, nt)
        return (dx.astype(a.dtype, copy=False),)

    return make(y.astype(a.dtype, copy=False), (x,), backward)


def relu(x):
    return _act(x, "relu")


def relu6(x):
    return _act(x, "relu6")


def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope * x); TensorFlow keeps the slope as a float32 attribute, so
    it is rounded to float32 here too (float64 results then agree to the last bit)."""
    return _act(x, "leaky_relu", float(np.float32(negative_slope)))


def elu(x, alpha=1.0):
    return _act(x, "elu", float(alpha))


def selu(x):
    return _act(x, "selu")


def sigmoid(x):
    return _act(x, "sigmoid", keep_output=True)


def tanh(x):
    return _act(x, "tanh", keep_output=True)


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3)."""
    return _act(x, "hard_sigmoid")


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return _act(x, "hard_silu")


hard_swish = hard_silu


def silu(x):
    """x * sigmoid(x) (swish)."""
    return _act(x, "silu")


swish = silu


def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return _act(x, "softplus")


def softsign(x):
    return _act(x, "softsign")


def mish(x):
    """x * tanh(softplus(x))."""
    return _act(x, "mish")


def log_sigmoid(x):
    """-softplus(-x), computed stably."""
    return _act(x, "log_sigmoid")


def gelu(x, approximate=True):
    """Gaussian error linear unit (Keras 3's ops default: the tanh approximation);
    exact: x * Phi(x)."""
    return _act(x, "gelu_tanh" if approximate else "gelu_erf")


def erf(x):
    """The error function (C kernel); d erf/dx = 2 / sqrt(pi) * exp(-x^2)."""
    a = _float(x)
    flat, c = _c_input(a)
    y = np.empty_like(c)
    _ke.erf(flat, y.reshape(-1), config.get_num_threads())
    k = 2 / math.sqrt(math.pi)
    return make(y.astype(a.dtype, copy=False), (x,),
                lambda g, needs: ((g * k * np.exp(-a * a)).astype(a.dtype, copy=False),))


def softmax_values(a, axes):
    """The softmax of array a along axes (in a's dtype): the one implementation the tape's
    op and the compiled plans' CPU backend use."""
    e = np.exp(a - np.max(a, axis=axes, keepdims=True))
    return (e / np.sum(e, axis=axes, keepdims=True)).astype(a.dtype, copy=False)


def softmax_gradient(y, g, axes):
    """The gradient of softmax at its output y for the output gradient g."""
    return (y * (g - np.sum(g * y, axis=axes, keepdims=True))).astype(y.dtype, copy=False)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis (an int or a tuple of ints)."""
    a = _float(x)
    axes = _norm_axis(axis, a.ndim)
    y = softmax_values(a, axes)
    return make(y, (x,), lambda g, needs: (softmax_gradient(y, g, axes),))


def log_softmax(x, axis=-1):
    a = _float(x)
    axes = _norm_axis(axis, a.ndim)
    s = a - np.max(a, axis=axes, keepdims=True)
    y = (s - np.log(np.sum(np.exp(s), axis=axes, keepdims=True))).astype(a.dtype, copy=False)
    return make(y, (x,), lambda g, needs: (
        (g - np.exp(y) * np.sum(g, axis=axes, keepdims=True)).astype(a.dtype, copy=False),))
