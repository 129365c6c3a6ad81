"""fastkeras.backend: Keras 3's ``keras.backend`` names (epsilon, floatx, image_data_format
and their setters, clear_session, standardize_dtype, result_type, is_float_dtype,
is_int_dtype, is_keras_tensor, get_uid, backend) and the tf.keras 2 functions old code calls
as ``K.<name>`` (int_shape, learning_phase, mean, sum, square, clip, ...), written with
fastkeras.ops so that they are differentiable under a GradientTape.

``backend()`` answers ``"fastkeras"``: programs that branch on ``"tensorflow"`` / ``"jax"``
/ ``"torch"`` take their backend-neutral path. Dtype rules follow Keras' TensorFlow backend
(Python ints are int64, as in tf.keras).
"""
import builtins
import contextlib
import gc
import math as _pymath
import numbers

import numpy as np

from fastkeras import ops as _ops
from fastkeras.config import (backend, epsilon, floatx, image_data_format, set_epsilon,
                              set_floatx, set_image_data_format)
from fastkeras.ops.tensor import Tensor, Variable, as_array

__all__ = [
    # Keras 3's keras.backend
    "backend", "clear_session", "epsilon", "set_epsilon", "floatx", "set_floatx",
    "image_data_format", "set_image_data_format", "is_keras_tensor", "standardize_dtype",
    "result_type", "is_float_dtype", "is_int_dtype", "get_uid",
    # tf.keras 2 (tf.keras.backend / the Keras 3 tf_keras facade)
    "int_shape", "ndim", "dtype", "shape", "learning_phase", "set_learning_phase",
    "count_params", "get_value", "set_value", "batch_get_value", "batch_set_value", "eval",
    "variable", "constant", "zeros", "ones", "zeros_like", "ones_like", "eye", "arange",
    "cast", "cast_to_floatx", "is_sparse", "to_dense", "name_scope",
    "update", "update_add", "update_sub",
    "abs", "all", "any", "argmax", "argmin", "clip", "cos", "sin", "exp", "log", "pow",
    "round", "sign", "sqrt", "square", "maximum", "minimum", "equal", "not_equal",
    "greater", "greater_equal", "less", "less_equal", "cumsum",
    "max", "min", "mean", "sum", "prod", "std", "var",
    "reshape", "flatten", "batch_flatten", "expand_dims", "squeeze", "stack", "concatenate",
    "transpose", "permute_dimensions", "tile", "repeat", "repeat_elements", "gather",
    "one_hot", "dot", "batch_dot", "switch", "stop_gradient", "l2_normalize",
    "relu", "elu", "sigmoid", "hard_sigmoid", "tanh", "softmax", "softplus", "softsign",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "random_normal", "random_uniform", "random_bernoulli", "truncated_normal", "dropout",
]


# ------------------------------------------------------------------------------ Keras 3
def clear_session(free_memory=True):
    """Reset fastkeras' global state: the counters behind layer, optimizer and seed
    generator names (and ``get_uid``), as keras.backend.clear_session does; with
    ``free_memory`` also run the garbage collector."""
    from fastkeras.layers import base

    base.clear_session()
    if free_memory:
        gc.collect()


def get_uid(prefix=""):
    """A counter per prefix, 1 on the first call (shared with auto-generated layer names,
    as in Keras: after a first ``Dense``, ``get_uid("dense")`` is 2)."""
    from fastkeras.layers import base

    counts = getattr(base._names, "counts", None)
    if counts is None:
        counts = base._names.counts = {}
    counts[prefix] = counts.get(prefix, 0) + 1
    return counts[prefix]


def is_keras_tensor(x):
    """Whether x is a symbolic tensor (from ``keras.Input`` or a layer called on one)."""
    from fastkeras.layers.base import KerasTensor

    return isinstance(x, KerasTensor)


_ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64",
                   "int8", "int16", "int32", "int64", "bfloat16", "bool", "string",
                   "float8_e4m3fn", "float8_e5m2", "complex64", "complex128")
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string",
                  "int": "int64", complex: "complex128"}


def standardize_dtype(dtype):
    """A Keras dtype name from a name, a numpy dtype / type, a Python type or a tensor
    dtype; None is floatx(). ValueError for anything else."""
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:  # unhashable
        pass
    if isinstance(dtype, np.dtype):
        dtype = dtype.name
    elif hasattr(dtype, "name") and isinstance(getattr(dtype, "name"), str):
        dtype = dtype.name
    elif isinstance(dtype, type) and hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    if dtype == "str_" or dtype == "bytes_":
        dtype = "string"
    if not isinstance(dtype, str) or dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype):
    d = standardize_dtype(dtype)
    return d.startswith("float") or d.startswith("bfloat")


def is_int_dtype(dtype):
    d = standardize_dtype(dtype)
    return d.startswith("int") or d.startswith("uint")


# The promotion lattice (JAX's, which Keras 3 adopts): each type's immediate supertypes;
# "int" and "float" are the weak types of Python scalars.
_LATTICE = {
    "bool": ["int"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"], "uint64": ["float"],
    "int": ["uint8", "int8", "complex64"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16"],
    "bfloat16": ["float32"], "float16": ["float32"],
    "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}


def _upper_bounds():
    bounds = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for up in _LATTICE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        bounds[node] = frozenset(seen)
    return bounds


_UPPER = _upper_bounds()


def _least_upper_bound(nodes):
    nodes = set(nodes)
    for n in nodes:
        if n not in _UPPER:
            raise ValueError(f"dtype={n!r} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    # the common upper bound that every other common bound is above
    least = [c for c in common if common <= _UPPER[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(sorted(nodes))} have no available implicit "
                         "dtype promotion path. Try explicitly casting inputs to the "
                         "desired output type.")
    return least[0]


def _weak(d):
    if d == "bool":
        return d
    for kind in ("float", "int", "complex"):
        if kind in d:
            return kind
    raise ValueError(f"Invalid value for argument `dtype`: {d}")


def result_type(*dtypes):
    """The dtype Keras' type promotion gives for these dtypes (keras.backend.result_type;
    the Python types ``int`` and ``float`` are weak, as in JAX). No arguments: floatx()."""
    if not dtypes:
        return floatx()
    if builtins.any(d in ("float8_e4m3fn", "float8_e5m2") for d in dtypes):
        raise ValueError("There is no implicit conversions from float8 dtypes to others. "
                         f"You must cast it internally. Received: {dtypes}")
    args = [floatx() if d is None else d for d in dtypes]
    weak = [a is int or a is float for a in args]
    names = [standardize_dtype(a) for a in args]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not builtins.all(weak):
        out, out_weak = names[0], False
    elif builtins.all(weak):
        out, out_weak = _least_upper_bound(names), True
    else:
        out = _least_upper_bound(_weak(n) if w else n for n, w in zip(names, weak))
        out_weak = out in ("int", "float")
    out_weak = out_weak and out != "bool"
    if out_weak:  # a weak result takes floatx's precision
        bits = floatx()[-2:]
        kind = "f" if out == "bfloat16" else out[:1]
        out = {"b": "bool", "i": f"int{bits}", "u": f"uint{bits}"}.get(kind, f"float{bits}")
    return {"uint64": "uint32", "complex128": "complex64"}.get(out, out)


# ------------------------------------------------------------------------------ tf.keras 2
_LEARNING_PHASE = 0


def learning_phase():
    """tf.keras 2's learning phase: 0 (inference) unless set; fastkeras layers take
    ``training=`` in their call, as in Keras 3, and do not read it."""
    return _LEARNING_PHASE


def set_learning_phase(value):
    global _LEARNING_PHASE
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, got {value!r}")
    _LEARNING_PHASE = int(value)


def int_shape(x):
    """The shape of x as a tuple (None for unknown sizes of a symbolic tensor)."""
    try:
        return tuple(x.shape)
    except (AttributeError, TypeError):
        return tuple(np.shape(x))


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    """The dtype name of x (``"float32"``)."""
    return standardize_dtype(x.dtype)


def shape(x):
    """The shape of x as an int32 tensor (tf.shape)."""
    return Tensor(np.array(int_shape(x), dtype=np.int32))


def count_params(x):
    return int(_pymath.prod(int_shape(x)))


def get_value(x):
    """The numpy value of a Variable or Tensor (other values are returned as they are)."""
    if isinstance(x, Tensor):
        return x.numpy()
    return x


def batch_get_value(tensors):
    return [get_value(x) for x in tensors]


def set_value(x, value):
    x.assign(np.asarray(value, dtype=x.dtype))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def eval(x):  # noqa: A001  (tf.keras' name)
    return get_value(x)


def variable(value, dtype=None, name=None, constraint=None):
    return Variable(value, dtype=dtype or floatx(), name=name, constraint=constraint)


def constant(value, dtype=None, shape=None, name=None):
    return _ops.constant(value, dtype=dtype or floatx(), shape=shape)


def _all_known(shape_):
    s = (shape_,) if isinstance(shape_, numbers.Integral) else tuple(shape_)
    return builtins.all(d is not None for d in s), s


def zeros(shape, dtype=None, name=None):
    """A Variable of zeros (tf.keras 2 returns a variable when the shape is known)."""
    return Variable(np.zeros(_all_known(shape)[1], dtype=dtype or floatx()), name=name)


def ones(shape, dtype=None, name=None):
    return Variable(np.ones(_all_known(shape)[1], dtype=dtype or floatx()), name=name)


def zeros_like(x, dtype=None, name=None):
    return _ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return _ops.ones_like(x, dtype=dtype)


def eye(size, dtype=None, name=None):
    if isinstance(size, (list, tuple)):
        n, m = size
    else:
        n, m = size, size
    return Variable(np.eye(n, m, dtype=dtype or floatx()), name=name)


def arange(start, stop=None, step=1, dtype="int32"):
    if stop is None and start < 0:
        start = 0
    return _ops.arange(start, stop, step, dtype=dtype)


def cast(x, dtype):
    return _ops.cast(x, dtype)


def cast_to_floatx(x):
    if isinstance(x, Tensor):
        return _ops.cast(x, floatx())
    return np.asarray(x, dtype=floatx())


def is_sparse(tensor):
    return False


def to_dense(tensor):
    return tensor


@contextlib.contextmanager
def name_scope(name):
    yield name


def update(x, new_x):
    return x.assign(new_x)


def update_add(x, increment):
    return x.assign_add(increment)


def update_sub(x, decrement):
    return x.assign_sub(decrement)


# ---- element-wise math and reductions
def abs(x):  # noqa: A001
    return _ops.abs(x)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.all(_ops.cast(x, "bool"), axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.any(_ops.cast(x, "bool"), axis=axis, keepdims=keepdims)


def argmax(x, axis=-1):
    return _ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return _ops.argmin(x, axis=axis)


def clip(x, min_value, max_value):
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and \
            max_value < min_value:
        max_value = min_value
    return _ops.clip(x, -np.inf if min_value is None else min_value,
                     np.inf if max_value is None else max_value)


def cos(x):
    return _ops.cos(x)


def sin(x):
    return _ops.sin(x)


def exp(x):
    return _ops.exp(x)


def log(x):
    return _ops.log(x)


def pow(x, a):  # noqa: A001
    return _ops.power(x, a)


def round(x):  # noqa: A001
    return _ops.round(x)


def sign(x):
    return _ops.sign(x)


def sqrt(x):
    """The square root of max(x, 0) (tf.keras 2 clamps negative inputs to 0)."""
    return _ops.sqrt(_ops.maximum(x, 0.0))


def square(x):
    return _ops.square(x)


def maximum(x, y):
    return _ops.maximum(x, y)


def minimum(x, y):
    return _ops.minimum(x, y)


def equal(x, y):
    return _ops.equal(x, y)


def not_equal(x, y):
    return _ops.not_equal(x, y)


def greater(x, y):
    return _ops.greater(x, y)


def greater_equal(x, y):
    return _ops.greater_equal(x, y)


def less(x, y):
    return _ops.less(x, y)


def less_equal(x, y):
    return _ops.less_equal(x, y)


def cumsum(x, axis=0):
    return _ops.cumsum(x, axis=axis)


def _floaty(x):
    """Booleans averaged as floatx, as tf.keras 2's reductions do."""
    return _ops.cast(x, floatx()) if as_array(x).dtype == bool else x


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.min(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _ops.mean(_floaty(x), axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.sum(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return _ops.prod(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return _ops.std(_floaty(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return _ops.var(_floaty(x), axis=axis, keepdims=keepdims)


# ---- shapes
def reshape(x, shape):
    return _ops.reshape(x, shape)


def flatten(x):
    return _ops.reshape(x, (-1,))


def batch_flatten(x):
    s = int_shape(x)
    return _ops.reshape(x, (-1, int(_pymath.prod(s[1:]))))


def expand_dims(x, axis=-1):
    return _ops.expand_dims(x, axis)


def squeeze(x, axis):
    return _ops.squeeze(x, axis=axis)


def stack(x, axis=0):
    return _ops.stack(x, axis=axis)


def concatenate(tensors, axis=-1):
    return _ops.concatenate(tensors, axis=axis)


def transpose(x):
    return _ops.transpose(x)


def permute_dimensions(x, pattern):
    return _ops.transpose(x, axes=tuple(pattern))


def tile(x, n):
    return _ops.tile(x, [n] if isinstance(n, int) else n)


def repeat(x, n):
    """(batch, dim) -> (batch, n, dim)."""
    if ndim(x) != 2:
        raise ValueError(f"Expected input `x` to have rank 2. Received: rank(x)={ndim(x)}")
    return _ops.tile(_ops.expand_dims(x, 1), [1, n, 1])


def repeat_elements(x, rep, axis):
    return _ops.repeat(x, rep, axis=axis)


def gather(reference, indices):
    return _ops.take(reference, indices, axis=0)


def one_hot(indices, num_classes):
    return _ops.one_hot(indices, num_classes, axis=-1)


def dot(x, y):
    """tf.keras 2's dot: a matrix product, contracting x's last axis with y's
    second-to-last for inputs of rank > 2."""
    nx, ny = ndim(x), ndim(y)
    if nx > 2 or ny > 2:
        sx, sy = int_shape(x), int_shape(y)
        perm = list(range(ny))
        perm = [perm.pop(-2)] + perm
        xt = _ops.reshape(x, (-1, sx[-1]))
        yt = _ops.reshape(_ops.transpose(y, axes=perm), (sy[-2], -1))
        return _ops.reshape(_ops.matmul(xt, yt), tuple(sx[:-1]) + tuple(sy[:-2]) +
                            tuple(sy[-1:]))
    return _ops.matmul(x, y)


def batch_dot(x, y, axes=None):
    """Batch-wise dot product of two tensors of rank >= 2 (tf.keras 2's batch_dot): the
    product over ``axes`` (default: x's last and y's last but one, or last for a rank-2
    y), batch axis 0 kept; a rank-2 result gets a trailing axis of 1."""
    sx, sy = int_shape(x), int_shape(y)
    nx, ny = len(sx), len(sy)
    if nx < 2 or ny < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs "
                         f"with shapes {sx} and {sy}.")
    if sx[0] is not None and sy[0] is not None and sx[0] != sy[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. "
                         f"Received inputs with shapes {sx} and {sy}.")
    if axes is None:
        axes = [nx - 1, ny - 2] if ny > 2 else [nx - 1, ny - 1]
    elif isinstance(axes, int):
        axes = [axes, axes]
    a0, a1 = (a % n for a, n in zip(axes, (nx, ny)))
    if a0 == 0 or a1 == 0:
        raise ValueError(f"Cannot perform batch_dot over axis 0. Received axes={axes}")
    if sx[a0] != sy[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {sx} and {sy} with "
                         f"axes={axes}. x.shape[{a0}] != y.shape[{a1}] ({sx[a0]} != "
                         f"{sy[a1]}).")
    letters = "abcdefghijklmnopqrstuvwxyz"
    xs = ["z"] + [letters[i] for i in range(nx - 1)]
    ys = ["z"] + [letters[nx - 1 + i] for i in range(ny - 1)]
    ys[a1] = xs[a0]
    out = [c for i, c in enumerate(xs) if i != a0] + \
        [c for i, c in enumerate(ys) if i not in (0, a1)]
    result = _ops.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
    if len(out) == 1:
        result = _ops.expand_dims(result, 1)
    return result


def switch(condition, then_expression, else_expression):
    """then_expression where condition holds, else else_expression (a scalar condition
    picks one; callables are called)."""
    c = as_array(condition)
    if c.ndim == 0:
        chosen = then_expression if bool(c) else else_expression
        return chosen() if callable(chosen) else chosen
    t = then_expression() if callable(then_expression) else then_expression
    e = else_expression() if callable(else_expression) else else_expression
    nt = ndim(t)
    if c.ndim > nt:
        raise ValueError("Rank of `condition` should be less than or equal to rank of "
                         f"`then_expression` and `else_expression`. ndim(condition)="
                         f"{c.ndim}, ndim(then_expression)={nt}")
    c = c.astype(bool).reshape(c.shape + (1,) * (nt - c.ndim))
    return _ops.where(c, t, e)


def stop_gradient(variables):
    if isinstance(variables, (list, tuple)):
        return [_ops.stop_gradient(v) for v in variables]
    return _ops.stop_gradient(variables)


def l2_normalize(x, axis=None):
    """x / sqrt(max(sum(x**2, axis), 1e-12)) (tf.linalg.l2_normalize)."""
    sq = _ops.sum(_ops.square(x), axis=axis, keepdims=True)
    return _ops.multiply(x, _ops.rsqrt(_ops.maximum(sq, 1e-12)))


# ---- activations
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    from fastkeras import activations

    return activations.relu(x, negative_slope=alpha, max_value=max_value,
                            threshold=threshold)


def elu(x, alpha=1.0):
    res = _ops.elu(x)
    if alpha == 1:
        return res
    return _ops.where(_ops.greater(x, 0), res, _ops.multiply(alpha, res))


def sigmoid(x):
    return _ops.sigmoid(x)


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1): tf.keras 2's slope (Keras 3's ops.hard_sigmoid is x/6)."""
    return _ops.clip(_ops.add(_ops.multiply(x, 0.2), 0.5), 0.0, 1.0)


def tanh(x):
    return _ops.tanh(x)


def softmax(x, axis=-1):
    if ndim(x) <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    return _ops.softmax(x, axis=axis)


def softplus(x):
    return _ops.softplus(x)


def softsign(x):
    return _ops.softsign(x)


# ---- losses (tf.keras 2 formulas)
def binary_crossentropy(target, output, from_logits=False):
    if from_logits:
        # max(z, 0) - z t + log(1 + exp(-|z|)), the stable form of sigmoid cross-entropy
        z = output
        return _ops.add(_ops.subtract(_ops.maximum(z, 0.0), _ops.multiply(z, target)),
                        _ops.log1p(_ops.exp(_ops.negative(_ops.abs(z)))))
    eps = epsilon()
    out = _ops.clip(output, eps, 1.0 - eps)
    bce = _ops.multiply(target, _ops.log(_ops.add(out, eps)))
    bce = _ops.add(bce, _ops.multiply(_ops.subtract(1.0, target),
                                      _ops.log(_ops.add(_ops.subtract(1.0, out), eps))))
    return _ops.negative(bce)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    if int_shape(target) != int_shape(output):
        raise ValueError(f"Shapes {int_shape(target)} and {int_shape(output)} are "
                         "incompatible")
    if from_logits:
        return _ops.negative(_ops.sum(_ops.multiply(target, _ops.log_softmax(output, axis)),
                                      axis=axis))
    out = _ops.divide(output, _ops.sum(output, axis=axis, keepdims=True))
    eps = epsilon()
    out = _ops.clip(out, eps, 1.0 - eps)
    return _ops.negative(_ops.sum(_ops.multiply(target, _ops.log(out)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1,
                                    ignore_class=None):
    """Per-sample cross-entropy of integer labels: the fused loss function of
    keras.losses (labels (N,) or (N, 1); ignore_class gives 0 and masks those samples)."""
    from fastkeras.losses import sparse_categorical_crossentropy as _scce

    return _scce(target, output, from_logits=from_logits, ignore_class=ignore_class,
                 axis=axis)


# ---- random (tf.keras 2 names over fastkeras.random)
def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    from fastkeras import random

    return random.normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    from fastkeras import random

    return random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    from fastkeras import random

    return random.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability p, else 0."""
    from fastkeras import random

    u = as_array(random.uniform(shape, dtype=dtype, seed=seed))
    return Tensor((u <= p).astype(u.dtype))


def dropout(x, level, noise_shape=None, seed=None):
    from fastkeras import random

    return random.dropout(x, level, noise_shape=noise_shape, seed=seed)

