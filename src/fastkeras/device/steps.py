"""The one lowering of layers to typed steps, shared by every fast path.

``lower_layer(layer, in_shape)`` turns one layer into the steps the C kernels compute
(``Step`` records with a ``StepKind``, an ``Activation`` and, for convolutions and pooling,
the kernels' geometry), or raises ``NotLowerable`` saying why the layer has no fast path.
``lower(model)`` lowers a whole chain of layers. Three users run the same steps:

* serving (``fastkeras.serving.InferenceRunner``) groups them into C stages and runs the
  layers that do not lower with their own inference code;
* the training plan (``fastkeras.device.plan.DevicePlan``) runs forward, backward and the
  optimizer step of a fully lowered model on the CPU (``HostOps``) or the GPU (``CudaOps``);
  it refuses a step whose ``training_refusal`` is set (a constraint, a regularizer it does
  not compute, ...), which still runs in serving.

Adding a layer to the fast paths means adding its rule to ``_RULES`` here (and, where the
step is a new kind, teaching the executors that kind).
"""
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

__all__ = ["StepKind", "PoolMode", "Activation", "LINEAR", "SOFTMAX", "Step", "NotLowerable",
           "activation_of", "lower_layer", "lower", "layer_chain"]


class StepKind(Enum):
    DENSE = "dense"
    CONV = "conv"
    POOL = "pool"                # a windowed pooling (max or average)
    GLOBAL_POOL = "global_pool"  # max or average over all spatial positions
    BATCHNORM = "batchnorm"      # over the last axis
    ACTIVATION = "activation"
    DROPOUT = "dropout"
    FLATTEN = "flatten"


class PoolMode(Enum):
    MAX = "max"
    AVERAGE = "average"


@dataclass(frozen=True)
class Activation:
    """An activation the C kernels compute: ``code`` is an activation kind of activation.h
    (``fastkeras._kernels.elementwise.KINDS``), or dense_chain.h's FK_STEP_LINEAR /
    FK_STEP_SOFTMAX (softmax over the last axis); ``alpha`` its parameter."""
    name: str
    code: int
    alpha: float = 0.0
    # the output carries its logits (activations.softmax, as Keras' softmax op): a
    # cross-entropy of it computes from the logits, exactly (fastkeras.losses.logits_of)
    keeps_logits: bool = False

    @property
    def is_linear(self):
        return self.code == LINEAR.code

    @property
    def is_softmax(self):
        return self.code == SOFTMAX.code


def _step_codes():
    from fastkeras._kernels import chain

    return chain.STEP_LINEAR, chain.STEP_SOFTMAX


LINEAR = Activation("linear", _step_codes()[0])
SOFTMAX = Activation("softmax", _step_codes()[1])


class NotLowerable(ValueError):
    """A layer (or model) without a fast path; the message says why."""


@dataclass
class Step:
    """One lowered layer: per-sample input and output shapes (None where unknown), the
    activation applied after the layer's linear part, the C geometry of convolutions and
    pooling (its "n" filled per batch), and ``training_refusal``: why the training plan
    cannot train this step (None: it can)."""
    kind: StepKind
    layer: object
    in_shape: tuple
    out_shape: tuple
    activation: Activation = LINEAR
    geometry: dict = None
    pool_mode: PoolMode = None
    training_refusal: str = None
    _weights: list = field(default_factory=list, repr=False)

    def weights(self):
        """The step's weights the optimizer trains (kernel, bias; gamma, beta)."""
        return list(self._weights)

    @property
    def trainable(self):
        return bool(self._weights) and self.layer.trainable


# ------------------------------------------------------------------------------ activations
def _activation_table():
    from fastkeras import activations as A
    from fastkeras._kernels import elementwise

    k = elementwise.KINDS
    table = {A.relu: "relu", A.relu6: "relu6", A.selu: "selu", A.sigmoid: "sigmoid",
             A.tanh: "tanh", A.softplus: "softplus", A.softsign: "softsign", A.silu: "silu",
             A.hard_sigmoid: "hard_sigmoid", A.hard_silu: "hard_silu", A.mish: "mish",
             A.log_sigmoid: "log_sigmoid"}
    out = {fn: Activation(name, k[name]) for fn, name in table.items()}
    out[A.elu] = Activation("elu", k["elu"], 1.0)
    out[A.gelu] = Activation("gelu", k["gelu_erf"])
    # the slope in float32, as ops.leaky_relu (and TensorFlow) use it
    out[A.leaky_relu] = Activation("leaky_relu", k["leaky_relu"], float(np.float32(0.2)))
    out[A.linear] = LINEAR
    out[A.softmax] = Activation("softmax", SOFTMAX.code, keeps_logits=True)
    return out


_ACTIVATIONS = None


def activation_of(fn):
    """The Activation of an activation function the C kernels compute, else None."""
    global _ACTIVATIONS
    if _ACTIVATIONS is None:
        _ACTIVATIONS = _activation_table()
    return _ACTIVATIONS.get(fn)


def _with_alpha(fn, alpha):
    act = activation_of(fn)
    return Activation(act.name, act.code, float(alpha))


# ------------------------------------------------------------------------------ the rules
def _penalty_refusal(layer, names):
    """Why the training plan cannot train these weights of the layer, or None: constraints
    are refused, regularizers must be L1 / L2 / L1L2 (computed by the plan)."""
    from fastkeras import regularizers as R

    for w in names:
        if getattr(layer, f"{w}_constraint", None) is not None:
            return f"has a {w}_constraint"
        reg = getattr(layer, f"{w}_regularizer", None)
        if reg is not None and not (isinstance(reg, R.L1L2) and
                                    type(reg).__call__ is R.L1L2.__call__):
            return f"has a {w}_regularizer other than L1 / L2 / L1L2"
    return None


def _known(shape, layer_kind):
    if any(d is None for d in shape):
        raise NotLowerable(f"gets per-sample inputs of shape {shape}; {layer_kind} needs a "
                           "fixed shape")


def _channels_last(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise NotLowerable("is channels_first (channels_last only)")


def _rule_nothing(layer, shape):
    return []


def _rule_dropout(layer, shape):
    if layer.noise_shape is not None:
        raise NotLowerable("has a noise_shape")
    return [Step(StepKind.DROPOUT, layer, shape, shape)]


def _rule_flatten(layer, shape):
    _channels_last(layer)
    _known(shape, "Flatten")
    return [Step(StepKind.FLATTEN, layer, shape, (int(np.prod(shape)),))]


def _layer_activation(layer):
    act = activation_of(layer.activation)
    if act is None:
        raise NotLowerable(f"has the activation {layer.activation!r}")
    return act


def _rule_dense(layer, shape):
    act = _layer_activation(layer)
    refusal = None if len(shape) == 1 else \
        f"gets per-sample inputs of shape {shape}: flatten them first (rank 2 only)"
    weights = [layer.kernel] + ([layer.bias] if layer.bias is not None else [])
    return [Step(StepKind.DENSE, layer, shape, tuple(shape[:-1]) + (layer.kernel.shape[1],),
                 act, training_refusal=refusal or _penalty_refusal(layer, ("kernel", "bias")),
                 _weights=weights)]


def _rule_batchnorm(layer, shape):
    if not layer.built or layer.normalized_axes != (len(shape),):
        raise NotLowerable("normalises another axis than the last (channels_last only)")
    weights = [v for v in (layer.gamma, layer.beta) if v is not None]
    return [Step(StepKind.BATCHNORM, layer, shape, shape,
                 training_refusal=_penalty_refusal(layer, ("gamma", "beta")),
                 _weights=weights)]


def _rule_activation_layer(layer, shape):
    from fastkeras import activations as A
    from fastkeras import layers as L

    t, act = type(layer), None
    if t is L.Activation:
        act = activation_of(layer.activation)
    elif t is L.ReLU:
        if layer.max_value is None and not layer.threshold and not layer.negative_slope:
            act = activation_of(A.relu)
    elif t is L.LeakyReLU:  # the slope in float32, as ops.leaky_relu uses it
        act = _with_alpha(A.leaky_relu, np.float32(layer.negative_slope))
    elif t is L.ELU:
        act = _with_alpha(A.elu, layer.alpha)
    elif t is L.Softmax and layer.axis in (-1, len(shape)):
        act = SOFTMAX
    if act is None:
        raise NotLowerable("computes an activation the C kernels do not")
    return [Step(StepKind.ACTIVATION, layer, shape, shape, act)]


def _spatial(layer, shape):
    _channels_last(layer)
    if len(shape) != layer.rank + 1:
        raise NotLowerable(f"gets per-sample inputs of shape {shape}, expected rank "
                           f"{layer.rank + 1}")
    _known(shape, type(layer).__name__)
    return tuple(shape[:-1]), shape[-1]


def _rule_conv(layer, shape):
    from fastkeras.layers import convolutional as C
    from fastkeras.ops import convolution as _conv

    if type(layer).__mro__[1] is not C._Conv or layer.transpose:
        raise NotLowerable("is not a plain convolution")
    act = _layer_activation(layer)
    spatial, c = _spatial(layer, shape)
    geom, out = _conv.conv_geometry(1, spatial, c, layer.kernel.shape, layer.strides,
                                    layer.padding, layer.dilation_rate)
    weights = [layer.kernel] + ([layer.bias] if layer.bias is not None else [])
    return [Step(StepKind.CONV, layer, shape, tuple(out) + (layer.filters,), act, geom,
                 training_refusal=_penalty_refusal(layer, ("kernel", "bias")),
                 _weights=weights)]


def _rule_pool(layer, shape):
    from fastkeras.ops import convolution as _conv

    spatial, c = _spatial(layer, shape)
    mode = PoolMode(layer.kind)
    refusal = None
    if mode is PoolMode.MAX and (layer.rank == 3 or int(np.prod(layer.pool_size)) > 256):
        refusal = ("is a 3-D max pooling (or has over 256 taps), whose ties go to every "
                   "maximum in TensorFlow")
    geom, out = _conv.pool_geometry(1, spatial, c, layer.pool_size, layer.strides,
                                    layer.padding)
    return [Step(StepKind.POOL, layer, shape, tuple(out) + (c,), geometry=geom, pool_mode=mode,
                 training_refusal=refusal)]


def _rule_global_pool(layer, shape):
    from fastkeras.ops import convolution as _conv

    spatial, c = _spatial(layer, shape)
    mode = PoolMode(layer.kind)
    out = (1,) * layer.rank + (c,) if layer.keepdims else (c,)
    geom = None
    if mode is PoolMode.AVERAGE:  # one window over every position
        geom, _ = _conv.pool_geometry(1, spatial, c, spatial, spatial, "valid")
    return [Step(StepKind.GLOBAL_POOL, layer, shape, out, geometry=geom, pool_mode=mode)]


def _rules():
    from fastkeras import layers as L
    from fastkeras.layers import convolutional as C
    from fastkeras.layers.base import InputLayer

    return [((InputLayer, L.Identity), _rule_nothing, True),
            ((L.Dropout,), _rule_dropout, True),
            ((L.Flatten,), _rule_flatten, True),
            ((L.Dense,), _rule_dense, True),
            ((L.BatchNormalization,), _rule_batchnorm, True),
            ((L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.Softmax), _rule_activation_layer,
             True),
            ((C._GlobalPool,), _rule_global_pool, False),
            ((C._Pool,), _rule_pool, False),
            ((C._Conv,), _rule_conv, False)]


_RULES = None


def _rule_for(layer):
    global _RULES
    if _RULES is None:
        _RULES = _rules()
    t = type(layer)
    for types, rule, exact in _RULES:
        if (t in types) if exact else isinstance(layer, types):
            return rule
    return None


def lower_layer(layer, in_shape, dtype=None):
    """The steps of `layer` on per-sample inputs of `in_shape` (a list, empty for a layer
    that computes nothing), or NotLowerable naming the layer and why."""
    name = f"layer {layer.name!r} ({type(layer).__name__})"
    rule = _rule_for(layer)
    if rule is None:
        raise NotLowerable(f"{name} has no fast path")
    if dtype is not None and np.dtype(layer.compute_dtype) != np.dtype(dtype):
        raise NotLowerable(f"{name} computes in {np.dtype(layer.compute_dtype)}, the model in "
                           f"{np.dtype(dtype)} (one dtype throughout)")
    try:
        steps = rule(layer, tuple(in_shape))
    except NotLowerable as exc:
        raise NotLowerable(f"{name} {exc}") from None
    if getattr(layer, "activity_regularizer", None) is not None:
        for st in steps:
            st.training_refusal = st.training_refusal or "has an activity_regularizer"
    for st in steps:
        if st.training_refusal:
            st.training_refusal = f"{name} {st.training_refusal}"
    return steps


def layer_chain(model):
    """The model's layers in order when it is one chain (``Model.layer_chain``: a
    Sequential model, or a functional model with one input and one output and no
    branches), else None."""
    chain = getattr(model, "layer_chain", None)
    return chain() if callable(chain) else None


def lower(model):
    """The steps of a whole model (one chain with a fixed input shape), or NotLowerable
    naming the first layer without a fast path."""
    seq = layer_chain(model)
    if seq is None:
        raise NotLowerable("the plan runs models that are one chain of layers (a Sequential "
                           "model, or a functional model with one input and one output and "
                           "no branches); this model is not one")
    if not model.inputs:
        raise NotLowerable("the plan needs a built model with an Input shape")
    shape = tuple(model.inputs[0].shape)[1:]
    if any(d is None for d in shape):
        raise NotLowerable(f"the plan needs a fixed input shape, got {shape}")
    dtype = np.dtype(model.dtype)
    steps = []
    for layer in seq:
        new = lower_layer(layer, shape, dtype)
        steps += new
        if new:
            shape = new[-1].out_shape
    return steps
