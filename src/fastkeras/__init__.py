"""fastkeras: a fast, lean, Keras-compatible deep-learning and metrics library.

``import fastkeras as keras`` runs ordinary tf.keras code; ``fastkeras.ops``
stands in for ``tf.math``. Hot paths run in a C/OpenMP core.
"""
from fastkeras._version import __version__
from fastkeras import config
from fastkeras._build_info import build_info, BuildInfo
from fastkeras.ops.tensor import Tensor, Variable, convert_to_tensor, constant
from fastkeras.ops.tape import GradientTape
from fastkeras import ops
from fastkeras import losses
from fastkeras import optimizers
from fastkeras import metrics
from fastkeras import activations
from fastkeras import initializers
from fastkeras import regularizers
from fastkeras import constraints
from fastkeras import layers
from fastkeras import utils
from fastkeras.layers import Input
from fastkeras import callbacks
from fastkeras import models
from fastkeras.models import Model, Sequential


def function(fn=None, **kwargs):
    """Stands for tf.function: fastkeras runs eagerly, so this returns fn unchanged."""
    if fn is None:
        return lambda f: f
    return fn


__all__ = [
    "__version__",
    "config",
    "build_info",
    "BuildInfo",
    "Tensor",
    "Variable",
    "convert_to_tensor",
    "constant",
    "GradientTape",
    "ops",
    "losses",
    "optimizers",
    "metrics",
    "activations",
    "initializers",
    "regularizers",
    "constraints",
    "layers",
    "utils",
    "Input",
    "callbacks",
    "models",
    "Model",
    "Sequential",
    "function",
]
