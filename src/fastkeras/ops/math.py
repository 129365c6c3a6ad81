"""Element-wise and reduction ops with their backward beside their forward.

Each op computes its value with numpy, wraps it in a Tensor and, only when a
tape is active, records a closure that maps the upstream gradient to the
inputs' gradients (broadcast dimensions summed back out).
"""
import builtins

import numpy as np

from fastkeras._limits import check_allocation, check_broadcast, check_result
from fastkeras.ops import tape as _tape
from fastkeras.ops.products import matmul_array
from fastkeras.ops.tensor import Tensor, Variable, VariableSlice, as_array, _floatx_dtype

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
    "floor_divide",
    "mod",
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
    check_broadcast("ops.add", a, b)

    def backward(g, needs):
        return (
            unbroadcast(g, _shape(a)) if needs[0] else None,
            unbroadcast(g, _shape(b)) if needs[1] else None,
        )

    return make(np.add(a, b), (x1, x2), backward)


def subtract(x1, x2):
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.subtract", a, b)

    def backward(g, needs):
        return (
            unbroadcast(g, _shape(a)) if needs[0] else None,
            unbroadcast(-g, _shape(b)) if needs[1] else None,
        )

    return make(np.subtract(a, b), (x1, x2), backward)


def multiply(x1, x2):
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.multiply", a, b)

    def backward(g, needs):
        return (
            unbroadcast(g * b, _shape(a)) if needs[0] else None,
            unbroadcast(g * a, _shape(b)) if needs[1] else None,
        )

    return make(np.multiply(a, b), (x1, x2), backward)


def divide(x1, x2):
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.divide", a, b)
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
    check_broadcast("ops.power", a, b)
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


def _stacked(x):
    """A list or tuple holding Tensors as one stacked Tensor on the tape (as Keras converts
    ``ops.sum(self.losses)``), so the gradient reaches each element; anything else as is."""
    if isinstance(x, (list, tuple)) and builtins.any(isinstance(e, Tensor) for e in x):
        from fastkeras.ops.array_ops import stack

        return stack(list(x))
    return x


def sum(x, axis=None, keepdims=False):
    x = _stacked(x)
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    out = np.sum(a, axis=axes, keepdims=keepdims)

    def backward(g, needs):
        return (_expand_reduced(g, a.shape, axes, keepdims).astype(a.dtype, copy=True),)

    return make(out, (x,), backward)


def mean(x, axis=None, keepdims=False):
    x = _stacked(x)
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


def _indexed_shape(shape, key):
    try:
        return np.empty(shape, dtype=[])[key].shape
    except (IndexError, TypeError, ValueError):
        return (0,)  # indexing x itself says what is wrong


def getitem(x, key):
    """x[key], differentiable; a Variable's slice can also be assigned (tf semantics)."""
    a = as_array(x)
    if isinstance(key, Tensor):
        key = key._value
    if isinstance(key, np.ndarray) and key.ndim == 0:
        key = key.item()
    fancy = [k for k in (key if isinstance(key, tuple) else (key,))
             if isinstance(k, (list, np.ndarray, Tensor))]
    if fancy:  # x[[0] * 10**6] repeats rows: its shape, from an array of 0-byte items
        bound = a.size
        for k in fancy:
            bound *= np.size(as_array(k) if isinstance(k, Tensor) else k)
        check_result(bound, lambda: (_indexed_shape(a.shape, key), a.dtype), "ops.getitem")

    def backward(g, needs):
        return (_tape.SliceGrad(a.shape, g.dtype, key, g),)

    if isinstance(x, Variable):
        out = VariableSlice(x, key)
        if _tape.is_recording():
            _tape.record((x,), out, backward)
        return out
    return make(np.array(a[key]), (x,), backward)


def _matmul_shape(sa, sb):
    try:
        return np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    except ValueError:
        return (0,)  # np.matmul says what is wrong


def matmul(x1, x2):
    """Matrix product with numpy's broadcasting rules (1-D operands included); float
    products, forward and backward, run on fastkeras' BLAS (ops/products.py)."""
    a, b = as_array(x1), as_array(x2)
    if a.ndim >= 2 and b.ndim >= 2:  # (N, 1) @ (1, N) is (N, N): check it first
        check_result(a.size * b.size, lambda: (_matmul_shape(a.shape, b.shape),
                                               np.result_type(a, b)), "ops.matmul")
    out = matmul_array(a, b, "ops.matmul")

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
            ga = unbroadcast(matmul_array(g2, np.swapaxes(b2, -1, -2), "ops.matmul backward"),
                             a2.shape).reshape(a.shape)
        if needs[1]:
            gb = unbroadcast(matmul_array(np.swapaxes(a2, -1, -2), g2, "ops.matmul backward"),
                             b2.shape).reshape(b.shape)
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
    """Index of the maximum, int32 as Keras' (not differentiable)."""
    a = as_array(x)
    return Tensor(np.argmax(a, axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    a = as_array(x)
    return Tensor(np.argmin(a, axis=axis, keepdims=keepdims).astype(np.int32))


def arange(start, stop=None, step=1, dtype=None):
    """keras.ops.arange (tf.range): a 1-D Tensor of evenly spaced values.

    Without ``dtype``: int32 when start, stop and step are integers, floatx (float32) when
    any is a float, as in Keras. Float ranges hold ceil((stop - start) / step) values,
    start + i * step in the dtype, as tf.range computes them (0, 1, 0.1 ends at 0.90000004)."""
    if stop is None:
        start, stop = 0, start
    vals = [as_array(v) for v in (start, stop, step)]
    for name, v in zip(("start", "stop", "step"), vals):
        if v.ndim or v.dtype.kind not in "biuf":
            raise TypeError(f"ops.arange: `{name}` must be a real number, got {v!r}")
    if dtype is None:
        floating = builtins.any(v.dtype.kind == "f" for v in vals)
        dtype = _floatx_dtype() if floating else np.int32
    dt = np.dtype(dtype)
    s0, s1, st = (dt.type(v) for v in vals)
    if st == 0:
        raise ValueError("ops.arange: `step` must not be 0")
    if dt.kind == "f":
        if not (np.isfinite(s0) and np.isfinite(s1) and np.isfinite(st)):
            raise ValueError("ops.arange: `start`, `stop` and `step` must be finite")
        with np.errstate(over="ignore"):
            n = builtins.max(0, int(np.ceil((s1 - s0) / st)))
    else:
        n = builtins.max(0, -((int(s0) - int(s1)) // int(st)))
    check_allocation((n,), dt, "ops.arange")
    if dt.kind != "f":
        return Tensor(np.arange(int(s0), int(s0) + n * int(st), int(st), dtype=dt)[:n])
    return Tensor(s0 + st * np.arange(n, dtype=dt))


def equal(x1, x2):
    a, b = as_array(x1), as_array(x2)
    check_broadcast("ops.equal", a, b)
    return Tensor(np.equal(a, b))


true_divide = divide


def floor_divide(x1, x2):
    """Element-wise floor(x1 / x2) (Python's ``//``); its gradient is zero (not recorded)."""
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.floor_divide", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tensor(np.asarray(np.floor_divide(a, b)))


def mod(x1, x2):
    """Element-wise remainder with the sign of x2 (Python's ``%``); the gradient is 1 for
    x1 and -floor(x1 / x2) for x2, as TensorFlow's floormod."""
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.mod", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(np.mod(a, b))
        q = np.floor_divide(a, b)

    def backward(g, needs):
        return (
            unbroadcast(g, _shape(a)) if needs[0] else None,
            unbroadcast(-g * q, _shape(b)) if needs[1] else None,
        )

    return make(out, (x1, x2), backward)


# ---------------------------------------------------------------- more element-wise ops
def _unary(x, fn, grad):
    """y = fn(a) with dy/da = grad(a, y) (element-wise)."""
    a = _operand(x)
    a = a if isinstance(a, np.ndarray) else as_array(a)
    out = fn(a)
    return make(out, (x,), lambda g, needs: (g * grad(a, out),))


def log1p(x):
    return _unary(x, np.log1p, lambda a, y: 1 / (1 + a))


def expm1(x):
    return _unary(x, np.expm1, lambda a, y: y + 1)


def sign(x):
    """sign(x); its gradient is zero (as TensorFlow's)."""
    return _unary(x, np.sign, lambda a, y: np.zeros_like(y))


def sin(x):
    return _unary(x, np.sin, lambda a, y: np.cos(a))


def cos(x):
    return _unary(x, np.cos, lambda a, y: -np.sin(a))


def reciprocal(x):
    return _unary(x, np.reciprocal, lambda a, y: -y * y)


def rsqrt(x):
    return _unary(x, lambda a: 1 / np.sqrt(a), lambda a, y: -0.5 * y / a)


def _piecewise_constant(fn):
    def op(x):
        return Tensor(fn(as_array(x)))  # zero gradient almost everywhere: not recorded
    op.__name__ = fn.__name__
    op.__doc__ = f"{fn.__name__}(x), element-wise (gradient zero, not recorded)."
    return op


floor = _piecewise_constant(np.floor)
ceil = _piecewise_constant(np.ceil)
round = _piecewise_constant(np.round)  # half to even, as tf.round


def _select(x1, x2, value_fn, first_fn):
    """value_fn(a, b) whose gradient goes to x1 where first_fn(a, b), else to x2."""
    a, b = _operand(x1), _operand(x2)
    check_broadcast(f"ops.{value_fn.__name__}", a, b)
    out = value_fn(a, b)

    def backward(g, needs):
        m = first_fn(a, b)
        return (unbroadcast(np.where(m, g, 0), _shape(a)) if needs[0] else None,
                unbroadcast(np.where(m, 0, g), _shape(b)) if needs[1] else None)

    return make(out, (x1, x2), backward)


def maximum(x1, x2):
    """Element-wise maximum; where x1 >= x2 the gradient goes to x1 (as TensorFlow)."""
    return _select(x1, x2, np.maximum, np.greater_equal)


def minimum(x1, x2):
    """Element-wise minimum; where x1 <= x2 the gradient goes to x1 (as TensorFlow)."""
    return _select(x1, x2, np.minimum, np.less_equal)


def clip(x, x_min, x_max):
    """clip(x, x_min, x_max) (tf.clip_by_value): the gradient passes where
    x_min <= x <= x_max and goes to the bound that clipped elsewhere."""
    a, lo, hi = as_array(x), _operand(x_min), _operand(x_max)
    check_broadcast("ops.clip", a, lo, hi)
    out = np.minimum(np.maximum(a, lo), hi).astype(a.dtype, copy=False)

    def backward(g, needs):
        below, above = np.less(a, lo), np.greater(a, hi)
        return (np.where(below | above, 0, g).astype(a.dtype, copy=False),
                unbroadcast(np.where(below & ~above, g, 0), _shape(lo)) if needs[1] else None,
                unbroadcast(np.where(above, g, 0), _shape(hi)) if needs[2] else None)

    return make(out, (x, x_min, x_max), backward)


def where(condition, x1=None, x2=None):
    """where(condition, x1, x2), differentiable in x1 and x2; with only the
    condition, the indices of its true entries (keras.ops.where)."""
    c = as_array(condition).astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in np.nonzero(c))
    if x1 is None or x2 is None:
        raise ValueError("`x1` and `x2` must both be given (or neither)")
    a, b = _operand(x1), _operand(x2)
    check_broadcast("ops.where", c, a, b)
    out = np.where(c, a, b)

    def backward(g, needs):
        return (None,
                unbroadcast(np.where(c, g, 0), _shape(a)) if needs[1] else None,
                unbroadcast(np.where(c, 0, g), _shape(b)) if needs[2] else None)

    return make(out, (condition, x1, x2), backward)


def prod(x, axis=None, keepdims=False):
    """Product over axes; the gradient is exact with zeros in the input (products of
    the other factors, not prod / x)."""
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    out = np.prod(a, axis=axes, keepdims=keepdims)

    def backward(g, needs):
        ax = tuple(range(a.ndim)) if axes is None else axes
        rest = tuple(i for i in range(a.ndim) if i not in ax)
        perm = rest + ax
        t = np.transpose(a, perm)
        lead = t.shape[:len(rest)]
        flat = t.reshape(lead + (-1,))
        ones = np.ones(lead + (1,), a.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
        right = np.flip(np.cumprod(np.flip(np.concatenate([flat[..., 1:], ones], -1), -1), -1), -1)
        others = (left * right).reshape(t.shape)
        gx = np.transpose(others, np.argsort(perm)) * _expand_reduced(g, a.shape, axes, keepdims)
        return (gx.astype(a.dtype, copy=False),)

    return make(out, (x,), backward)


def var(x, axis=None, keepdims=False):
    """Population variance (keras.ops.var), differentiable."""
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over axes, computed stably; the gradient is the softmax."""
    a = as_array(x)
    axes = _norm_axis(axis, a.ndim)
    m = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
    m = np.where(np.isfinite(m), m, 0)
    s = np.sum(np.exp(a - m), axis=axes, keepdims=True)
    full = np.log(s) + m
    out = full if keepdims else (np.squeeze(full, axis=axes) if axes is not None else full.reshape(()))

    def backward(g, needs):
        # softmax weights; a slice that is -inf throughout (an empty set, Circle loss's rows
        # without positives) has no mass to spread: its weights are 0, not NaN
        with np.errstate(invalid="ignore"):
            w = np.where(np.isneginf(full), 0.0, np.exp(a - full))
        return ((w * _expand_reduced(g, a.shape, axes, keepdims)).astype(a.dtype),)

    return make(out.astype(a.dtype, copy=False), (x,), backward)


# ---------------------------------------------------------------- einsum / dot
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_parse(subscripts, shapes):
    """Explicit subscripts (ellipsis expanded): ([input labels], output labels)."""
    s = subscripts.replace(" ", "")
    ins, _, out = s.partition("->")
    in_list = ins.split(",")
    if len(in_list) != len(shapes):
        raise ValueError(f"einsum: {len(in_list)} operands in {subscripts!r}, "
                         f"got {len(shapes)} arrays")
    used = set(c for c in s if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    ell_nd = 0
    for lab, shp in zip(in_list, shapes):
        if "..." in lab:
            ell_nd = builtins.max(ell_nd, len(shp) - (len(lab) - 3))
    ell = "".join(free[:ell_nd])
    expanded = []
    for lab, shp in zip(in_list, shapes):
        if "..." in lab:
            n = len(shp) - (len(lab) - 3)
            lab = lab.replace("...", ell[ell_nd - n:] if n else "")
        expanded.append(lab)
    if "->" in s:
        out = out.replace("...", ell)
    else:
        counts = {}
        for lab in expanded:
            for c in lab:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return expanded, out


def einsum(subscripts, *operands):
    """Einstein summation (keras.ops.einsum), differentiable: products, contractions,
    transposes, batch dimensions, ellipses and repeated labels (diagonals, traces)."""
    arrays = [as_array(o) for o in operands]
    ins, out_lab = _einsum_parse(subscripts, [a.shape for a in arrays])
    spec = ",".join(ins) + "->" + out_lab

    def out_shape():  # each label's size (1 where an operand broadcasts it)
        sizes = {}
        for lab, arr in zip(ins, arrays):
            for c, d in zip(lab, arr.shape):
                sizes[c] = builtins.max(sizes.get(c, 1), int(d))
        return [sizes.get(c, 1) for c in out_lab]

    bound = 1
    for arr in arrays:
        bound *= arr.size
    check_result(bound, lambda: (out_shape(), np.result_type(*arrays)), "ops.einsum")
    out = np.einsum(spec, *arrays)

    def backward(g, needs):
        grads = []
        for i, need in enumerate(needs):
            if not need:
                grads.append(None)
                continue
            lab = ins[i]
            uniq = "".join(dict.fromkeys(lab))  # a repeated label (a diagonal) once
            sizes = {c: arrays[i].shape[k] for k, c in enumerate(lab)}
            others = [ins[j] for j in range(len(ins)) if j != i]
            avail = set(out_lab).union(*others) if others else set(out_lab)
            keep = "".join(c for c in uniq if c in avail)
            r = np.einsum(",".join([out_lab] + others) + "->" + keep, g,
                          *[arrays[j] for j in range(len(ins)) if j != i])
            if keep != uniq:  # labels only this operand has: summed, so broadcast back
                r = np.expand_dims(r, tuple(k for k, c in enumerate(uniq) if c not in avail))
                r = np.broadcast_to(r, tuple(sizes[c] for c in uniq))
            if uniq != lab:  # the gradient lives on the diagonal the repeated labels read
                grid = np.ix_(*[np.arange(sizes[c]) for c in uniq])
                full = np.zeros(arrays[i].shape, r.dtype)
                full[tuple(grid[uniq.index(c)] for c in lab)] = r
                r = full
            grads.append(np.ascontiguousarray(r, dtype=arrays[i].dtype)
                         if arrays[i].dtype.kind == "f" else r)
        return tuple(grads)

    return make(out, tuple(operands), backward)


def dot(x1, x2):
    """numpy.dot semantics (keras.ops.dot): scalars multiply, 1-D and 2-D operands
    take the matrix product, N-D contracts the last axis of x1 with the second-to-
    last of x2."""
    a, b = as_array(x1), as_array(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(x1, x2)
    if b.ndim <= 2:
        return matmul(x1, x2)
    la = _LETTERS[:a.ndim]
    lb = _LETTERS[a.ndim:a.ndim + b.ndim - 2] + la[-1] + _LETTERS[a.ndim + b.ndim - 2]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-2]}{lb[-1]}", x1, x2)


def tensordot(x1, x2, axes=2):
    """tensordot (keras.ops.tensordot), via einsum."""
    a, b = as_array(x1), as_array(x2)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if np.ndim(ax_a) == 0 else list(ax_a)
        ax_b = [ax_b] if np.ndim(ax_b) == 0 else list(ax_b)
    ax_a = [int(i) % a.ndim for i in ax_a]
    ax_b = [int(i) % b.ndim for i in ax_b]
    la = list(_LETTERS[:a.ndim])
    lb = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in ax_a] + [c for k, c in enumerate(lb)
                                                           if k not in ax_b]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", x1, x2)


# ---------------------------------------------------------------- comparisons and logic
def _compare(fn):
    def op(x1, x2):
        a, b = as_array(x1), as_array(x2)
        check_broadcast(f"ops.{fn.__name__}", a, b)
        return Tensor(fn(a, b))
    op.__name__ = fn.__name__
    op.__doc__ = f"Element-wise {fn.__name__} (not differentiable)."
    return op


not_equal = _compare(np.not_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


def logical_not(x):
    return Tensor(np.logical_not(as_array(x)))


def isnan(x):
    return Tensor(np.isnan(as_array(x)))


def isfinite(x):
    return Tensor(np.isfinite(as_array(x)))


def isinf(x):
    return Tensor(np.isinf(as_array(x)))


def stop_gradient(x):
    """The value of x, cut from the tape (tf.stop_gradient)."""
    return Tensor(np.array(as_array(x), copy=True))


def all(x, axis=None, keepdims=False):
    return Tensor(np.all(as_array(x), axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    return Tensor(np.any(as_array(x), axis=axis, keepdims=keepdims))


__all__ += [
    "log1p", "expm1", "sign", "sin", "cos", "reciprocal", "rsqrt", "floor", "ceil",
    "round", "maximum", "minimum", "clip", "where", "prod", "var", "std", "logsumexp", "einsum",
    "dot", "tensordot", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isfinite", "isinf",
    "stop_gradient", "all", "any",
]
