"""fastkeras.constraints: MaxNorm, MinMaxNorm, NonNeg, UnitNorm (keras.constraints).

A constraint maps a weight's value to its projected value; layers hand their
constraints to the Variables, and optimizers apply them after each update."""
import numpy as np

from fastkeras._serialization import Family
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize",
           "deserialize"]

_EPS = 1e-7  # keras.config.epsilon()


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _wrap(like, value):
    return Tensor(value) if isinstance(like, Tensor) else value


class MaxNorm(Constraint):
    """Rescale slices (along axis) whose L2 norm exceeds max_value."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        a = as_array(w)
        n = _norms(a, self.axis)
        desired = np.clip(n, 0, self.max_value)
        return _wrap(w, (a * (desired / (_EPS + n))).astype(a.dtype, copy=False))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move slice norms toward [min_value, max_value] at the given rate."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        a = as_array(w)
        n = _norms(a, self.axis)
        desired = self.rate * np.clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return _wrap(w, (a * (desired / (_EPS + n))).astype(a.dtype, copy=False))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Zero out negative weights."""

    def __call__(self, w):
        a = as_array(w)
        return _wrap(w, (a * (a >= 0)).astype(a.dtype, copy=False))


class UnitNorm(Constraint):
    """Scale slices to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        a = as_array(w)
        return _wrap(w, (a / (_EPS + _norms(a, self.axis))).astype(a.dtype, copy=False))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
_CLASSES = {"MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg,
            "UnitNorm": UnitNorm, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
            "non_neg": NonNeg, "unit_norm": UnitNorm}


_family = Family("constraint", "keras.constraints", _CLASSES)
serialize, deserialize, get = _family.serialize, _family.deserialize, _family.get
