"""BatchNormalization and LayerNormalization (tf.keras / Keras 3 semantics)."""
import numpy as np

from fastkeras import initializers
from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.layers.core import config_of, set_weight_options, weight_config
from fastkeras.ops import normalization_ops as _bn
from fastkeras.ops.tensor import as_array

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axes(axis, ndim, name):
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: `axis` {axis!r} is out of range for inputs of rank {ndim}")
        out.append(int(a) % ndim)
    return sorted(out)


class BatchNormalization(Layer):
    """Normalise with the batch's statistics in training (updating moving averages
    with ``momentum``), with the moving averages at inference."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise ValueError("BatchNormalization: batch renormalization (renorm=True) is not "
                             "available in fastkeras")
        self.axis = axis
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        # one process, one device: synchronized statistics are the statistics (Keras'
        # flag matters under a distribution strategy only); kept for the config
        self.synchronized = bool(synchronized)
        self.renorm, self.renorm_clipping = False, renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        set_weight_options(self, locals(), "beta", "gamma")
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        nd = len(input_shape)
        self._ax = _axes(self.axis, nd, f"BatchNormalization {self.name!r}")
        shape = tuple(input_shape[a] for a in self._ax)
        if any(d is None for d in shape):
            raise ValueError(f"BatchNormalization {self.name!r}: the normalised axis must have "
                             f"a known size, got input shape {tuple(input_shape)}")
        self._reduce = tuple(i for i in range(nd) if i not in self._ax)
        self._bshape = tuple(input_shape[i] if i in self._ax else 1 for i in range(nd))
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, name="gamma") \
            if self.scale else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, name="beta") \
            if self.center else None
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.built = True

    def call(self, inputs, training=False):
        if inputs.ndim != len(self._bshape):
            raise ValueError(f"BatchNormalization {self.name!r}: built for inputs of rank "
                             f"{len(self._bshape)}, got shape {inputs.shape}")
        if training and self.trainable:  # the batch's statistics (normalization_ops)
            y, mean, var = _bn.batch_norm_training(inputs, self.gamma, self.beta, self._ax,
                                                   self.epsilon)
            dt = self.moving_mean.dtype
            m = dt.type(self.momentum)
            self.moving_mean.assign(self.moving_mean.numpy() * m + mean.reshape(
                self.moving_mean.shape).astype(dt) * dt.type(1 - self.momentum))
            self.moving_variance.assign(self.moving_variance.numpy() * m + var.reshape(
                self.moving_variance.shape).astype(dt) * dt.type(1 - self.momentum))
            return y
        mean = ops.reshape(self.moving_mean, self._bshape)
        var = ops.reshape(self.moving_variance, self._bshape)
        inv = ops.rsqrt(ops.add(var, self.epsilon))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, self._bshape))
        y = ops.multiply(ops.subtract(inputs, mean), inv)
        if self.beta is not None:
            y = ops.add(y, ops.reshape(self.beta, self._bshape))
        return y

    @property
    def normalized_axes(self):
        """The axes the statistics are kept for (of the full input, batch axis 0), once
        built."""
        return tuple(self._ax)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon,
                 center=self.center, scale=self.scale, **weight_config(self, "beta", "gamma"),
                 **config_of(self, "moving_mean_initializer", "moving_variance_initializer"),
                 synchronized=self.synchronized, renorm=self.renorm,
                 renorm_clipping=self.renorm_clipping, renorm_momentum=self.renorm_momentum)
        return c


class LayerNormalization(Layer):
    """Normalise each sample over ``axis`` (the last by default), then scale and shift."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        set_weight_options(self, locals(), "beta", "gamma")
        self.supports_masking = True

    def build(self, input_shape):
        nd = len(input_shape)
        self._ax = tuple(_axes(self.axis, nd, f"LayerNormalization {self.name!r}"))
        shape = tuple(input_shape[a] for a in self._ax)
        self._bshape = tuple(input_shape[i] if i in self._ax else 1 for i in range(nd))
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, name="gamma") \
            if self.scale or self.rms_scaling else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, name="beta") \
            if self.center and not self.rms_scaling else None
        self.built = True

    def call(self, inputs):
        if self.rms_scaling:
            ms = ops.mean(ops.square(inputs), axis=self._ax, keepdims=True)
            y = ops.multiply(inputs, ops.rsqrt(ops.add(ms, self.epsilon)))
            return ops.multiply(y, ops.reshape(self.gamma, self._bshape))
        mean = ops.mean(inputs, axis=self._ax, keepdims=True)
        centred = ops.subtract(inputs, mean)
        var = ops.mean(ops.square(centred), axis=self._ax, keepdims=True)
        inv = ops.rsqrt(ops.add(var, self.epsilon))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, self._bshape))
        y = ops.multiply(centred, inv)
        if self.beta is not None:
            y = ops.add(y, ops.reshape(self.beta, self._bshape))
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
                 rms_scaling=self.rms_scaling, **weight_config(self, "beta", "gamma"))
        return c
