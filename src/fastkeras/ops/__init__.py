"""fastkeras.ops: differentiable operations on numpy data (keras.ops names).

Use them where tf.keras code uses ``tf.math`` / ``tf.*``: they accept numpy
arrays, lists, scalars, Tensors and Variables, and a GradientTape records them.
"""
from fastkeras.ops.tensor import Tensor, Variable, convert_to_tensor, constant, is_tensor
from fastkeras.ops.tape import GradientTape
from fastkeras.ops.math import (
    add,
    subtract,
    multiply,
    divide,
    negative,
    power,
    square,
    sqrt,
    exp,
    log,
    sum,
    mean,
    reshape,
    cast,
    matmul,
    max,
    min,
    abs,
    cumsum,
    argmax,
    argmin,
    arange,
    equal,
    true_divide,
)
from fastkeras.ops.nn import sparse_categorical_crossentropy, categorical_crossentropy
from fastkeras.ops.convolution import (
    conv,
    depthwise_conv,
    max_pool,
    average_pool,
    global_average_pool,
    global_max_pool,
)

from fastkeras.ops import math as _math

# the math ops' names come from fastkeras.ops.math (its getitem backs Tensor[...] only)
__all__ = [
    "Tensor",
    "Variable",
    "convert_to_tensor",
    "constant",
    "is_tensor",
    "GradientTape",
    *(name for name in _math.__all__ if name != "getitem"),
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "conv",
    "depthwise_conv",
    "max_pool",
    "average_pool",
    "global_average_pool",
    "global_max_pool",
]
