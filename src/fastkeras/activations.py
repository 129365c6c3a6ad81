"""fastkeras.activations: keras.activations names, by function or by string.

All are differentiable fastkeras ops. ``relu`` takes Keras 3's ``negative_slope``
and the older ``alpha`` (tf.keras 2, as the source documents write it)."""
from fastkeras import ops as _ops
from fastkeras.ops import activation_ops as _a
from fastkeras.ops.tensor import Tensor as _Tensor, convert_to_tensor as _convert

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid",
    "hard_silu", "hard_swish", "silu", "swish", "tanh", "softmax", "log_softmax", "softplus",
    "softsign", "mish", "exponential", "linear", "log_sigmoid", "get", "serialize",
    "deserialize",
]


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, alpha=None):
    """max(x, 0) with a slope below ``threshold`` and a ceiling ``max_value``
    (keras.activations.relu); ``alpha`` is the tf.keras 2 name of negative_slope."""
    if alpha is not None:
        negative_slope = alpha
    negative_slope, threshold = float(negative_slope), float(threshold)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0.0:
            return _a.leaky_relu(x, negative_slope)
        negative_part = _a.relu(_ops.add(_ops.negative(x), threshold)) if threshold != 0.0 \
            else _a.relu(_ops.negative(x))
    clip_max = max_value is not None
    if threshold != 0.0:
        xa = _ops.convert_to_tensor(x)
        y = _ops.multiply(x, _ops.cast(_ops.greater(xa, threshold), xa.dtype if xa.dtype.kind
                                       == "f" else "float32"))
    elif max_value == 6:
        y, clip_max = _a.relu6(x), False
    else:
        y = _a.relu(x)
    if clip_max:
        y = _ops.clip(y, 0.0, float(max_value))
    if negative_slope != 0.0:
        y = _ops.subtract(y, _ops.multiply(negative_slope, negative_part))
    return y


def relu6(x):
    return _a.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    return _a.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    return _a.elu(x, alpha)


def selu(x):
    return _a.selu(x)


def gelu(x, approximate=False):
    """GELU; keras.activations.gelu defaults to the exact form (keras.ops.gelu to the
    tanh approximation)."""
    return _a.gelu(x, approximate)


def _with_logits(out, x, kind):
    """out carrying its logits x, as Keras' softmax / sigmoid do: the cross-entropy that
    matches the activation (categorical for softmax over the last axis, binary for sigmoid),
    given this output with from_logits=False, computes from x exactly, without clipping."""
    try:
        out._keras_logits = x if isinstance(x, _Tensor) else _convert(x)
        out._keras_logits_of = kind
    except AttributeError:  # symbolic tensors while a graph is built
        pass
    return out


def sigmoid(x):
    return _with_logits(_a.sigmoid(x), x, "sigmoid")


def hard_sigmoid(x):
    return _a.hard_sigmoid(x)


def hard_silu(x):
    return _a.hard_silu(x)


hard_swish = hard_silu


def silu(x):
    return _a.silu(x)


swish = silu


def tanh(x):
    return _ops.tanh(x)


def softmax(x, axis=-1):
    out = _a.softmax(x, axis)
    last = axis in (-1, out.ndim - 1) if isinstance(axis, int) else False
    return _with_logits(out, x, "softmax") if last else out


def log_softmax(x, axis=-1):
    return _a.log_softmax(x, axis)


def softplus(x):
    return _a.softplus(x)


def softsign(x):
    return _a.softsign(x)


def mish(x):
    return _a.mish(x)


def log_sigmoid(x):
    return _a.log_sigmoid(x)


def exponential(x):
    return _ops.exp(x)


def linear(x):
    """The identity (a Tensor of x)."""
    return _ops.convert_to_tensor(x)


_BY_NAME = {f.__name__: f for f in (
    relu, relu6, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, hard_silu, silu, tanh,
    softmax, log_softmax, softplus, softsign, mish, exponential, linear, log_sigmoid)}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


def serialize(activation):
    """The registered name of an activation function (its own name for custom ones)."""
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Could not serialize activation {activation!r}")
    return name


def deserialize(config, custom_objects=None):
    name = config["class_name"] if isinstance(config, dict) else config
    if isinstance(config, dict) and name == "function":
        name = config["config"]
    from fastkeras.saving.object_registration import lookup

    # custom_objects, custom_object_scope and the registry by exact name, then the built-ins,
    # then a registered "package>name" by its name alone
    custom = lookup(name, custom_objects, suffix=False) or (
        None if name in _BY_NAME else lookup(name, custom_objects))
    if custom is not None:
        return custom
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"Unknown activation function: {name!r}. Known: "
                         f"{sorted(_BY_NAME)}") from None


def get(identifier):
    """A callable from a name, a serialized dict, a callable or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
