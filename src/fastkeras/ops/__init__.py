"""fastkeras.ops: differentiable operations on numpy data (keras.ops names).

Use them where tf.keras code uses ``tf.math`` / ``tf.*``: they accept numpy
arrays, lists, scalars, Tensors and Variables, and a GradientTape records them.
"""
from fastkeras.ops.tensor import Tensor, Variable, convert_to_tensor, constant, is_tensor
from fastkeras.ops.tape import GradientTape
from fastkeras.ops import math as _math
from fastkeras.ops import array_ops as _array
from fastkeras.ops import activation_ops as _act
from fastkeras.ops.math import *  # noqa: F401,F403  (names listed in math.__all__)
from fastkeras.ops.array_ops import *  # noqa: F401,F403
from fastkeras.ops.activation_ops import *  # noqa: F401,F403
from fastkeras.ops.crossentropy_ops import sparse_categorical_crossentropy, categorical_crossentropy
from fastkeras.ops.ctc import ctc_loss
from fastkeras.ops import nn  # keras.ops.nn's names
from fastkeras.ops.convolution import (
    conv,
    conv_transpose,
    depthwise_conv,
    separable_conv,
    max_pool,
    average_pool,
    global_average_pool,
    global_max_pool,
)

# the math ops' names come from fastkeras.ops.math (its getitem backs Tensor[...] only)
__all__ = [
    "Tensor",
    "Variable",
    "convert_to_tensor",
    "constant",
    "is_tensor",
    "GradientTape",
    *(name for name in _math.__all__ if name != "getitem"),
    *_array.__all__,
    *_act.__all__,
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "ctc_loss",
    "conv",
    "conv_transpose",
    "depthwise_conv",
    "separable_conv",
    "max_pool",
    "average_pool",
    "global_average_pool",
    "global_max_pool",
]

# a call on symbolic KerasTensors (functional model construction) records a graph node
from fastkeras.ops import symbolic as _symbolic  # noqa: E402

_symbolic.wrap_namespace(globals(), [*__all__, "getitem"])
for _name in nn.__all__:  # keras.ops.nn.<f> is keras.ops.<f>
    _top = globals().get(_name)
    if getattr(_top, "__wrapped__", None) is getattr(nn, _name):
        setattr(nn, _name, _top)
_symbolic.wrap_namespace(vars(nn), nn.__all__)
