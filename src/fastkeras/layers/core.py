"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Embedding (tf.keras names, arguments and defaults)."""
import math

import numpy as np

from fastkeras import activations, constraints, initializers, regularizers
from fastkeras import ops
from fastkeras import random as _random
from fastkeras.layers.base import InputSpec, KerasTensor, Layer, _flatten
from fastkeras.ops import tape as _tape
from fastkeras.ops.products import matmul_array
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
           "Lambda", "Embedding", "Identity", "Masking"]


_FAMILIES = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}


def config_of(obj, *names):
    """{name: serialized value} of a layer's initializer / regularizer / constraint
    attributes (the family is the name's last word)."""
    out = {}
    for n in names:
        v = getattr(obj, n)
        out[n] = None if v is None else _FAMILIES[n.rsplit("_", 1)[1]].serialize(v)
    return out


def set_weight_options(layer, args, *prefixes):
    """layer.<prefix>_initializer / _regularizer / _constraint from the constructor's
    arguments (args: its locals()), resolved by name or object; weight_config's inverse."""
    for p in prefixes:
        for kind, family in _FAMILIES.items():
            setattr(layer, f"{p}_{kind}", family.get(args[f"{p}_{kind}"]))


def weight_config(obj, *prefixes):
    """config_of for <prefix>_initializer / _regularizer / _constraint of each prefix."""
    return config_of(obj, *[f"{p}_{k}" for p in prefixes for k in _FAMILIES])


def _no_quantization(layer, quantization_config):
    """Keras 3.15's Dense / Embedding take a ``quantization_config`` (and write it,
    None, in their configs); fastkeras has no quantized kernels, so only None is taken."""
    if quantization_config is not None:
        raise ValueError(f"{type(layer).__name__}: `quantization_config` must be None "
                         f"(fastkeras has no quantized layers), got {quantization_config!r}")
    return None


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias), on the last axis of inputs."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.quantization_config = _no_quantization(self, quantization_config)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: `units` must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "kernel", "bias")
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        last = input_shape[-1] if len(input_shape) else None
        if last is None:
            raise ValueError(f"Dense layer {self.name!r}: the last dimension of the inputs must "
                             f"be known, got input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(last, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last})
        self.built = True

    def call(self, inputs):
        if not _tape.is_recording():  # inference: one product, the bias added in place
            v = matmul_array(inputs._value if isinstance(inputs, Tensor) else as_array(inputs),
                             self.kernel._value, f"Dense layer {self.name!r}")
            if self.bias is not None:
                v += self.bias._value
            y = Tensor(v)
        else:
            y = ops.matmul(inputs, self.kernel)
            if self.bias is not None:
                y = ops.add(y, self.bias)
        return self.activation(y) if self.activation is not activations.linear else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        c = super().get_config()
        c.update(units=self.units, activation=activations.serialize(self.activation),
                 use_bias=self.use_bias, **weight_config(self, "kernel", "bias"),
                 quantization_config=None)
        return c


class Activation(Layer):
    """Applies an activation function (by name or callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c["activation"] = activations.serialize(self.activation)
        return c


class Identity(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs in training (scaling the rest by
    1 / (1 - rate)); the identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) <= 1:
            raise ValueError(f"Dropout: `rate` must be in [0, 1], got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        if self.rate > 0:  # Keras 3: its state is in layer.variables (not in the weights)
            self.seed_generator = _random.SeedGenerator(seed)
        self.supports_masking = True

    @property
    def _gen(self):
        """The numpy Generator of the next draw: keyed by the seed generator's state,
        which it advances."""
        return _random._generator(self.seed_generator)

    def keep_mask(self, shape, dtype):
        """The training-time multiplier of inputs of `shape`: 1 / (1 - rate) where a value is
        kept, 0 where it is dropped (noise_shape broadcast; zeros without a draw at rate 1).
        The compiled plans draw it here too, so both paths drop the same values."""
        dtype = np.dtype(dtype)
        if self.rate == 1:
            return np.zeros((), dtype)
        shape = tuple(shape) if self.noise_shape is None else tuple(
            shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        keep = (self._gen.random(shape) >= self.rate).astype(dtype)
        return keep / dtype.type(1 - self.rate)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        x = as_array(inputs)
        return ops.multiply(inputs, self.keep_mask(x.shape, x.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return c


class Flatten(Layer):
    """(batch, ...) -> (batch, prod(...)); channels_first inputs are moved to channels
    last first, as tf.keras does."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = ops.transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
        return ops.reshape(x, (x.shape[0], -1) if x.ndim > 1 else (x.shape[0], 1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], n if rest else 1)

    def get_config(self):
        c = super().get_config()
        c["data_format"] = self.data_format
        return c


class Reshape(Layer):
    """(batch, ...) -> (batch,) + target_shape; one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(
                d < -1 or d == 0 for d in self.target_shape):
            raise ValueError(f"Reshape: `target_shape` may hold one -1 and positive sizes, got "
                             f"{target_shape!r}")

    def _resolve(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = int(math.prod(rest))
        known = int(math.prod(d for d in self.target_shape if d != -1))
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(f"Reshape {self.name!r}: cannot reshape an input of shape "
                                 f"{tuple(input_shape)} to {self.target_shape}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(f"Reshape {self.name!r}: total size of the new array must be "
                             f"unchanged, input shape {tuple(input_shape)}, target shape "
                             f"{self.target_shape}")
        return self.target_shape

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        c = super().get_config()
        c["target_shape"] = list(self.target_shape)
        return c


class Permute(Layer):
    """Permute the non-batch axes; dims are 1-based (Permute((2, 1)))."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: `dims` must be a permutation of 1..{len(self.dims)}, "
                             f"got {dims!r}")

    def call(self, inputs):
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute {self.name!r}: dims {self.dims} need inputs of rank "
                             f"{len(self.dims) + 1}, got shape {inputs.shape}")
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        c = super().get_config()
        c["dims"] = list(self.dims)
        return c


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        c = super().get_config()
        c["n"] = self.n
        return c


class Lambda(Layer):
    """Wraps a function of the inputs as a layer (keras.layers.Lambda)."""
    _string_inputs = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable, got {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        return (input_shape[0],) + tuple(self._output_shape)

    def get_config(self):
        c = super().get_config()
        c.update(function=getattr(self.function, "__name__", repr(self.function)),
                 arguments=self.arguments)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The function is looked up by name in custom_objects (never read from a file)."""
        config = dict(config)
        fn = config.pop("function")
        if not callable(fn):
            fn = (custom_objects or {}).get(fn)
            if fn is None:
                raise ValueError(f"Lambda layer {config.get('name')!r}: pass its function "
                                 f"{config.get('function', fn)!r} in custom_objects")
        config.pop("output_shape_type", None)
        return cls(fn, **{k: v for k, v in config.items() if k in (
            "output_shape", "arguments", "name", "trainable", "dtype")})


class OpLayer(Layer):
    """One ``fastkeras.ops`` function as a graph node: what Keras 3 records when
    ``keras.ops`` functions or Python operators are applied to symbolic tensors
    (``Greater``, ``GetItem``, ``Mean``... with module ``keras.src.ops.*``), e.g.
    ``inputs > 0.5`` or the masks Keras computes between layers. The call's arguments
    (tensors and constants) come as one list; the op's own options (axis, keepdims...)
    are the config. Only functions of fastkeras.ops can be named, so a file can select
    an op but never supply code. Not a layer of the model for Keras: ``model.layers``
    leaves it out, ``model.operations`` has it."""

    _is_op_node = True

    def __init__(self, op, module="keras.src.ops.numpy", class_name=None, arguments=None,
                 **kwargs):
        from fastkeras import ops as _ops
        from fastkeras.ops import symbolic

        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        fn = getattr(_ops, op, None) if isinstance(op, str) else None
        if not isinstance(op, str) or op.startswith("_") or not callable(fn) or \
                isinstance(fn, type):
            raise ValueError(f"Unknown op {op!r}: fastkeras.ops has no such function")
        self.op, self.module = op, module
        self.fn = getattr(fn, "__wrapped__", fn)
        self.class_name = class_name or "".join(w.title() for w in op.split("_"))
        bad, kept = symbolic.unsupported_options(self.fn, dict(arguments or {}))
        if bad:
            raise ValueError(f"Op {self.class_name!r}: fastkeras.ops.{op} does not support "
                             f"the option(s) {bad}")
        self.arguments = kept
        self.built = True

    def __call__(self, inputs, **kwargs):
        if any(isinstance(t, KerasTensor) for t in _flatten([inputs, kwargs])):
            return self._symbolic_call((inputs,), kwargs)
        return self.call(inputs, **kwargs)

    def call(self, inputs, **kwargs):
        from fastkeras.ops import symbolic

        inputs = list(inputs)
        if self.op == "getitem" and len(inputs) > 1 and isinstance(inputs[1], list):
            inputs[1] = tuple(inputs[1])  # a key read from JSON (Keras' GetItem does so)
        with np.errstate(all="ignore"):  # the dummy values of a symbolic call divide by 0
            return symbolic.apply(self.fn, inputs, {**self.arguments, **kwargs})

    def get_config(self):  # Keras' form: the name and the op's options
        return {"name": self.name, **self.arguments}


class Embedding(Layer):
    """Integer indices -> rows of an (input_dim, output_dim) matrix."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 input_length=None, activity_regularizer=None, quantization_config=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.quantization_config = _no_quantization(self, quantization_config)
        if int(input_dim) < 1 or int(output_dim) < 1:
            raise ValueError(f"Embedding: `input_dim` and `output_dim` must be positive, got "
                             f"{input_dim!r} and {output_dim!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(
            "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.autocast = False

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          name="embeddings")
        self.built = True

    def call(self, inputs):
        idx = as_array(inputs)
        if idx.dtype.kind not in "iu":
            if idx.dtype.kind == "f" and np.all(idx == np.round(idx)):
                idx = idx.astype(np.int64)
            else:
                raise TypeError(f"Embedding {self.name!r}: inputs must be integer indices, "
                                f"got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            raise ValueError(f"Embedding {self.name!r}: indices must be in [0, {self.input_dim}),"
                             f" got values in [{idx.min()}, {idx.max()}]")
        return ops.take(self.embeddings, idx, axis=0)

    def compute_mask(self, inputs, mask=None):
        return None if not self.mask_zero else as_array(inputs) != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    @property
    def _output_dtypes(self):
        return [np.dtype(self.dtype)]

    def get_config(self):
        c = super().get_config()
        c.update(input_dim=self.input_dim, output_dim=self.output_dim,
                 mask_zero=self.mask_zero, **weight_config(self, "embeddings"),
                 activity_regularizer=None if self.activity_regularizer is None else
                 regularizers.serialize(self.activity_regularizer),
                 quantization_config=None)
        return c


class Masking(Layer):
    """Masks time steps whose features all equal ``mask_value``: they are zeroed and the
    mask (batch, steps) travels to the layers that use it (RNNs, GlobalAveragePooling1D)."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return np.any(as_array(inputs) != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = np.any(as_array(inputs) != self.mask_value, axis=-1, keepdims=True)
        return ops.multiply(inputs, keep.astype(np.dtype(inputs.dtype)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c["mask_value"] = self.mask_value
        return c
