"""fastkeras.ops.nn: the neural-network ops under Keras 3's ``keras.ops.nn`` names (the same
functions as in fastkeras.ops: activations, convolutions and pools, the cross-entropies,
one_hot, ctc_loss)."""
from fastkeras.ops.activation_ops import (  # noqa: F401
    elu, gelu, hard_sigmoid, hard_silu, hard_swish, leaky_relu, log_sigmoid, log_softmax, relu,
    relu6, selu, sigmoid, silu, softmax, softplus, softsign, swish,
)
from fastkeras.ops.array_ops import one_hot  # noqa: F401
from fastkeras.ops.convolution import (  # noqa: F401
    average_pool, conv, conv_transpose, depthwise_conv, max_pool, separable_conv,
)
from fastkeras.ops.crossentropy_ops import (  # noqa: F401
    categorical_crossentropy, sparse_categorical_crossentropy,
)
from fastkeras.ops.ctc import ctc_loss  # noqa: F401

__all__ = [
    "elu", "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu", "log_sigmoid",
    "log_softmax", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign",
    "swish", "one_hot", "average_pool", "conv", "conv_transpose", "depthwise_conv", "max_pool",
    "separable_conv", "categorical_crossentropy", "sparse_categorical_crossentropy", "ctc_loss",
]
