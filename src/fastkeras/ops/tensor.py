"""``Tensor`` and ``Variable``: thin, immutable / mutable wrappers of numpy arrays.

A Tensor is what ops return (``.numpy()``, ``.shape``, ``.dtype`` and the
Python operators, as in tf). A Variable is mutable state (``assign``...) that
a ``GradientTape`` watches automatically when it is trainable.
"""
import numpy as np

from fastkeras import config

__all__ = ["Tensor", "Variable", "VariableSlice", "convert_to_tensor", "constant", "as_array",
           "is_tensor"]


def _floatx_dtype():
    return np.dtype(config.floatx()) if config.floatx() != "bfloat16" else np.dtype("float32")


def as_array(x, dtype=None):
    """The numpy value of x: Tensors/Variables unwrap, Python data follows tf's
    conversion rules (Python floats become floatx, not float64)."""
    if isinstance(x, Tensor):
        v = x._value
    elif isinstance(x, np.ndarray):
        v = x
    elif isinstance(x, np.generic):
        v = np.asarray(x)
    elif hasattr(x, "__cuda_array_interface__") or (
            hasattr(x, "__dlpack_device__") and _on_gpu(x)):  # CuPy & co: one copy to the host
        from fastkeras.cuda import to_host

        v = to_host(x)
    else:
        v = np.asarray(x)
        if v.dtype.kind == "f" and v.dtype != _floatx_dtype():
            v = v.astype(_floatx_dtype())
    if dtype is not None:
        dtype = np.dtype(dtype)
        if v.dtype != dtype:
            v = v.astype(dtype)
    return v


def _on_gpu(x):
    from fastkeras.cuda import is_device_array

    return is_device_array(x)


def is_tensor(x):
    return isinstance(x, Tensor)


class Tensor:
    """An immutable n-dimensional array produced by fastkeras ops."""

    # _keras_logits: set by activations.softmax / sigmoid on their output (the input logits,
    # _keras_logits_of the activation's name), so that the cross-entropies compute from the
    # logits as tf.keras does
    __slots__ = ("_value", "_keras_mask", "_keras_logits", "_keras_logits_of", "__weakref__")
    __array_priority__ = 100  # numpy defers to our operators

    def __init__(self, value):
        self._value = value if isinstance(value, np.ndarray) else np.asarray(value)
        self._keras_mask = None
        self._keras_logits = None
        self._keras_logits_of = None

    # ---- inspection
    def numpy(self):
        """The value as a numpy array (a 0-d array prints as a scalar)."""
        v = self._value
        return v[()] if v.ndim == 0 else v

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    def __array__(self, dtype=None, copy=None):
        v = self._value
        if dtype is not None and v.dtype != dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar tensor")
        return len(self._value)

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a scalar tensor")
        return (self[i] for i in range(len(self._value)))

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):
        return self._value.__index__()

    def __bool__(self):
        return bool(self._value)

    def __format__(self, spec):
        if self._value.ndim == 0:
            return format(self._value[()], spec)
        return format(str(self), spec)

    def __repr__(self):
        v = self._value
        body = str(v[()]) if v.ndim == 0 else np.array2string(v, separator=" ")
        return f"fastkeras.Tensor({body}, shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__

    def __hash__(self):
        return id(self)

    # ---- arithmetic (differentiable; see fastkeras.ops.math)
    def __add__(self, other):
        return _m.add(self, other)

    def __radd__(self, other):
        return _m.add(other, self)

    def __sub__(self, other):
        return _m.subtract(self, other)

    def __rsub__(self, other):
        return _m.subtract(other, self)

    def __mul__(self, other):
        return _m.multiply(self, other)

    def __rmul__(self, other):
        return _m.multiply(other, self)

    def __truediv__(self, other):
        return _m.divide(self, other)

    def __rtruediv__(self, other):
        return _m.divide(other, self)

    def __neg__(self):
        return _m.negative(self)

    def __pos__(self):
        return self

    def __pow__(self, other):
        return _m.power(self, other)

    def __rpow__(self, other):
        return _m.power(other, self)

    def __floordiv__(self, other):
        return _m.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _m.floor_divide(other, self)

    def __mod__(self, other):
        return _m.mod(self, other)

    def __rmod__(self, other):
        return _m.mod(other, self)

    def __abs__(self):
        return _m.abs(self)

    def __getitem__(self, key):
        return _m.getitem(self, key)

    def __matmul__(self, other):
        return _m.matmul(self, other)

    def __rmatmul__(self, other):
        return _m.matmul(other, self)

    # ---- comparisons (not differentiable)
    def __eq__(self, other):
        return Tensor(np.equal(self._value, as_array(other)))

    def __ne__(self, other):
        return Tensor(np.not_equal(self._value, as_array(other)))

    def __lt__(self, other):
        return Tensor(np.less(self._value, as_array(other)))

    def __le__(self, other):
        return Tensor(np.less_equal(self._value, as_array(other)))

    def __gt__(self, other):
        return Tensor(np.greater(self._value, as_array(other)))

    def __ge__(self, other):
        return Tensor(np.greater_equal(self._value, as_array(other)))


class _Untouched(np.ndarray):
    """A fresh array the Variable may keep as it is (no copy): untouched zeros while a
    model is loaded, whose pages stay unmapped until the file's values arrive."""


def untouched_zeros(shape, dtype):
    """Zeros for ``Variable(...)`` to keep without copying (calloc'd: no memory touched)."""
    return np.zeros(shape, dtype).view(_Untouched)


class Variable(Tensor):
    """Mutable state with tf.Variable's API: assign, assign_add, assign_sub, numpy."""

    __slots__ = ("trainable", "name", "aggregation", "constraint", "_regularizer", "path")

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, aggregation="none",
                 constraint=None):
        if callable(initial_value):
            initial_value = initial_value()
        # C order always: the fused kernels (optimizer steps) take C-contiguous buffers, and
        # an initializer may hand over a transposed view (Orthogonal with rows < columns)
        value = as_array(initial_value, dtype)
        if not isinstance(initial_value, _Untouched):
            value = np.array(value, copy=True, order="C")
        super().__init__(value)
        self.trainable = bool(trainable)
        self.name = name or "Variable"
        self.aggregation = aggregation
        self.constraint = constraint
        self._regularizer = None
        self.path = self.name

    def _coerce(self, value, what):
        v = as_array(value)
        if v.shape != self._value.shape:
            try:
                v = np.broadcast_to(v, self._value.shape) if v.ndim == 0 else v
            except ValueError:
                pass
            if v.shape != self._value.shape:
                raise ValueError(
                    f"{what}: value has shape {v.shape}, but the variable has shape "
                    f"{self._value.shape}"
                )
        return v.astype(self._value.dtype, order="C", copy=True)

    def assign(self, value):
        self._value = self._coerce(value, "assign")
        return self

    def assign_add(self, delta):
        self._value = self._value + self._coerce(delta, "assign_add")
        return self

    def assign_sub(self, delta):
        self._value = self._value - self._coerce(delta, "assign_sub")
        return self

    @property
    def regularizer(self):
        """The regularizer add_weight gave this weight (its penalty is in layer.losses)."""
        return self._regularizer

    @property
    def buffer(self):
        """The current value's own array (no copy): optimizers and the compiled plans update
        it in place; an assign replaces it with a new array."""
        return self._value

    def numpy(self):
        """A copy of the current value (optimizers update the variable's buffer in place)."""
        v = self._value
        return v[()].copy() if v.ndim == 0 else v.copy()

    def value(self):
        """A Tensor snapshot of the current value."""
        return Tensor(self._value.copy())

    def read_value(self):
        return self.value()

    def __repr__(self):
        v = self._value
        body = str(v[()]) if v.ndim == 0 else np.array2string(v, separator=" ")
        return f"<fastkeras.Variable '{self.name}' shape={self.shape} dtype={self.dtype}, numpy={body}>"

    __str__ = __repr__


class VariableSlice(Tensor):
    """``variable[key]``: a snapshot Tensor of the slice with ``assign`` / ``assign_add`` /
    ``assign_sub`` writing back into the variable (tf's sliced assignment)."""

    __slots__ = ("_parent", "_key")

    def __init__(self, parent, key):
        super().__init__(np.array(parent._value[key], copy=True))
        self._parent = parent
        self._key = key

    def assign(self, value):
        v = as_array(value).astype(self._parent.dtype)
        new = self._parent._value.copy()
        new[self._key] = v
        self._parent._value = new
        return self._parent

    def assign_add(self, delta):
        return self.assign(self._value + as_array(delta))

    def assign_sub(self, delta):
        return self.assign(self._value - as_array(delta))


def convert_to_tensor(value, dtype=None):
    """Return value as a Tensor (the same object if it already is one of that dtype)."""
    if isinstance(value, Tensor) and (dtype is None or value.dtype == np.dtype(dtype)):
        return value
    if isinstance(value, Tensor):
        return _m.cast(value, dtype)
    return Tensor(as_array(value, dtype))


def constant(value, dtype=None, shape=None):
    """tf.constant: a Tensor from Python or numpy data, optionally broadcast to shape."""
    v = as_array(value, dtype)
    if shape is not None:
        v = np.broadcast_to(v, tuple(shape)).copy() if v.size == 1 else v.reshape(shape)
    return Tensor(np.array(v, copy=True))


from fastkeras.ops import math as _m  # noqa: E402  (operators need the ops, ops need Tensor)
