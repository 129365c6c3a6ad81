"""fastkeras.regularizers: L1, L2, L1L2 (keras.regularizers); their values are added
to the training loss, differentiably (fastkeras ops)."""
import numpy as np

from fastkeras import ops as _ops
from fastkeras._serialization import Family

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _coef(value, name):
    v = float(value)
    if not v >= 0 or v != v:
        raise ValueError(f"`{name}` must be a non-negative number, got {value!r}")
    return v


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _coef(l1, "l1"), _coef(l2, "l2")

    def __call__(self, x):
        # Keras casts the coefficients with ops.cast, through a float32 tensor: a float64
        # weight sees float32-rounded coefficients there too
        out = 0.0
        if self.l1:
            out = _ops.multiply(float(np.float32(self.l1)), _ops.sum(_ops.abs(x)))
        if self.l2:
            out = _ops.add(out, _ops.multiply(float(np.float32(self.l2)),
                                              _ops.sum(_ops.square(x))))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """keras.regularizers.l1_l2: both default to 0.01."""
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": l1_l2}


_family = Family("regularizer", "keras.regularizers", _CLASSES)
serialize, deserialize, get = _family.serialize, _family.deserialize, _family.get
