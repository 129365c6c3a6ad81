"""ONNX export: ``model.export("m.onnx", format="onnx")`` writes the model's inference
graph with the ``onnx`` package (an optional extra: ``pip install fastkeras[onnx]``).

The model's recorded calls are walked in order (the walk ``Model`` itself uses), and each
layer is converted by the one rule of ``_RULES`` that matches its type (a ``LayerRule``);
a layer without a rule, or a configuration a rule cannot express, raises
``OnnxExportError`` (a ValueError) naming the layer and its class before anything is
written.

Layouts: Keras convolutions and pooling are channels_last, ONNX's are channels first. A
tensor is carried as a ``Value`` that says how its ONNX axes relate to the Keras tensor's
(``Layout``): a run of convolutions, pooling, elementwise activations, batch
normalization, padding, cropping and upsampling stays channels first inside the ONNX
graph, and one Transpose is written where the run starts and one where a layer that needs
the Keras axes (Dense, Flatten, Reshape, a model output...) reads it.

Opset 17 by default: the first with a LayerNormalization operator and the last whose
Reduce* operators take their axes as an attribute; onnxruntime >= 1.14 runs it (and
``opset_version=`` 18..20 is accepted). The file's ir_version is the lowest the opset
allows (8 for opset 17), which every onnxruntime >= 1.17 reads.
"""
import math
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np

__all__ = ["OnnxExportError", "LayerRule", "Layout", "Value", "export_onnx", "to_onnx",
           "rule_for_class", "DEFAULT_OPSET", "SUPPORTED_OPSETS"]

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = (17, 18, 19, 20)
_INT64_MAX = np.iinfo(np.int64).max


class OnnxExportError(ValueError):
    """A model (or one of its layers) that the ONNX export cannot write; the message names
    the layer, its class and why."""


class _Refusal(Exception):
    """Raised inside a rule: why the layer cannot be written (the caller names it)."""


class Layout(Enum):
    KERAS = "keras"                    # the ONNX axes are the Keras tensor's
    CHANNELS_FIRST = "channels_first"  # a channels_last Keras tensor held (batch, C, ...)


@dataclass(frozen=True)
class Value:
    """A tensor of the ONNX graph: its name, the Keras tensor's shape (batch None) and
    dtype, and how its ONNX axes hold the Keras axes."""
    name: str
    shape: tuple
    dtype: np.dtype
    layout: Layout = Layout.KERAS

    @property
    def rank(self):
        return len(self.shape)

    def keras_axes(self):
        """The Keras axis held by each ONNX axis, in ONNX order."""
        r = self.rank
        if self.layout is Layout.KERAS:
            return list(range(r))
        return [0, r - 1] + list(range(1, r - 1))

    def onnx_axis(self, axis):
        """The ONNX axis holding Keras axis `axis` (negative counts from the end)."""
        return self.keras_axes().index(int(axis) % self.rank)

    def with_name(self, name, layout=None):
        return Value(name, self.shape, self.dtype, layout or self.layout)


@dataclass(frozen=True)
class LayerRule:
    """How one kind of layer is written: ``convert(builder, layer, inputs, outputs)``
    gets the input Values and the call's output KerasTensors and returns the output
    Values (or raises _Refusal); ``exact``: the type itself only, not its subclasses."""
    types: tuple
    convert: Callable
    exact: bool = True
    # the call's other arguments (tensors as Values) go to convert as (args, kwargs)
    takes_call: bool = False


# ------------------------------------------------------------------------------ the builder
class _Builder:
    """The ONNX graph under construction: nodes, initializers and unique names."""

    def __init__(self, opset, reserved=()):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset = opset
        self.nodes, self.initializers = [], []
        self._used = set(reserved)
        self._weights = {}
        self._relaid = {}  # (value name, layout) -> the Value transposed to that layout

    def fresh(self, hint):
        base = str(hint) or "t"
        name, i = base, 0
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    def op(self, op_type, inputs, hint, outputs=1, **attrs):
        names = [self.fresh(f"{hint}/{op_type}" if outputs == 1 else f"{hint}/{op_type}_{k}")
                 for k in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names,
                                                name=self.fresh(f"{hint}/{op_type}_node"),
                                                **attrs))
        return names[0] if outputs == 1 else names

    def const(self, array, hint):
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array),
                                                              name))
        return name

    def weight(self, array, dtype, hint, key=None):
        """A constant in `dtype`; `key` (a variable's id and a transform) shares it between
        the calls of a shared layer."""
        if key is not None and key in self._weights:
            return self._weights[key]
        name = self.const(np.asarray(array).astype(dtype), hint)
        if key is not None:
            self._weights[key] = name
        return name

    def ints(self, values, hint):
        return self.const(np.asarray(values, dtype=np.int64), hint)

    def scalar(self, value, dtype, hint):
        return self.const(np.asarray(value, dtype=dtype), hint)

    def reduce(self, op_type, x, axes, keepdims, hint):
        # ReduceSum takes its axes as an input from opset 13, the other Reduce* from 18
        if self.opset >= 18 or op_type == "ReduceSum":
            return self.op(op_type, [x, self.ints(axes, f"{hint}/axes")], hint,
                           keepdims=int(keepdims))
        return self.op(op_type, [x], hint, axes=list(axes), keepdims=int(keepdims))

    def unsqueeze(self, x, axes, hint):
        return self.op("Unsqueeze", [x, self.ints(axes, f"{hint}/axes")], hint)

    def squeeze(self, x, axes, hint):
        return self.op("Squeeze", [x, self.ints(axes, f"{hint}/axes")], hint)

    def to_keras(self, v, hint):
        """`v` with the Keras tensor's axes (a Transpose where it is held channels first)."""
        if v.layout is Layout.KERAS:
            return v
        key = (v.name, Layout.KERAS)
        if key not in self._relaid:  # once per tensor, however many layers read it
            inverse = [int(a) for a in np.argsort(v.keras_axes())]
            self._relaid[key] = v.with_name(self.op("Transpose", [v.name], hint, perm=inverse),
                                            Layout.KERAS)
        return self._relaid[key]

    def to_channels_first(self, v, hint):
        """A channels_last Keras tensor held channels first."""
        if v.layout is Layout.CHANNELS_FIRST:
            return v
        key = (v.name, Layout.CHANNELS_FIRST)
        if key not in self._relaid:
            held = Value(v.name, v.shape, v.dtype, Layout.CHANNELS_FIRST)
            self._relaid[key] = held.with_name(self.op("Transpose", [v.name], hint,
                                                       perm=held.keras_axes()))
        return self._relaid[key]

    def per_sample(self, v, array):
        """A constant of the Keras per-sample shape (rank - 1 axes), with its axes in the
        order `v` holds them."""
        order = [a - 1 for a in v.keras_axes()[1:]]
        return np.transpose(np.asarray(array), order)


def _name_of(layer):
    kind = getattr(layer, "class_name", None) if getattr(layer, "_is_op_node", False) \
        else None
    return f"layer {layer.name!r} ({kind or type(layer).__name__})"


# ------------------------------------------------------------------------------ activations
def _act_relu6(b, v, h):
    return b.op("Clip", [v.name, b.scalar(0, v.dtype, f"{h}/zero"),
                         b.scalar(6, v.dtype, f"{h}/six")], h)


def _act_gelu(b, v, h):  # 0.5 x (1 + erf(x / sqrt 2)), as the exact gelu
    t = b.op("Div", [v.name, b.scalar(math.sqrt(2.0), v.dtype, f"{h}/sqrt2")], h)
    t = b.op("Erf", [t], h)
    t = b.op("Add", [t, b.scalar(1, v.dtype, f"{h}/one")], h)
    t = b.op("Mul", [v.name, t], h)
    return b.op("Mul", [t, b.scalar(0.5, v.dtype, f"{h}/half")], h)


def _act_gelu_tanh(b, v, h):  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x = v.name
    cube = b.op("Mul", [b.op("Mul", [x, x], h), x], h)
    inner = b.op("Add", [x, b.op("Mul", [cube, b.scalar(0.044715, v.dtype, f"{h}/c")], h)], h)
    inner = b.op("Mul", [inner, b.scalar(math.sqrt(2.0 / math.pi), v.dtype, f"{h}/k")], h)
    t = b.op("Add", [b.op("Tanh", [inner], h), b.scalar(1, v.dtype, f"{h}/one")], h)
    return b.op("Mul", [b.op("Mul", [x, t], h), b.scalar(0.5, v.dtype, f"{h}/half")], h)


def _act_swish(b, v, h):
    return b.op("Mul", [v.name, b.op("Sigmoid", [v.name], h)], h)


def _act_mish(b, v, h):
    return b.op("Mul", [v.name, b.op("Tanh", [b.op("Softplus", [v.name], h)], h)], h)


def _act_log_sigmoid(b, v, h):  # -softplus(-x)
    return b.op("Neg", [b.op("Softplus", [b.op("Neg", [v.name], h)], h)], h)


def _act_softmax(op_type):
    def emit(b, v, h):
        return b.op(op_type, [v.name], h, axis=v.onnx_axis(-1))
    return emit


def _simple(op_type, **attrs):
    def emit(b, v, h):
        return b.op(op_type, [v.name], h, **attrs)
    return emit


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _activation_table():
    from fastkeras import activations as A

    return {
        A.linear: None,
        A.relu: _simple("Relu"),
        A.relu6: _act_relu6,
        A.sigmoid: _simple("Sigmoid"),
        A.tanh: _simple("Tanh"),
        A.softmax: _act_softmax("Softmax"),
        A.log_softmax: _act_softmax("LogSoftmax"),
        A.gelu: _act_gelu,
        A.elu: _simple("Elu", alpha=1.0),
        A.selu: _simple("Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE),
        A.softplus: _simple("Softplus"),
        A.softsign: _simple("Softsign"),
        A.silu: _act_swish,
        A.leaky_relu: _simple("LeakyRelu", alpha=float(np.float32(0.2))),
        # Keras 3: relu6(x + 3) / 6
        A.hard_sigmoid: _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
        A.hard_silu: _simple("HardSwish"),
        A.exponential: _simple("Exp"),
        A.mish: _act_mish,
        A.log_sigmoid: _act_log_sigmoid,
    }


_ACTIVATIONS = None


def _activation_emitter(fn):
    """The emitter of an activation function; a ``functools.partial`` of gelu with
    approximate=True is the tanh approximation. Raises _Refusal for others."""
    global _ACTIVATIONS
    if _ACTIVATIONS is None:
        _ACTIVATIONS = _activation_table()
    import functools

    from fastkeras import activations as A

    if isinstance(fn, functools.partial) and fn.func is A.gelu and not fn.args and \
            set(fn.keywords) <= {"approximate"}:
        return _act_gelu_tanh if fn.keywords.get("approximate") else _act_gelu
    try:
        if fn in _ACTIVATIONS:
            return _ACTIVATIONS[fn]
    except TypeError:  # an unhashable callable
        pass
    raise _Refusal(f"has the activation {getattr(fn, '__name__', fn)!r}, which the ONNX "
                   "export does not write")


def _apply_activation(b, fn, v, hint):
    emit = _activation_emitter(fn)
    return v if emit is None else v.with_name(emit(b, v, f"{hint}/act"))


# ------------------------------------------------------------------------------ the rules
def _out(kt, dtype, name, layout=Layout.KERAS):
    """The Value of a rule's output: the call's output shape, the dtype the rule computed
    (a symbolic tensor's dtype is not always the one its layer computes in)."""
    return Value(name, tuple(kt.shape), np.dtype(dtype), layout)


def _identity(b, layer, xs, outs):
    return [xs[0]]


def _only_one(xs, layer):
    if len(xs) != 1:
        raise _Refusal(f"is called on {len(xs)} tensors (one expected)")
    return xs[0]


def _dense(b, layer, xs, outs):
    if getattr(layer, "quantization_config", None) is not None or \
            getattr(layer, "quantization_mode", None):
        raise _Refusal("is quantized")
    x = b.to_keras(_only_one(xs, layer), layer.name)
    k = b.weight(layer.kernel.numpy(), x.dtype, f"{layer.name}/kernel", ("k", id(layer.kernel)))
    y = b.op("MatMul", [x.name, k], layer.name)
    if layer.bias is not None:
        bias = b.weight(layer.bias.numpy(), x.dtype, f"{layer.name}/bias",
                        ("b", id(layer.bias)))
        y = b.op("Add", [y, bias], layer.name)
    return [_apply_activation(b, layer.activation, _out(outs[0], x.dtype, y), layer.name)]


def _activation_layer(b, layer, xs, outs):
    x = _only_one(xs, layer)
    return [_apply_activation(b, layer.activation, x, layer.name)]


def _relu_layer(b, layer, xs, outs):
    """Keras' relu(x, negative_slope, max_value, threshold), term by term."""
    x, h = _only_one(xs, layer), layer.name
    slope, threshold, top = float(layer.negative_slope), float(layer.threshold), \
        layer.max_value
    dt = x.dtype
    if slope and top is None and not threshold:
        return [x.with_name(b.op("LeakyRelu", [x.name], h, alpha=float(np.float32(slope))))]
    if threshold:
        above = b.op("Cast", [b.op("Greater", [x.name, b.scalar(threshold, dt, f"{h}/th")],
                                   h)], h, to=b.helper.np_dtype_to_tensor_dtype(dt))
        y = b.op("Mul", [x.name, above], h)
    else:
        y = b.op("Relu", [x.name], h)
    if top is not None:
        y = b.op("Clip", [y, b.scalar(0, dt, f"{h}/zero"), b.scalar(float(top), dt,
                                                                     f"{h}/max")], h)
    if slope:
        neg = b.op("Neg", [x.name], h)
        if threshold:
            neg = b.op("Add", [neg, b.scalar(threshold, dt, f"{h}/th2")], h)
        neg = b.op("Mul", [b.op("Relu", [neg], h), b.scalar(slope, dt, f"{h}/slope")], h)
        y = b.op("Sub", [y, neg], h)
    return [x.with_name(y)]


def _leaky_relu_layer(b, layer, xs, outs):
    x = _only_one(xs, layer)
    return [x.with_name(b.op("LeakyRelu", [x.name], layer.name,
                             alpha=float(np.float32(layer.negative_slope))))]


def _elu_layer(b, layer, xs, outs):
    x = _only_one(xs, layer)
    return [x.with_name(b.op("Elu", [x.name], layer.name, alpha=float(layer.alpha)))]


def _softmax_layer(b, layer, xs, outs):
    x = _only_one(xs, layer)
    if not isinstance(layer.axis, (int, np.integer)):
        raise _Refusal(f"has axis={layer.axis!r} (one axis only)")
    return [x.with_name(b.op("Softmax", [x.name], layer.name, axis=x.onnx_axis(layer.axis)))]


def _prelu_layer(b, layer, xs, outs):
    x = _only_one(xs, layer)
    alpha = b.weight(b.per_sample(x, layer.alpha.numpy()), x.dtype, f"{layer.name}/alpha")
    return [x.with_name(b.op("PRelu", [x.name, alpha], layer.name))]


def _batchnorm(b, layer, xs, outs):
    """Inference: (x - moving_mean) * gamma / sqrt(moving_variance + epsilon) + beta."""
    x, h = _only_one(xs, layer), layer.name
    axes = layer.normalized_axes
    shape = [x.shape[i] if i in axes else 1 for i in range(1, x.rank)]
    dt = x.dtype

    def const(a, hint):
        return b.weight(b.per_sample(x, np.reshape(a, shape)), dt, f"{h}/{hint}")

    var = layer.moving_variance.numpy().astype(dt)
    inv = (np.ones((), dt) / np.sqrt(var + dt.type(layer.epsilon))).astype(dt)
    if layer.gamma is not None:
        inv = inv * layer.gamma.numpy().astype(dt)
    y = b.op("Sub", [x.name, const(layer.moving_mean.numpy(), "moving_mean")], h)
    y = b.op("Mul", [y, const(inv, "scale")], h)
    if layer.beta is not None:
        y = b.op("Add", [y, const(layer.beta.numpy(), "beta")], h)
    return [x.with_name(y)]


def _layernorm(b, layer, xs, outs):
    x, h = b.to_keras(_only_one(xs, layer), layer.name), layer.name
    axes = sorted({int(a) % x.rank for a in (layer.axis if isinstance(layer.axis, (list, tuple))
                                             else [layer.axis])})
    dt = x.dtype
    norm_shape = [x.shape[a] for a in axes]
    gamma = None if layer.gamma is None else np.reshape(layer.gamma.numpy(), norm_shape)
    beta = None if layer.beta is None else np.reshape(layer.beta.numpy(), norm_shape)
    if axes == list(range(axes[0], x.rank)) and not layer.rms_scaling:
        scale = b.weight(np.ones(norm_shape) if gamma is None else gamma, dt, f"{h}/gamma")
        ins = [x.name, scale] + ([] if beta is None else
                                 [b.weight(beta, dt, f"{h}/beta")])
        return [x.with_name(b.op("LayerNormalization", ins, h, axis=axes[0],
                                 epsilon=float(layer.epsilon)))]
    bshape = [x.shape[i] if i in axes else 1 for i in range(1, x.rank)]
    eps = b.scalar(layer.epsilon, dt, f"{h}/epsilon")
    if layer.rms_scaling:
        sq = b.op("Mul", [x.name, x.name], h)
        ms = b.reduce("ReduceMean", sq, axes, True, h)
        inv = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [ms, eps], h)], h)], h)
        y = b.op("Mul", [x.name, inv], h)
        if gamma is not None:
            y = b.op("Mul", [y, b.weight(np.reshape(gamma, bshape), dt, f"{h}/gamma")], h)
        return [x.with_name(y)]
    mean = b.reduce("ReduceMean", x.name, axes, True, h)
    centred = b.op("Sub", [x.name, mean], h)
    var = b.reduce("ReduceMean", b.op("Mul", [centred, centred], h), axes, True, h)
    inv = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [var, eps], h)], h)], h)
    if gamma is not None:
        inv = b.op("Mul", [inv, b.weight(np.reshape(gamma, bshape), dt, f"{h}/gamma")], h)
    y = b.op("Mul", [centred, inv], h)
    if beta is not None:
        y = b.op("Add", [y, b.weight(np.reshape(beta, bshape), dt, f"{h}/beta")], h)
    return [x.with_name(y)]


def _dropout(b, layer, xs, outs):
    return [_only_one(xs, layer)]  # inference: the identity


def _flatten(b, layer, xs, outs):
    x, h = _only_one(xs, layer), layer.name
    x = b.to_keras(x, h)
    if layer.data_format == "channels_first" and x.rank > 2:
        x = x.with_name(b.op("Transpose", [x.name], h,
                             perm=[0] + list(range(2, x.rank)) + [1]))
    return [_out(outs[0], x.dtype, b.op("Flatten", [x.name], h, axis=1))]


def _reshape(b, layer, xs, outs):
    x = b.to_keras(_only_one(xs, layer), layer.name)
    target = tuple(outs[0].shape[1:])
    if len(target) >= 2 and all(d == 1 for d in target[:-1]) and target[-1] is not None:
        # (N, C) -> (N, 1, ..., 1, C) is the same tensor held channels first: the
        # squeeze-and-excitation pattern, so the 1x1 convolutions after it need no Transpose
        shape = b.ints([0, target[-1]] + [1] * (len(target) - 1), f"{layer.name}/shape")
        return [_out(outs[0], x.dtype, b.op("Reshape", [x.name, shape], layer.name),
                     Layout.CHANNELS_FIRST)]
    shape = b.ints([0] + list(layer.target_shape), f"{layer.name}/shape")
    return [_out(outs[0], x.dtype, b.op("Reshape", [x.name, shape], layer.name))]


def _permute(b, layer, xs, outs):
    x = b.to_keras(_only_one(xs, layer), layer.name)
    return [_out(outs[0], x.dtype, b.op("Transpose", [x.name], layer.name,
                                  perm=[0] + list(layer.dims)))]


def _repeat_vector(b, layer, xs, outs):
    x = b.to_keras(_only_one(xs, layer), layer.name)
    y = b.unsqueeze(x.name, [1], layer.name)
    y = b.op("Tile", [y, b.ints([1, layer.n, 1], f"{layer.name}/repeats")], layer.name)
    return [_out(outs[0], x.dtype, y)]


def _embedding(b, layer, xs, outs):
    x, h = _only_one(xs, layer), layer.name
    if layer.mask_zero:
        raise _Refusal("has mask_zero=True (masks are not exported)")
    if getattr(layer, "quantization_config", None) is not None:
        raise _Refusal("is quantized")
    ids = b.to_keras(x, h).name
    if x.dtype != np.int64:
        ids = b.op("Cast", [ids], h, to=b.helper.np_dtype_to_tensor_dtype(np.dtype(np.int64)))
    table = b.weight(layer.embeddings.numpy(), np.dtype(layer.compute_dtype),
                     f"{h}/embeddings", ("e", id(layer.embeddings)))
    return [_out(outs[0], layer.compute_dtype, b.op("Gather", [table, ids], h, axis=0))]


def _cast_to_compute(b, layer, x):
    want = np.dtype(layer.compute_dtype)
    if x.dtype == want:
        return x
    name = b.op("Cast", [x.name], f"{layer.name}/cast", to=_tensor_type(b.helper, want))
    return Value(name, x.shape, want, x.layout)


def _random_image_layer(b, layer, xs, outs):
    """A random augmentation layer at inference: the identity, in the compute dtype."""
    return [_cast_to_compute(b, layer, _only_one(xs, layer))]


def _center_crop(b, layer, xs, outs):
    x = _cast_to_compute(b, layer, _only_one(xs, layer))
    if x.rank != 4:
        raise _Refusal("gets unbatched images")
    axes, sizes, _ = _spatial_geometry(layer, x)
    if any(s is None for s in sizes) or sizes[0] < layer.height or sizes[1] < layer.width:
        raise _Refusal("needs known image sizes at least the crop's (smaller images are "
                       "resized, which the ONNX export does not write)")
    starts = [(sizes[0] - layer.height) // 2, (sizes[1] - layer.width) // 2]
    ends = [starts[0] + layer.height, starts[1] + layer.width]
    return _spatial_slice(b, layer, x, axes, starts, ends, outs)


def _spatial_slice(b, layer, x, axes, starts, ends, outs):
    """x[starts:ends] along the Keras spatial axes as one ONNX Slice."""
    y = b.op("Slice", [x.name, b.ints(starts, f"{layer.name}/starts"),
                       b.ints(ends, f"{layer.name}/ends"),
                       b.ints([x.onnx_axis(a) for a in axes], f"{layer.name}/axes")],
             layer.name)
    return [_out(outs[0], x.dtype, y, x.layout)]


def _rescaling(b, layer, xs, outs):
    x = _cast_to_compute(b, layer, _only_one(xs, layer))
    scale, offset = np.asarray(layer.scale), np.asarray(layer.offset)
    if scale.ndim or offset.ndim:  # broadcast against the Keras axes
        x = b.to_keras(x, layer.name)
    y = b.op("Mul", [x.name, b.weight(scale, x.dtype, f"{layer.name}/scale")], layer.name)
    y = b.op("Add", [y, b.weight(offset, x.dtype, f"{layer.name}/offset")], layer.name)
    return [x.with_name(y)]


def _normalization(b, layer, xs, outs):
    """(x - mean) / max(sqrt(variance), 1e-7), or its inverse."""
    from fastkeras.layers.preprocessing import _EPSILON

    x = _cast_to_compute(b, layer, _only_one(xs, layer))
    if layer.mean is None:
        raise _Refusal("is not built (no mean and variance)")
    mean, var = (np.asarray(a) for a in layer._stats())
    if mean.ndim != x.rank or mean.shape[0] != 1:
        raise _Refusal("keeps statistics per batch index")
    std = np.maximum(np.sqrt(var), np.asarray(_EPSILON, var.dtype))
    m = b.weight(b.per_sample(x, mean[0]), x.dtype, f"{layer.name}/mean")
    sd = b.weight(b.per_sample(x, std[0]), x.dtype, f"{layer.name}/std")
    if layer.invert:
        y = b.op("Add", [b.op("Mul", [x.name, sd], layer.name), m], layer.name)
    else:
        y = b.op("Div", [b.op("Sub", [x.name, m], layer.name), sd], layer.name)
    return [x.with_name(y)]


def _unit_normalization(b, layer, xs, outs):
    """x * min(1 / sqrt(sum(x^2, axis)), 1e12)."""
    x, h = _only_one(xs, layer), layer.name
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    sq = b.reduce("ReduceSumSquare", x.name, [x.onnx_axis(a) for a in axes], True, h)
    inv = b.op("Reciprocal", [b.op("Sqrt", [sq], h)], h)
    inv = b.op("Min", [inv, b.scalar(1e12, x.dtype, f"{h}/cap")], h)
    return [x.with_name(b.op("Mul", [x.name, inv], h))]


def _group_normalization(b, layer, xs, outs):
    """Channels first, (N, C, ...) -> (N, groups, rest): each group's mean and variance
    over its last axis, then back to the input's shape, scaled and shifted per channel."""
    x0, h = _only_one(xs, layer), layer.name
    ax = int(layer.axis) % x0.rank
    if ax == x0.rank - 1:
        x = b.to_channels_first(x0, h) if x0.rank > 2 else x0
    elif ax == 1 and x0.layout is Layout.KERAS:
        x = x0
    else:
        raise _Refusal(f"normalizes axis {layer.axis} (the channel axis, last or first, only)")
    x = _cast_to_compute(b, layer, x)
    dt = x.dtype
    grouped = b.op("Reshape", [x.name, b.ints([0, layer.groups, -1], f"{h}/groups")], h)
    mean = b.reduce("ReduceMean", grouped, [2], True, h)
    centred = b.op("Sub", [grouped, mean], h)
    var = b.reduce("ReduceMean", b.op("Mul", [centred, centred], h), [2], True, h)
    inv = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [var, b.scalar(
        layer.epsilon, dt, f"{h}/epsilon")], h)], h)], h)
    y = b.op("Reshape", [b.op("Mul", [centred, inv], h), b.op("Shape", [x.name], h)], h)
    channel_shape = (-1,) + (1,) * (x.rank - 2)
    if layer.gamma is not None:
        y = b.op("Mul", [y, b.weight(np.reshape(layer.gamma.numpy(), channel_shape), dt,
                                     f"{h}/gamma")], h)
    if layer.beta is not None:
        y = b.op("Add", [y, b.weight(np.reshape(layer.beta.numpy(), channel_shape), dt,
                                     f"{h}/beta")], h)
    return [x.with_name(y)]


# --------------------------------------------------------------- convolutions and pooling
def _spatial_geometry(layer, x):
    """(Keras spatial axes, their sizes, the channel axis) of `x` for the layer's
    data_format."""
    r = x.rank
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        axes = list(range(2, r))
        return axes, [x.shape[a] for a in axes], 1
    axes = list(range(1, r - 1))
    return axes, [x.shape[a] for a in axes], r - 1


def _pads(padding, sizes, kernel, strides, dilations):
    """ONNX pads (begins then ends), or None for auto_pad SAME_UPPER where a size is
    unknown. TensorFlow's "same" puts the odd pixel at the end, as SAME_UPPER does."""
    n = len(kernel)
    if padding == "valid":
        return [0] * (2 * n)
    if padding == "causal":
        return [(kernel[0] - 1) * dilations[0], 0]
    if any(s is None for s in sizes):
        return None
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def _conv_input(b, layer, x):
    """The input held as the ONNX convolution reads it (N, C, spatial...), and the
    layout of the result."""
    if x.rank != layer.rank + 2:
        raise _Refusal(f"gets inputs of rank {x.rank}, expected {layer.rank + 2}")
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return b.to_keras(x, layer.name), Layout.KERAS
    return b.to_channels_first(x, layer.name), Layout.CHANNELS_FIRST


def _conv_node(b, layer, x, weight, bias, kernel, strides, dilations, padding, group, hint):
    _, sizes, _ = _spatial_geometry(layer, x)
    pads = _pads(padding, sizes, kernel, strides, dilations)
    ins = [x.name, weight] + ([bias] if bias is not None else [])
    return b.op("Conv", ins, hint, kernel_shape=list(kernel), strides=list(strides),
                dilations=list(dilations), group=int(group),
                pads=pads, auto_pad="SAME_UPPER" if pads is None else None)


def _bias_of(b, layer, dt):
    if getattr(layer, "bias", None) is None:
        return None
    return b.weight(layer.bias.numpy(), dt, f"{layer.name}/bias", ("b", id(layer.bias)))


def _transpose_pads(in_sizes, out_sizes, layer):
    """ConvTranspose's pads and output_padding giving Keras' output sizes: the begin pad
    is the one of the convolution it is the gradient of (TensorFlow's "same" pad, or 0),
    the end is cropped (pads) or extended with zeros (output_padding) to the size."""
    if any(s is None for s in list(in_sizes) + list(out_sizes)):
        raise _Refusal("needs known spatial input sizes (a transposed convolution's output "
                       "size is fixed at export)")
    begins, ends, extra = [], [], []
    for i, big, k, s, d in zip(in_sizes, out_sizes, layer.kernel_size, layer.strides,
                               layer.dilation_rate):
        eff = (k - 1) * d + 1
        pb = max((i - 1) * s + eff - big, 0) // 2 if layer.padding == "same" else 0
        diff = big - s * (i - 1) - eff + pb  # output_padding - end pad
        begins.append(pb)
        ends.append(max(-diff, 0))
        extra.append(max(diff, 0))
    return begins + ends, extra


def _conv_transpose(b, layer, xs, outs):
    x0 = _only_one(xs, layer)
    if layer.groups != 1:
        raise _Refusal("has groups > 1")
    x, layout = _conv_input(b, layer, x0)
    n = layer.rank
    _, in_sizes, _ = _spatial_geometry(layer, x0)
    out_kt = Value("", tuple(outs[0].shape), x0.dtype)
    _, out_sizes, _ = _spatial_geometry(layer, out_kt)
    pads, extra = _transpose_pads(in_sizes, out_sizes, layer)
    # Keras' kernel is (k..., filters, in_channels); ONNX's (in_channels, filters, k...)
    w = np.transpose(layer.kernel.numpy(), [n + 1, n] + list(range(n)))
    weight = b.weight(w, x.dtype, f"{layer.name}/kernel", ("k", id(layer.kernel)))
    bias = _bias_of(b, layer, x.dtype)
    y = b.op("ConvTranspose", [x.name, weight] + ([bias] if bias is not None else []),
             layer.name, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), pads=pads,
             output_padding=extra if any(extra) else None)
    return [_apply_activation(b, layer.activation, _out(outs[0], x.dtype, y, layout), layer.name)]


def _conv(b, layer, xs, outs):
    if layer.transpose:
        return _conv_transpose(b, layer, xs, outs)
    x0 = _only_one(xs, layer)
    x, layout = _conv_input(b, layer, x0)
    n = layer.rank
    w = np.transpose(layer.kernel.numpy(), [n + 1, n] + list(range(n)))
    weight = b.weight(w, x.dtype, f"{layer.name}/kernel", ("k", id(layer.kernel)))
    y = _conv_node(b, layer, x, weight, _bias_of(b, layer, x.dtype), layer.kernel_size,
                   layer.strides, layer.dilation_rate, layer.padding, layer.groups,
                   layer.name)
    return [_apply_activation(b, layer.activation, _out(outs[0], x.dtype, y, layout), layer.name)]


def _depthwise_weight(layer):
    """Keras' depthwise kernel (k..., C, M) as ONNX's grouped weight (C*M, 1, k...):
    output channel c*M + m reads input channel c, as Keras orders them."""
    k = layer.depthwise_kernel.numpy()
    n = layer.rank
    k = k.reshape(k.shape[:n] + (-1,))
    return np.transpose(k, [n] + list(range(n)))[:, None]


def _depthwise(b, layer, xs, outs):
    x0 = _only_one(xs, layer)
    x, layout = _conv_input(b, layer, x0)
    _, _, caxis = _spatial_geometry(layer, x0)
    weight = b.weight(_depthwise_weight(layer), x.dtype, f"{layer.name}/depthwise_kernel",
                      ("d", id(layer.depthwise_kernel)))
    y = _conv_node(b, layer, x, weight, _bias_of(b, layer, x.dtype), layer.kernel_size,
                   layer.strides, layer.dilation_rate, layer.padding, x0.shape[caxis],
                   layer.name)
    return [_apply_activation(b, layer.activation, _out(outs[0], x.dtype, y, layout), layer.name)]


def _separable(b, layer, xs, outs):
    x0 = _only_one(xs, layer)
    x, layout = _conv_input(b, layer, x0)
    _, _, caxis = _spatial_geometry(layer, x0)
    n = layer.rank
    dw = b.weight(_depthwise_weight(layer), x.dtype, f"{layer.name}/depthwise_kernel",
                  ("d", id(layer.depthwise_kernel)))
    y = _conv_node(b, layer, x, dw, None, layer.kernel_size, layer.strides,
                   layer.dilation_rate, layer.padding, x0.shape[caxis], layer.name)
    pw = np.transpose(layer.pointwise_kernel.numpy(), [n + 1, n] + list(range(n)))
    pw = b.weight(pw, x.dtype, f"{layer.name}/pointwise_kernel",
                  ("p", id(layer.pointwise_kernel)))
    ins = [y, pw] + ([_bias_of(b, layer, x.dtype)] if layer.bias is not None else [])
    y = b.op("Conv", ins, layer.name, kernel_shape=[1] * n, strides=[1] * n,
             dilations=[1] * n, group=1, pads=[0] * (2 * n))
    return [_apply_activation(b, layer.activation, _out(outs[0], x.dtype, y, layout), layer.name)]


def _pool(b, layer, xs, outs):
    x0 = _only_one(xs, layer)
    x, layout = _conv_input(b, layer, x0)
    _, sizes, _ = _spatial_geometry(layer, x0)
    n = layer.rank
    pads = _pads(layer.padding, sizes, layer.pool_size, layer.strides, [1] * n)
    common = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides), pads=pads,
                  auto_pad="SAME_UPPER" if pads is None else None)
    if layer.kind == "max":
        y = b.op("MaxPool", [x.name], layer.name, **common)
    else:  # Keras' average leaves the padding out of the count
        y = b.op("AveragePool", [x.name], layer.name, count_include_pad=0, **common)
    return [_out(outs[0], x.dtype, y, layout)]


def _global_pool(b, layer, xs, outs):
    x = _only_one(xs, layer)
    axes, _, _ = _spatial_geometry(layer, x)
    op_type = "ReduceMax" if layer.kind == "max" else "ReduceMean"
    y = b.reduce(op_type, x.name, [x.onnx_axis(a) for a in axes], layer.keepdims, layer.name)
    return [_out(outs[0], x.dtype, y, x.layout if layer.keepdims else Layout.KERAS)]


def _zero_padding(b, layer, xs, outs):
    x = _only_one(xs, layer)
    axes, _, _ = _spatial_geometry(layer, x)
    begins, ends = [0] * x.rank, [0] * x.rank
    for a, (lo, hi) in zip(axes, layer.padding):
        begins[x.onnx_axis(a)], ends[x.onnx_axis(a)] = int(lo), int(hi)
    y = b.op("Pad", [x.name, b.ints(begins + ends, f"{layer.name}/pads"),
                     b.scalar(0, x.dtype, f"{layer.name}/zero")], layer.name, mode="constant")
    return [_out(outs[0], x.dtype, y, x.layout)]


def _cropping(b, layer, xs, outs):
    x = _only_one(xs, layer)
    axes, _, _ = _spatial_geometry(layer, x)
    starts = [int(lo) for lo, _ in layer.cropping]
    ends = [-int(hi) if hi else _INT64_MAX for _, hi in layer.cropping]
    return _spatial_slice(b, layer, x, axes, starts, ends, outs)


def _upsampling(b, layer, xs, outs):
    x = _only_one(xs, layer)
    axes, _, _ = _spatial_geometry(layer, x)
    mode = getattr(layer, "interpolation", "nearest")
    if mode not in ("nearest", "bilinear"):
        raise _Refusal(f"has interpolation={mode!r} (nearest and bilinear only)")
    scales = [1.0] * x.rank
    for a, s in zip(axes, layer.size):
        scales[x.onnx_axis(a)] = float(s)
    attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                 nearest_mode="floor") if mode == "nearest" else \
        dict(mode="linear", coordinate_transformation_mode="half_pixel")
    y = b.op("Resize", [x.name, "", b.const(np.asarray(scales, np.float32),
                                            f"{layer.name}/scales")], layer.name, **attrs)
    return [_out(outs[0], x.dtype, y, x.layout)]


# ------------------------------------------------------------------------------ merging
def _same_layout(b, layer, xs):
    """The inputs in one layout: kept when they share one and a rank, else the Keras axes."""
    if len({v.layout for v in xs}) == 1 and len({v.rank for v in xs}) == 1:
        return xs
    return [b.to_keras(v, layer.name) for v in xs]


def _merge(op_type, variadic=False, mean=False):
    def convert(b, layer, xs, outs):
        if len(xs) < 2:
            raise _Refusal(f"is called on {len(xs)} tensor(s)")
        xs = _same_layout(b, layer, xs)
        if variadic:
            y = b.op(op_type, [v.name for v in xs], layer.name)
        else:
            y = xs[0].name
            for v in xs[1:]:
                y = b.op(op_type, [y, v.name], layer.name)
        if mean:
            y = b.op("Div", [y, b.scalar(len(xs), xs[0].dtype, f"{layer.name}/n")], layer.name)
        return [_out(outs[0], xs[0].dtype, y, xs[0].layout)]
    return convert


def _concatenate(b, layer, xs, outs):
    xs = _same_layout(b, layer, xs)
    axis = xs[0].onnx_axis(layer.axis)
    return [_out(outs[0], xs[0].dtype, b.op("Concat", [v.name for v in xs], layer.name, axis=axis),
                 xs[0].layout)]


def _l2_normalize(b, v, axis, hint):
    """v / max(||v|| along axis, 1e-12), as Dot(normalize=True) divides."""
    norm = b.op("Sqrt", [b.reduce("ReduceSumSquare", v.name, [axis], True, hint)], hint)
    norm = b.op("Max", [norm, b.scalar(1e-12, v.dtype, f"{hint}/eps")], hint)
    return v.with_name(b.op("Div", [v.name, norm], hint))


def _dot(b, layer, xs, outs):
    """Dot of (batch, k) / (batch, m, k) tensors as one batched MatMul: the first with its
    contracted axis last, the second with it first after the batch."""
    if len(xs) != 2:
        raise _Refusal(f"is called on {len(xs)} tensors (two expected)")
    a, c = (b.to_keras(v, layer.name) for v in xs)
    if {a.rank, c.rank} - {2, 3}:
        raise _Refusal("gets inputs of rank other than 2 or 3")
    h = layer.name
    ax = [int(x) % v.rank for x, v in zip(layer.axes, (a, c))]
    if 0 in ax:
        raise _Refusal("contracts the batch axis")
    if layer.normalize:
        a, c = _l2_normalize(b, a, ax[0], h), _l2_normalize(b, c, ax[1], h)
    if a.rank == 2:
        left = b.unsqueeze(a.name, [1], h)                     # (N, 1, k)
    else:
        left = a.name if ax[0] == 2 else b.op("Transpose", [a.name], h, perm=[0, 2, 1])
    if c.rank == 2:
        right = b.unsqueeze(c.name, [2], h)                    # (N, k, 1)
    else:
        right = c.name if ax[1] == 1 else b.op("Transpose", [c.name], h, perm=[0, 2, 1])
    y = b.op("MatMul", [left, right], h)
    if a.rank == 2 and c.rank == 3:
        y = b.squeeze(y, [1], h)
    elif c.rank == 2:
        y = b.squeeze(y, [2], h)
    return [_out(outs[0], a.dtype, y)]


# ------------------------------------------------------------------------------ recurrent
_ONNX_ACTIVATION = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}


def _onnx_activation(fn, what):
    name = getattr(fn, "__name__", None)
    if name not in _ONNX_ACTIVATION:
        raise _Refusal(f"has the {what} {name or fn!r} (tanh, sigmoid or relu only)")
    return _ONNX_ACTIVATION[name]


def _recurrent(b, layer, xs, outs):
    """SimpleRNN / LSTM / GRU as ONNX's RNN / LSTM / GRU: time-major input, forward
    direction (go_backwards reverses the input, as Keras does), the last state or the
    whole sequence."""
    from fastkeras import layers as L

    if layer.return_state or layer.stateful:
        raise _Refusal("has return_state or stateful set")
    x = b.to_keras(_only_one(xs, layer), layer.name)
    h, cell, dt = layer.name, layer.cell, x.dtype
    u = cell.units
    kernel, rec = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    bias = None if cell.bias is None else cell.bias.numpy()
    if isinstance(layer, L.LSTM):
        op_type = "LSTM"
        order = [0, 3, 1, 2]  # Keras i, f, c, o; ONNX i, o, f, c
        acts = [_onnx_activation(cell.recurrent_activation, "recurrent_activation"),
                _onnx_activation(cell.activation, "activation"),
                _onnx_activation(cell.activation, "activation")]
        split = 4
        wb = np.zeros(4 * u) if bias is None else bias
        rb = np.zeros(4 * u)
        extra = {}
    elif isinstance(layer, L.GRU):
        op_type = "GRU"
        order = [0, 1, 2]  # z, r, h in both
        acts = [_onnx_activation(cell.recurrent_activation, "recurrent_activation"),
                _onnx_activation(cell.activation, "activation")]
        split = 3
        if bias is None:
            wb, rb = np.zeros(3 * u), np.zeros(3 * u)
        elif cell.reset_after:
            wb, rb = bias[0], bias[1]
        else:
            wb, rb = bias, np.zeros(3 * u)
        extra = {"linear_before_reset": int(cell.reset_after)}
    else:
        op_type = "RNN"
        order = [0]
        acts = [_onnx_activation(cell.activation, "activation")]
        split = 1
        wb = np.zeros(u) if bias is None else bias
        rb = np.zeros(u)
        extra = {}

    def gates(a, axis):
        parts = np.split(a, split, axis=axis)
        return np.concatenate([parts[i] for i in order], axis=axis)

    w = b.weight(gates(kernel, 1).T[None], dt, f"{h}/W")
    r = b.weight(gates(rec, 1).T[None], dt, f"{h}/R")
    bb = b.weight(np.concatenate([gates(wb, 0), gates(rb, 0)])[None], dt, f"{h}/B")
    seq = b.op("Transpose", [x.name], h, perm=[1, 0, 2])  # (T, N, F)
    if layer.go_backwards:
        seq = b.op("Slice", [seq, b.ints([-1], f"{h}/start"),
                             b.ints([-_INT64_MAX], f"{h}/end"), b.ints([0], f"{h}/axis"),
                             b.ints([-1], f"{h}/step")], h)
    y, y_h = b.op(op_type, [seq, w, r, bb], h, outputs=2, hidden_size=int(u),
                  activations=acts, direction="forward", **extra)
    if layer.return_sequences:  # Y: (T, 1, N, H)
        y = b.op("Transpose", [b.squeeze(y, [1], h)], h, perm=[1, 0, 2])
    else:                       # Y_h: (1, N, H)
        y = b.squeeze(y_h, [0], h)
    return [_out(outs[0], x.dtype, y)]


_BIDIRECTIONAL_MERGE = {"sum": "Add", "mul": "Mul", "ave": "Add"}


def _bidirectional(b, layer, xs, outs):
    """The forward and backward recurrent layers as two ONNX recurrences (the backward one
    on the reversed sequence, its output sequence reversed back, as Keras aligns them),
    then merged."""
    from fastkeras import layers as L

    x = b.to_keras(_only_one(xs, layer), layer.name)
    parts = []
    for sub in (layer.forward_layer, layer.backward_layer):
        if not isinstance(sub, (L.SimpleRNN, L.LSTM, L.GRU)):
            raise _Refusal(f"wraps a {type(sub).__name__} (SimpleRNN, LSTM or GRU only)")
        units = sub.cell.units
        shape = (None, x.shape[1], units) if sub.return_sequences else (None, units)
        v = _recurrent(b, sub, [x], [Value("", shape, x.dtype)])[0]
        if sub.go_backwards and sub.return_sequences:
            h = sub.name
            v = v.with_name(b.op("Slice", [v.name, b.ints([-1], f"{h}/start"),
                                           b.ints([-_INT64_MAX], f"{h}/end"),
                                           b.ints([1], f"{h}/axis"),
                                           b.ints([-1], f"{h}/step")], h))
        parts.append(v)
    mode = layer.merge_mode
    if mode is None:
        return [_out(kt, v.dtype, v.name) for kt, v in zip(outs, parts)]
    if mode == "concat":
        y = b.op("Concat", [v.name for v in parts], layer.name, axis=-1)
    else:
        y = b.op(_BIDIRECTIONAL_MERGE[mode], [v.name for v in parts], layer.name)
        if mode == "ave":
            y = b.op("Div", [y, b.scalar(2, x.dtype, f"{layer.name}/two")], layer.name)
    return [_out(outs[0], parts[0].dtype, y)]


def _time_distributed(b, layer, xs, outs):
    """The wrapped layer on (batch * time, ...), reshaped back to (batch, time, ...)."""
    from fastkeras.models.model import Model

    x, h = b.to_keras(_only_one(xs, layer), layer.name), layer.name
    inner = layer.layer
    rule = None if isinstance(inner, Model) else _rule_for(inner)
    if rule is None:
        raise _Refusal(f"wraps {_name_of(inner)}, which has no ONNX conversion")
    step_in, step_out = tuple(x.shape[2:]), tuple(outs[0].shape[2:])
    if any(d is None for d in step_in + step_out):
        raise _Refusal("needs known per-step shapes")
    merged = b.op("Reshape", [x.name, b.ints([-1] + list(step_in), f"{h}/merged")], h)
    try:
        y = rule.convert(b, inner, [Value(merged, (None,) + step_in, x.dtype)],
                         [Value("", (None,) + step_out, np.dtype(outs[0].dtype))])[0]
    except _Refusal as exc:
        raise _Refusal(f"wraps {_name_of(inner)}, which {exc}") from None
    y = b.to_keras(y, h)
    lead = b.op("Slice", [b.op("Shape", [x.name], h), b.ints([0], f"{h}/s0"),
                          b.ints([2], f"{h}/s2")], h)
    target = b.op("Concat", [lead, b.ints(list(step_out), f"{h}/step_shape")], h, axis=0)
    return [_out(outs[0], y.dtype, b.op("Reshape", [y.name, target], h))]


# ------------------------------------------------------------------------------ attention
_MHA_ARGS = ("value", "key", "query_mask", "value_mask", "key_mask", "attention_mask",
             "return_attention_scores", "training", "use_causal_mask")


def _projection(b, proj, x, hint):
    """One of MultiHeadAttention's einsum projections (kernel, then bias)."""
    w = b.weight(proj.kernel.numpy(), x.dtype, f"{hint}/kernel", ("k", id(proj.kernel)))
    y = b.op("Einsum", [x.name, w], hint, equation=proj.equation)
    if proj.bias is not None:
        bias = b.weight(proj.bias.numpy(), x.dtype, f"{hint}/bias", ("b", id(proj.bias)))
        y = b.op("Add", [y, bias], hint)
    return y


def _multi_head_attention(b, layer, xs, outs, args, kwargs):
    """Keras' MultiHeadAttention as Einsum nodes (its own equations); a causal or
    sliding-window mask is a constant of the known sequence lengths."""
    call = dict(zip(_MHA_ARGS, args))
    call.update(kwargs)
    for name in ("query_mask", "value_mask", "key_mask", "attention_mask"):
        if call.get(name) is not None:
            raise _Refusal(f"is called with {name} (masks are not exported)")
    if call.get("return_attention_scores"):
        raise _Refusal("returns its attention scores")
    if len(layer._norm_axes) != 1 or layer._norm_axes[0] != len(
            layer._dot_product_equation.split("->")[1]) - 1:
        raise _Refusal("attends over several axes")
    h = layer.name
    query = b.to_keras(_only_one(xs, layer), h)
    value = call.get("value")
    key = call.get("key")
    if not isinstance(value, Value) or (key is not None and not isinstance(key, Value)):
        raise _Refusal("is not given its value (and key) as tensors")
    value = b.to_keras(value, h)
    key = value if key is None else b.to_keras(key, h)
    dt = query.dtype
    q = _projection(b, layer._query_dense, query, f"{h}/query")
    k = _projection(b, layer._key_dense, key, f"{h}/key")
    v = _projection(b, layer._value_dense, value, f"{h}/value")
    q = b.op("Mul", [q, b.scalar(float(np.float32(layer._inverse_sqrt_key_dim)), dt,
                                 f"{h}/scale")], h)
    scores = b.op("Einsum", [k, q], h, equation=layer._dot_product_equation)
    mask = None
    t, src = query.shape[1], value.shape[1]
    if call.get("use_causal_mask") or layer._sliding_window is not None:
        if t is None or src is None or query.rank != 3:
            raise _Refusal("masks a sequence of unknown length (a causal or sliding-window "
                           "mask is fixed at export)")
        mask = np.ones((t, src), bool)
        if call.get("use_causal_mask"):
            mask &= np.arange(t)[:, None] >= np.arange(src)[None, :]
        if layer._sliding_window is not None:
            mask &= np.abs(np.arange(t)[:, None] - np.arange(src)[None, :]) < \
                layer._sliding_window
        if not mask.any(axis=1).all() and layer._dropout > 0:
            # a query that sees no key: the -1e9 scores average the values, as Keras' fused
            # path does; with dropout Keras takes the other path, which gives zeros
            raise _Refusal("masks every key of some query and has dropout")
        big = 3e4 if dt == np.float16 else 1e9
        scores = b.op("Where", [b.const(mask, f"{h}/mask"), scores,
                                b.scalar(-big, dt, f"{h}/masked")], h)
    scores = b.op("Softmax", [scores], h, axis=-1)
    out = b.op("Einsum", [scores, v], h, equation=layer._combine_equation)
    if layer._use_gate:
        gate = b.op("Sigmoid", [_projection(b, layer._gate_dense, query, f"{h}/gate")], h)
        out = b.op("Mul", [out, gate], h)
    heads = Value(out, (), dt)
    return [_out(outs[0], dt, _projection(b, layer._output_dense, heads, f"{h}/output"))]


# ------------------------------------------------------------------------------ ops
# fastkeras.ops functions applied to symbolic tensors (OpLayer nodes: `x / 255.0`,
# `ops.mean(x, axis=1)`), by the op's name
_OP_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div",
              "divide": "Div", "maximum": "Max", "minimum": "Min", "power": "Pow",
              "matmul": "MatMul"}
_OP_UNARY = {"negative": "Neg", "abs": "Abs", "absolute": "Abs", "exp": "Exp", "log": "Log",
             "sqrt": "Sqrt", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
             "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos",
             "reciprocal": "Reciprocal", "softplus": "Softplus", "softsign": "Softsign"}
_OP_REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax",
              "min": "ReduceMin"}


def _op_operand(b, v, dtype, hint):
    """An operand's ONNX name: a Value (with Keras' axes) or a constant in `dtype`."""
    if isinstance(v, Value):
        return b.to_keras(v, hint).name
    a = np.asarray(v)
    if a.dtype.kind not in "biuf":
        raise _Refusal(f"has the operand {v!r}")
    return b.weight(a, dtype, f"{hint}/const")


def _getitem(b, x, key, h):
    """x[key] for keys of ints and slices (Slice, then Squeeze the int axes)."""
    key = key if isinstance(key, tuple) else (key,)
    if len(key) > x.rank or any(not isinstance(k, (int, np.integer, slice)) for k in key):
        raise _Refusal(f"indexes with {key!r} (ints and slices only)")
    starts, ends, axes, steps, drop = [], [], [], [], []
    for axis, k in enumerate(key):
        if isinstance(k, slice):
            if k == slice(None):
                continue
            step = 1 if k.step is None else int(k.step)
            start = k.start if k.start is not None else (0 if step > 0 else -1)
            end = k.stop if k.stop is not None else (_INT64_MAX if step > 0 else -_INT64_MAX)
            starts.append(int(start)), ends.append(int(end)), steps.append(step)
        else:
            k = int(k)
            starts.append(k), ends.append(k + 1 if k != -1 else _INT64_MAX), steps.append(1)
            drop.append(axis)
        axes.append(axis)
    y = x.name
    if axes:
        y = b.op("Slice", [y, b.ints(starts, f"{h}/starts"), b.ints(ends, f"{h}/ends"),
                           b.ints(axes, f"{h}/axes"), b.ints(steps, f"{h}/steps")], h)
    return b.squeeze(y, drop, h) if drop else b.op("Identity", [y], h)


def _op_layer(b, layer, args, outs):
    """One OpLayer node: `args` are the call's positional arguments, the KerasTensors
    among them already Values."""
    op, opts, h = layer.op, dict(layer.arguments), layer.name
    dtype = np.dtype(outs[0].dtype)
    tensors = [a for a in args if isinstance(a, Value)]
    if op in _OP_BINARY and len(args) == 2 and not opts:
        y = b.op(_OP_BINARY[op], [_op_operand(b, a, dtype, h) for a in args], h)
    elif op in _OP_UNARY and len(args) == 1 and tensors and not opts:
        y = b.op(_OP_UNARY[op], [tensors[0].name], h)  # elementwise: any layout
        return [Value(y, tuple(outs[0].shape), dtype, tensors[0].layout)]
    elif op == "square" and len(args) == 1 and tensors and not opts:
        y = b.op("Mul", [tensors[0].name, tensors[0].name], h)
        return [Value(y, tuple(outs[0].shape), dtype, tensors[0].layout)]
    elif op in ("softmax", "log_softmax") and len(tensors) == 1 and set(opts) <= {"axis"}:
        x = b.to_keras(tensors[0], h)
        y = b.op("Softmax" if op == "softmax" else "LogSoftmax", [x.name], h,
                 axis=int(opts.get("axis", -1)) % x.rank)
    elif op in _OP_REDUCE and len(tensors) == 1 and len(args) == 1 and \
            set(opts) <= {"axis", "keepdims"}:
        x = b.to_keras(tensors[0], h)
        axis = opts.get("axis")
        axes = list(range(x.rank)) if axis is None else \
            [int(a) % x.rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
        y = b.reduce(_OP_REDUCE[op], x.name, axes, bool(opts.get("keepdims", False)), h)
    elif op == "reshape" and len(tensors) == 1 and set(opts) == {"newshape"}:
        x = b.to_keras(tensors[0], h)
        shape = [-1 if d is None else int(d) for d in opts["newshape"]]
        y = b.op("Reshape", [x.name, b.ints(shape, f"{h}/shape")], h)
    elif op == "transpose" and len(tensors) == 1 and set(opts) <= {"axes"}:
        x = b.to_keras(tensors[0], h)
        perm = opts.get("axes") or list(range(x.rank))[::-1]
        y = b.op("Transpose", [x.name], h, perm=[int(a) % x.rank for a in perm])
    elif op == "expand_dims" and len(tensors) == 1 and set(opts) == {"axis"}:
        x = b.to_keras(tensors[0], h)
        y = b.unsqueeze(x.name, [int(opts["axis"]) % (x.rank + 1)], h)
    elif op == "squeeze" and len(tensors) == 1 and opts.get("axis") is not None:
        x = b.to_keras(tensors[0], h)
        axis = opts["axis"]
        y = b.squeeze(x.name, [int(a) % x.rank for a in (axis if isinstance(
            axis, (list, tuple)) else [axis])], h)
    elif op == "concatenate" and len(args) == 1 and isinstance(args[0], list) and \
            all(isinstance(a, Value) for a in args[0]) and set(opts) <= {"axis"}:
        xs = [b.to_keras(v, h) for v in args[0]]
        y = b.op("Concat", [v.name for v in xs], h, axis=int(opts.get("axis", 0)) % xs[0].rank)
    elif op == "cast" and len(tensors) == 1 and set(opts) == {"dtype"}:
        y = b.op("Cast", [b.to_keras(tensors[0], h).name], h, to=_tensor_type(b.helper, dtype))
    elif op == "getitem" and len(args) == 2 and isinstance(args[0], Value) and not opts:
        y = _getitem(b, b.to_keras(args[0], h), args[1], h)
    else:
        raise _Refusal(f"is the op {op!r} with options {sorted(opts)}, which the ONNX export "
                       "does not write")
    return [Value(y, tuple(outs[0].shape), dtype)]


# ------------------------------------------------------------------------------ the table
def _rules():
    from fastkeras import layers as L
    from fastkeras.layers import convolutional as C
    from fastkeras.layers.base import InputLayer

    return [
        LayerRule((InputLayer, L.Identity, L.ActivityRegularization), _identity),
        LayerRule((L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                   L.GaussianNoise, L.GaussianDropout, L.AlphaDropout), _dropout),
        LayerRule((L.Dense,), _dense),
        LayerRule((L.Activation,), _activation_layer),
        LayerRule((L.ReLU,), _relu_layer),
        LayerRule((L.LeakyReLU,), _leaky_relu_layer),
        LayerRule((L.ELU,), _elu_layer),
        LayerRule((L.Softmax,), _softmax_layer),
        LayerRule((L.PReLU,), _prelu_layer),
        LayerRule((L.BatchNormalization,), _batchnorm),
        LayerRule((L.LayerNormalization,), _layernorm),
        LayerRule((L.Flatten,), _flatten),
        LayerRule((L.Reshape,), _reshape),
        LayerRule((L.Permute,), _permute),
        LayerRule((L.RepeatVector,), _repeat_vector),
        LayerRule((L.Embedding,), _embedding),
        LayerRule((L.Conv1D, L.Conv2D, L.Conv3D, L.Conv1DTranspose, L.Conv2DTranspose,
                   L.Conv3DTranspose), _conv),
        LayerRule((C.DepthwiseConv1D, C.DepthwiseConv2D), _depthwise),
        LayerRule((C.SeparableConv1D, C.SeparableConv2D), _separable),
        LayerRule((C._GlobalPool,), _global_pool, exact=False),
        LayerRule((C._Pool,), _pool, exact=False),
        LayerRule((C._ZeroPadding,), _zero_padding, exact=False),
        LayerRule((C._Cropping,), _cropping, exact=False),
        LayerRule((C._UpSampling,), _upsampling, exact=False),
        LayerRule((L.Add,), _merge("Sum", variadic=True)),
        LayerRule((L.Subtract,), _merge("Sub")),
        LayerRule((L.Multiply,), _merge("Mul")),
        LayerRule((L.Average,), _merge("Sum", variadic=True, mean=True)),
        LayerRule((L.Maximum,), _merge("Max", variadic=True)),
        LayerRule((L.Minimum,), _merge("Min", variadic=True)),
        LayerRule((L.Concatenate,), _concatenate),
        LayerRule((L.Dot,), _dot),
        LayerRule((L.SimpleRNN, L.LSTM, L.GRU), _recurrent),
        LayerRule((L.Bidirectional,), _bidirectional),
        LayerRule((L.MultiHeadAttention,), _multi_head_attention, takes_call=True),
        LayerRule((L.TimeDistributed,), _time_distributed),
        LayerRule((L.Rescaling,), _rescaling),
        LayerRule((L.CenterCrop,), _center_crop),
        LayerRule((L.RandomFlip, L.RandomRotation, L.RandomZoom, L.RandomTranslation,
                   L.RandomContrast, L.RandomBrightness), _random_image_layer),
        LayerRule((L.Normalization,), _normalization),
        LayerRule((L.UnitNormalization,), _unit_normalization),
        LayerRule((L.GroupNormalization,), _group_normalization),
    ]


_RULES = None


def rule_for_class(cls):
    """The LayerRule writing layers of class `cls`, or None."""
    global _RULES
    if _RULES is None:
        _RULES = _rules()
    for rule in _RULES:
        if (cls in rule.types) if rule.exact else issubclass(cls, rule.types):
            return rule
    return None


def _rule_for(layer):
    return rule_for_class(type(layer))


# ------------------------------------------------------------------------------ the walk
def _graph_calls(model):
    """The model's recorded layer calls in an order where each comes after the calls it
    reads (Model's own depth-first walk from the outputs)."""
    from fastkeras.models.model import _walk_graph

    order, _ = _walk_graph(model.outputs)
    return [n for n in order if n["inputs"] is not None]


def _check_graph_model(model):
    from fastkeras.models.model import Model, Sequential

    call = type(model).call
    if call is not Model.call and call is not Sequential.call:
        raise OnnxExportError(f"model {model.name!r} ({type(model).__name__}) defines its own "
                              "call(): the ONNX export writes Sequential and functional "
                              "models (their recorded layer graph)")
    if not model.inputs or not model.outputs:
        raise OnnxExportError(f"model {model.name!r} ({type(model).__name__}) has no recorded "
                              "graph: give it an Input (or an input_shape) first")


def _tensor_args(node):
    from fastkeras.layers.base import KerasTensor, _flatten

    return [v for v in _flatten([list(node["args"]), node["kwargs"]])
            if isinstance(v, KerasTensor)]


def _convert_model(b, model, given):
    """Write `model`'s graph with its input tensors bound to the Values `given` (in the
    order of model.inputs); returns the Values of model.outputs."""
    from fastkeras.layers.base import KerasTensor, _flatten, _map
    from fastkeras.layers.core import OpLayer
    from fastkeras.models.model import Model

    _check_graph_model(model)
    values = {id(kt): v for kt, v in zip(model.inputs, given)}
    for node in _graph_calls(model):
        layer = node["layer"]
        ins = _flatten(node["inputs"])
        outs = _flatten(node["outputs"])
        if node["kwargs"].get("training"):
            raise OnnxExportError(f"{_name_of(layer)} is called with training=True: the "
                                  "file computes inference only")
        rule = None if isinstance(layer, (Model, OpLayer)) else _rule_for(layer)
        if _tensor_args(node) and not (rule is not None and rule.takes_call):
            raise OnnxExportError(f"{_name_of(layer)} is called with tensors besides its "
                                  "inputs (a mask or an initial state), which the ONNX "
                                  "export does not write")
        if isinstance(layer, OpLayer):
            args = _map(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t,
                        list(node["inputs"]))
            try:
                ys = _op_layer(b, layer, args, outs)
            except _Refusal as exc:
                raise OnnxExportError(f"{_name_of(layer)} {exc}") from None
            for kt, v in zip(outs, ys):
                values[id(kt)] = v
            continue
        xs = [values[id(t)] for t in ins]
        if isinstance(layer, Model):
            ys = _convert_model(b, layer, xs)
        else:
            if rule is None:
                raise OnnxExportError(f"{_name_of(layer)} has no ONNX conversion")
            xs = [_autocast(b, layer, v) for v in xs]
            extra = ()
            if rule.takes_call:
                def bound(t):
                    return _autocast(b, layer, values[id(t)]) if isinstance(t, KerasTensor) \
                        else t
                extra = (_map(bound, list(node["args"])), _map(bound, dict(node["kwargs"])))
            try:
                ys = rule.convert(b, layer, xs, outs, *extra)
            except _Refusal as exc:
                raise OnnxExportError(f"{_name_of(layer)} {exc}") from None
        if len(ys) != len(outs):
            raise OnnxExportError(f"{_name_of(layer)} returns {len(outs)} tensors, the ONNX "
                                  f"export wrote {len(ys)}")
        for kt, v in zip(outs, ys):
            values[id(kt)] = v
    return [values[id(t)] for t in model.outputs]


def _autocast(b, layer, v):
    """A float input cast to the layer's compute dtype, as a layer call casts it (Keras'
    autocast); other inputs as they are."""
    want = np.dtype(layer.compute_dtype)
    if not getattr(layer, "autocast", True) or v.dtype.kind != "f" or v.dtype == want:
        return v
    name = b.op("Cast", [v.name], f"{layer.name}/autocast", to=_tensor_type(b.helper, want))
    return Value(name, v.shape, want, v.layout)


def _tensor_type(helper, dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _value_info(helper, name, kt, batch_name, dtype):
    dims = [batch_name] + [d if d is not None else f"{name}_dim{i + 1}"
                           for i, d in enumerate(tuple(kt.shape)[1:])]
    return helper.make_tensor_value_info(name, _tensor_type(helper, dtype), dims)


def to_onnx(model, opset_version=None):
    """The model's ONNX ModelProto (checked with onnx.checker); OnnxExportError names the
    first layer it cannot write."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'fastkeras[onnx]' "
                          "(or pip install onnx)") from None
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"opset_version must be one of {list(SUPPORTED_OPSETS)}, got "
                         f"{opset_version!r}")
    _check_graph_model(model)
    input_names = [t._keras_history[0].name for t in model.inputs]
    output_names = list(model.output_names)
    if len(set(input_names)) != len(input_names):
        raise OnnxExportError(f"model {model.name!r}: its Input layers' names repeat "
                              f"({input_names})")
    b = _Builder(opset, reserved=input_names + output_names + ["batch"])
    given = [Value(n, tuple(t.shape), np.dtype(t.dtype)) for n, t in zip(input_names,
                                                                       model.inputs)]
    results = _convert_model(b, model, given)
    for name, v in zip(output_names, results):
        v = b.to_keras(v, name)
        b.nodes.append(helper.make_node("Identity", [v.name], [name],
                                        name=b.fresh(f"{name}/output")))
    graph = helper.make_graph(
        b.nodes, model.name,
        [_value_info(helper, n, t, "batch", t.dtype) for n, t in zip(input_names,
                                                                     model.inputs)],
        [_value_info(helper, n, t, "batch", v.dtype) for n, t, v in zip(output_names,
                                                                       model.outputs, results)],
        initializer=b.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="fastkeras",
                              producer_version=_version())
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _version():
    from fastkeras import __version__

    return str(__version__)


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None,
                **kwargs):
    """Write `model` to `filepath` as an ONNX file (``Model.export(..., format="onnx")``).
    Nothing is written when a layer cannot be exported."""
    if kwargs:
        raise ValueError(f"export(format='onnx') got unexpected arguments {sorted(kwargs)}; "
                         "it takes verbose, input_signature (None) and opset_version")
    if input_signature is not None:
        raise ValueError("export(format='onnx'): input_signature must be None: the file takes "
                         "the model's own Input shapes and dtypes, with a dynamic batch axis")
    proto = to_onnx(model, opset_version)
    from fastkeras.saving.atomic import atomic_file

    with atomic_file(filepath) as fh:
        fh.write(proto.SerializeToString())
    if verbose is None or verbose:
        ins = ", ".join(i.name for i in proto.graph.input)
        outs = ", ".join(o.name for o in proto.graph.output)
        print(f"Saved ONNX model to {filepath!s} (opset {proto.opset_import[0].version}; "
              f"inputs: {ins}; outputs: {outs})")
