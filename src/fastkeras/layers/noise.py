"""Regularization layers, as Keras 3.15 has them: noise in training (GaussianNoise,
GaussianDropout, AlphaDropout), dropout of whole feature maps (SpatialDropout1D/2D/3D)
and ActivityRegularization. At inference (training False) each is the identity. Noise
comes from fastkeras.random with a SeedGenerator per layer, so a seed makes the draws
repeatable (the draws are not TensorFlow's)."""
import math

import numpy as np

from fastkeras import ops, regularizers
from fastkeras import random as _random
from fastkeras.layers.base import InputSpec, Layer
from fastkeras.layers.convolutional import _fmt
from fastkeras.ops.tensor import as_array

__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D", "ActivityRegularization"]


def _unit_rate(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float "
                         f"value between 0 and 1. Received: {name}={value}")
    return value


class _Noise(Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = _random.SeedGenerator(seed)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _unit_rate(stddev, "stddev")

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            x = as_array(inputs)
            return ops.add(inputs, _random.normal(x.shape, 0.0, self.stddev, dtype=x.dtype,
                                                  seed=self.seed_generator))
        return inputs

    def get_config(self):
        c = super().get_config()
        c.update(stddev=self.stddev, seed=self.seed)
        return c


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and stddev sqrt(rate / (1 - rate))."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _unit_rate(rate, "rate")

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            x = as_array(inputs)
            std = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else math.inf
            return ops.multiply(inputs, _random.normal(x.shape, 1.0, std, dtype=x.dtype,
                                                       seed=self.seed_generator))
        return inputs

    def get_config(self):
        c = super().get_config()
        c.update(rate=self.rate, seed=self.seed)
        return c


_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of SELU activations: dropped entries are
    set to -alpha * scale, then a * x + b restores the moments."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _unit_rate(rate, "rate")
        self.noise_shape = noise_shape

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        x = as_array(inputs)
        shape = x.shape if self.noise_shape is None else tuple(
            x.shape[i] if d is None else int(d) for i, d in enumerate(self.noise_shape))
        u = _random.uniform(shape, seed=self.seed_generator).numpy()
        kept = (u >= self.rate).astype(x.dtype)
        alpha_p = -_ALPHA * _SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        kept_b = np.broadcast_to(kept, x.shape)
        y = ops.add(ops.multiply(inputs, kept_b), (alpha_p * (1 - kept_b)).astype(x.dtype))
        return ops.add(ops.multiply(y, x.dtype.type(a)), x.dtype.type(b))

    def get_config(self):
        c = super().get_config()
        c.update(rate=self.rate, seed=self.seed, noise_shape=self.noise_shape)
        return c


class _SpatialDropout(_Noise):
    _rank = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(seed=seed, name=name, dtype=dtype, **kwargs)
        self.rate = _unit_rate(rate, "rate")
        self.data_format = _fmt(data_format) if self._rank > 1 else None
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _noise_shape(self, shape):
        ones = (1,) * self._rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return _random.dropout(inputs, self.rate,
                                   noise_shape=self._noise_shape(as_array(inputs).shape),
                                   seed=self.seed_generator)
        return inputs

    def get_config(self):
        # Keras writes no `trainable` here; fastkeras keeps it (from_config takes both)
        c = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype,
             "trainable": self.trainable}
        if self.data_format is not None:
            c["data_format"] = self.data_format
        return c


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs in training."""
    _rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole 2D feature maps in training."""
    _rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole 3D feature maps in training."""
    _rank = 3


class ActivityRegularization(Layer):
    """The identity, adding l1 * sum(|x|) + l2 * sum(x^2) of its output (averaged over the
    batch) to the losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.pop("activity_regularizer", None)
        c.update(l1=self.l1, l2=self.l2)
        return c
