"""Convolution, pooling and spatial reshaping layers on the C conv/pool kernels."""
import numpy as np

from fastkeras import activations
from fastkeras import ops
from fastkeras.layers.base import InputSpec, Layer
from fastkeras.layers.core import set_weight_options, weight_config
from fastkeras.ops import convolution as _conv

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
    "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
]


def _fmt(data_format):
    return _conv._data_format(data_format)


def _channel_axis(fmt):
    return -1 if fmt == "channels_last" else 1


def _spatial_config(layer):
    """The config entries every convolution layer shares."""
    return dict(kernel_size=layer.kernel_size, strides=layer.strides, padding=layer.padding,
                data_format=layer.data_format, dilation_rate=layer.dilation_rate,
                activation=activations.serialize(layer.activation), use_bias=layer.use_bias)


class _Conv(Layer):
    rank = 2
    transpose = False

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, output_padding=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{name}: `filters` must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _conv._tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _conv._tuple(strides, self.rank, "strides")
        self.dilation_rate = _conv._tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = _conv._padding(padding, self.rank, self.rank == 1 and not self.transpose)
        self.data_format = _fmt(data_format)
        self.groups = int(groups)
        if self.groups < 1 or self.filters % self.groups:
            raise ValueError(f"{name}: `filters` ({filters}) must be divisible by `groups` "
                             f"({groups})")
        self.output_padding = None if output_padding is None else _conv._tuple(
            output_padding, self.rank, "output_padding", minimum=0)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "kernel", "bias")
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    def build(self, input_shape):
        ch = input_shape[_channel_axis(self.data_format)] if len(input_shape) >= self.rank + 2 \
            else None
        if ch is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must have rank >= "
                             f"{self.rank + 2} with a known channel dimension, got input shape "
                             f"{tuple(input_shape)}")
        if ch % self.groups:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the {ch} input channels are "
                             f"not divisible by groups={self.groups}")
        shape = self.kernel_size + ((self.filters, ch) if self.transpose
                                    else (ch // self.groups, self.filters))
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=self.rank + 2,
                                    axes={_channel_axis(self.data_format): ch})
        self.built = True

    def call(self, inputs):
        if self.transpose:
            y = _conv.conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                     self.output_padding, self.data_format, self.dilation_rate,
                                     bias=self.bias if self.data_format == "channels_last"
                                     else None)
        else:
            y = _conv.conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                           self.dilation_rate,
                           bias=self.bias if self.data_format == "channels_last" else None)
        if self.bias is not None and self.data_format == "channels_first":
            y = ops.add(y, ops.reshape(self.bias, (self.filters,) + (1,) * self.rank))
        return self.activation(y) if self.activation is not activations.linear else y

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        nd = self.rank
        cl = self.data_format == "channels_last"
        spatial = input_shape[-nd - 1:-1] if cl else input_shape[-nd:]
        out = []
        for i, (n, k, s, d) in enumerate(zip(spatial, self.kernel_size, self.strides,
                                             self.dilation_rate)):
            if n is None:
                out.append(None)
                continue
            eff = (k - 1) * d + 1
            if self.transpose:
                if self.output_padding is None:
                    o = n * s + max(eff - s, 0) if self.padding == "valid" else n * s
                else:
                    pad = eff // 2 if self.padding == "same" else 0
                    o = (n - 1) * s + eff - 2 * pad + self.output_padding[i]
            else:
                o = _conv.conv_output_shape((n,), (k,), (s,), self.padding, (d,))[0][0]
                if o < 1:
                    raise ValueError(
                        f"{type(self).__name__} {self.name!r}: the kernel (size "
                        f"{self.kernel_size}, dilation {self.dilation_rate}) is larger than "
                        f"the input (spatial size {tuple(spatial)})")
            out.append(o)
        batch = input_shape[:len(input_shape) - nd - 1]
        return batch + tuple(out) + (self.filters,) if cl else batch + (self.filters,) + \
            tuple(out)

    def get_config(self):
        c = super().get_config()
        c.update(filters=self.filters, **_spatial_config(self),
                 **weight_config(self, "kernel", "bias"))
        c.setdefault("activity_regularizer", None)  # Keras writes the key always
        if self.transpose:
            c["output_padding"] = self.output_padding
        else:
            c["groups"] = self.groups
        return c


class Conv1D(_Conv):
    """1-D convolution (temporal); padding "valid", "same" or "causal"."""
    rank = 1


class Conv2D(_Conv):
    """2-D convolution over images."""
    rank = 2


class Conv3D(_Conv):
    """3-D convolution over volumes."""
    rank = 3


class _ConvTranspose(_Conv):
    transpose = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, **kwargs)


class Conv1DTranspose(_ConvTranspose):
    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input)."""
    rank = 2


class Conv3DTranspose(_ConvTranspose):
    rank = 3


class _DepthwiseConv(Layer):
    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.kernel_size = _conv._tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _conv._tuple(strides, self.rank, "strides")
        self.dilation_rate = _conv._tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = _conv._padding(padding, self.rank, self.rank == 1)
        self.data_format = _fmt(data_format)
        self.depth_multiplier = int(depth_multiplier)
        if self.depth_multiplier < 1:
            raise ValueError(f"{type(self).__name__}: `depth_multiplier` must be >= 1, got "
                             f"{depth_multiplier!r}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "depthwise", "bias")
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    def build(self, input_shape):
        ch = input_shape[_channel_axis(self.data_format)]
        if ch is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel dimension of "
                             f"the inputs must be known, got {tuple(input_shape)}")
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (ch, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="kernel")
        self.bias = self.add_weight(shape=(ch * self.depth_multiplier,),
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.built = True

    def call(self, inputs):
        y = _conv.depthwise_conv(inputs, self.depthwise_kernel, self.strides, self.padding,
                                 self.data_format, self.dilation_rate)
        if self.bias is not None:
            b = self.bias if self.data_format == "channels_last" else ops.reshape(
                self.bias, (-1,) + (1,) * self.rank)
            y = ops.add(y, b)
        return self.activation(y) if self.activation is not activations.linear else y

    def compute_output_shape(self, input_shape):
        # given, so that a symbolic call does not run the convolution on dummy batches
        # (an EfficientNetB7 has 55 of these layers)
        input_shape = tuple(input_shape)
        nd = self.rank
        cl = self.data_format == "channels_last"
        spatial = input_shape[-nd - 1:-1] if cl else input_shape[-nd:]
        out = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if n is None:
                out.append(None)
                continue
            o = _conv.conv_output_shape((n,), (k,), (s,), self.padding, (d,))[0][0]
            if o < 1:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: the kernel (size "
                    f"{self.kernel_size}, dilation {self.dilation_rate}) is larger than "
                    f"the input (spatial size {tuple(spatial)})")
            out.append(o)
        ch = input_shape[_channel_axis(self.data_format)]
        ch = None if ch is None else ch * self.depth_multiplier
        batch = input_shape[:len(input_shape) - nd - 1]
        return batch + tuple(out) + (ch,) if cl else batch + (ch,) + tuple(out)

    def get_config(self):
        c = super().get_config()
        c.update(depth_multiplier=self.depth_multiplier, **_spatial_config(self),
                 **weight_config(self, "depthwise", "bias"))
        c.setdefault("activity_regularizer", None)  # Keras writes the key always
        return c


class DepthwiseConv1D(_DepthwiseConv):
    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Per-channel 2-D convolution; kernel (kh, kw, channels, depth_multiplier)."""
    rank = 2


class _SeparableConv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = int(filters)
        self.kernel_size = _conv._tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _conv._tuple(strides, self.rank, "strides")
        self.dilation_rate = _conv._tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = _conv._padding(padding, self.rank, self.rank == 1)
        self.data_format = _fmt(data_format)
        self.depth_multiplier = int(depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "depthwise", "pointwise", "bias")

    def build(self, input_shape):
        ch = input_shape[_channel_axis(self.data_format)]
        if ch is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel dimension of "
                             f"the inputs must be known, got {tuple(input_shape)}")
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (ch, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (ch * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.built = True

    def call(self, inputs):
        y = _conv.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                 self.strides, self.padding, self.data_format, self.dilation_rate)
        if self.bias is not None:
            b = self.bias if self.data_format == "channels_last" else ops.reshape(
                self.bias, (-1,) + (1,) * self.rank)
            y = ops.add(y, b)
        return self.activation(y) if self.activation is not activations.linear else y


    def get_config(self):
        c = super().get_config()
        c.update(filters=self.filters, depth_multiplier=self.depth_multiplier,
                 **_spatial_config(self), **weight_config(self, "depthwise", "pointwise", "bias"))
        c.setdefault("activity_regularizer", None)  # Keras writes the key always
        return c


class SeparableConv1D(_SeparableConv):
    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise 2-D convolution followed by a pointwise (1x1) one."""
    rank = 2


# ------------------------------------------------------------------------------ pooling
class _Pool(Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _conv._tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else _conv._tuple(strides, self.rank,
                                                                            "strides")
        self.padding = _conv._padding(padding, self.rank, False)
        self.data_format = _fmt(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        fn = _conv.max_pool if self.kind == "max" else _conv.average_pool
        return fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        cl = self.data_format == "channels_last"
        spatial = input_shape[1:-1] if cl else input_shape[2:]
        out = []
        for n, k, s in zip(spatial, self.pool_size, self.strides):
            if n is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-n // s))
            else:
                out.append((n - k) // s + 1 if n >= k else 0)
        ch = input_shape[-1] if cl else input_shape[1]
        return (input_shape[0],) + tuple(out) + (ch,) if cl else \
            (input_shape[0], ch) + tuple(out)

    def get_config(self):
        c = super().get_config()
        c.update(pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                 data_format=self.data_format)
        return c


def _pool_class(name, rank, kind, default):
    def __init__(self, pool_size=default, strides=None, padding="valid", data_format=None,
                 **kwargs):
        _Pool.__init__(self, pool_size, strides, padding, data_format, **kwargs)

    return type(name, (_Pool,), {"rank": rank, "kind": kind, "__init__": __init__,
                                 "__doc__": f"{kind.capitalize()} pooling over {rank}-D windows."})


MaxPooling1D = _pool_class("MaxPooling1D", 1, "max", 2)
MaxPooling2D = _pool_class("MaxPooling2D", 2, "max", (2, 2))
MaxPooling3D = _pool_class("MaxPooling3D", 3, "max", (2, 2, 2))
AveragePooling1D = _pool_class("AveragePooling1D", 1, "average", 2)
AveragePooling2D = _pool_class("AveragePooling2D", 2, "average", (2, 2))
AveragePooling3D = _pool_class("AveragePooling3D", 3, "average", (2, 2, 2))


class _GlobalPool(Layer):
    rank = 2
    kind = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _fmt(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs, mask=None):
        axes = tuple(range(1, self.rank + 1)) if self.data_format == "channels_last" else \
            tuple(range(2, self.rank + 2))
        if mask is not None and self.kind == "average" and self.rank == 1:
            # the mean over the unmasked steps only (Keras' GlobalAveragePooling1D)
            m = np.asarray(mask, dtype=np.dtype(inputs.dtype))
            m = m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]
            total = ops.sum(ops.multiply(inputs, m), axis=axes, keepdims=self.keepdims)
            count = np.maximum(m.sum(axis=axes, keepdims=self.keepdims), 1)
            return ops.divide(total, count)
        fn = ops.mean if self.kind == "average" else ops.max
        return fn(inputs, axis=axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        cl = self.data_format == "channels_last"
        ch = input_shape[-1] if cl else input_shape[1]
        if self.keepdims:
            ones = (1,) * self.rank
            return (input_shape[0],) + ones + (ch,) if cl else (input_shape[0], ch) + ones
        return (input_shape[0], ch)

    def get_config(self):
        c = super().get_config()
        c.update(data_format=self.data_format, keepdims=self.keepdims)
        return c


def _global_class(name, rank, kind):
    return type(name, (_GlobalPool,), {"rank": rank, "kind": kind,
                                       "__doc__": f"Global {kind} pooling over {rank}-D inputs."})


GlobalAveragePooling1D = _global_class("GlobalAveragePooling1D", 1, "average")
GlobalAveragePooling2D = _global_class("GlobalAveragePooling2D", 2, "average")
GlobalAveragePooling3D = _global_class("GlobalAveragePooling3D", 3, "average")
GlobalMaxPooling1D = _global_class("GlobalMaxPooling1D", 1, "max")
GlobalMaxPooling2D = _global_class("GlobalMaxPooling2D", 2, "max")
GlobalMaxPooling3D = _global_class("GlobalMaxPooling3D", 3, "max")


# ------------------------------------------------------------------------------ padding etc.
def _pairs(value, rank, name):
    """int, (a, b, ...) symmetric per dim, or ((lo, hi), ...) -> ((lo, hi),) * rank."""
    if isinstance(value, (int, np.integer)):
        out = ((int(value), int(value)),) * rank
    else:
        value = tuple(value)
        if rank == 1 and len(value) == 2 and all(isinstance(v, (int, np.integer))
                                                 for v in value):
            out = ((int(value[0]), int(value[1])),)
        elif len(value) == rank and all(isinstance(v, (int, np.integer)) for v in value):
            out = tuple((int(v), int(v)) for v in value)
        elif len(value) == rank:
            out = tuple((int(a), int(b)) for a, b in value)
        else:
            raise ValueError(f"`{name}` must be an int, a tuple of {rank} ints or a tuple of "
                             f"{rank} pairs of ints, got {value!r}")
    if any(a < 0 or b < 0 for a, b in out):
        raise ValueError(f"`{name}` values must be >= 0, got {value!r}")
    return out


class _ZeroPadding(Layer):
    rank = 2

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding")
        self.data_format = _fmt(data_format) if self.rank > 1 else "channels_last"

    def call(self, inputs):
        spatial = list(self.padding)
        widths = [(0, 0)] + spatial + [(0, 0)] if self.data_format == "channels_last" else \
            [(0, 0), (0, 0)] + spatial
        return ops.pad(inputs, widths)

    def get_config(self):
        c = super().get_config()
        c.update(padding=self.padding[0] if self.rank == 1 else self.padding,
                 data_format=self.data_format)
        return c


class ZeroPadding1D(_ZeroPadding):
    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ZeroPadding1D pads axis 1 of (batch, steps, features) inputs: "
                             f"`data_format` must be 'channels_last', got {data_format!r}")
        super().__init__(padding, None, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(Layer):
    rank = 2

    def __init__(self, cropping=0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping")
        self.data_format = _fmt(data_format) if self.rank > 1 else "channels_last"

    def call(self, inputs):
        first = 1 if self.data_format == "channels_last" else 2
        key = [slice(None)] * inputs.ndim
        for i, (lo, hi) in enumerate(self.cropping):
            n = inputs.shape[first + i]
            if lo + hi >= n:
                raise ValueError(f"{type(self).__name__} {self.name!r}: cropping "
                                 f"{self.cropping} removes all of an input of shape "
                                 f"{inputs.shape}")
            key[first + i] = slice(lo, n - hi)
        return inputs[tuple(key)]

    def get_config(self):
        c = super().get_config()
        if self.rank == 1:
            c["cropping"] = self.cropping[0]
        else:
            c.update(cropping=self.cropping, data_format=self.data_format)
        return c


class Cropping1D(_Cropping):
    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


def _bilinear_matrix(n, scale, dtype):
    """(n * scale, n) interpolation weights with half-pixel centres (tf.image.resize)."""
    m = n * scale
    src = (np.arange(m) + 0.5) / scale - 0.5
    src = np.clip(src, 0, None)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    w = np.zeros((m, n), dtype)
    np.add.at(w, (np.arange(m), lo), 1 - frac)
    np.add.at(w, (np.arange(m), hi), frac)
    return w


class _UpSampling(Layer):
    rank = 2

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _conv._tuple(size, self.rank, "size")
        self.data_format = _fmt(data_format) if self.rank > 1 else "channels_last"
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{type(self).__name__}: `interpolation` must be 'nearest' or "
                             f"'bilinear', got {interpolation!r}")
        if interpolation == "bilinear" and self.rank != 2:
            raise ValueError(f"{type(self).__name__}: only 'nearest' interpolation is "
                             "available for this rank")
        self.interpolation = interpolation

    def call(self, inputs):
        first = 1 if self.data_format == "channels_last" else 2
        y = inputs
        if self.interpolation == "nearest":
            for i, s in enumerate(self.size):
                if s != 1:
                    y = ops.repeat(y, s, axis=first + i)
            return y
        dt = np.dtype(y.dtype)
        ah = _bilinear_matrix(y.shape[first], self.size[0], dt)
        aw = _bilinear_matrix(y.shape[first + 1], self.size[1], dt)
        spec = "Hh,Ww,bhwc->bHWc" if first == 1 else "Hh,Ww,bchw->bcHW"
        return ops.einsum(spec, ah, aw, y)

    def get_config(self):
        c = super().get_config()
        if self.rank == 1:
            c["size"] = self.size[0]
        else:
            c.update(size=self.size, data_format=self.data_format)
        if self.rank == 2:
            c["interpolation"] = self.interpolation
        return c


class UpSampling1D(_UpSampling):
    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, None, "nearest", **kwargs)


class UpSampling2D(_UpSampling):
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, "nearest", **kwargs)
