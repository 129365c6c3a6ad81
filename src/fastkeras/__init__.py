"""fastkeras: a fast, lean, Keras-compatible deep-learning and metrics library.

``import fastkeras as keras`` runs ordinary tf.keras code; ``fastkeras.ops``
stands in for ``tf.math``. Hot paths run in a C/OpenMP core.
"""
import importlib

from fastkeras._version import __version__
from fastkeras import config
from fastkeras._build_info import build_info, BuildInfo
from fastkeras.ops.tensor import Tensor, Variable, convert_to_tensor, constant
from fastkeras.ops.tape import GradientTape
from fastkeras import ops

# The rest loads on first use (``fastkeras.layers``, ``from fastkeras import models``...),
# so that ``import fastkeras`` costs little more than NumPy and the C core.
_LAZY_MODULES = frozenset({"losses", "optimizers", "metrics", "activations", "initializers",
                           "regularizers", "constraints", "layers", "utils", "callbacks",
                           "models", "saving", "serving", "cuda", "random", "backend",
                           "preprocessing", "applications"})
_LAZY_NAMES = {"Input": "layers", "Model": "models", "Sequential": "models"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"fastkeras.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"fastkeras.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastkeras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_NAMES))


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
    "random",
    "backend",
    "preprocessing",
    "applications",
]
