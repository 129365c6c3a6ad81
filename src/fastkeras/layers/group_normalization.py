"""Normalization layers beyond Batch / Layer normalization, as Keras 3.15 has them:
UnitNormalization (each sample scaled to unit L2 norm along `axis`) and
GroupNormalization (channels split in `groups`, each group normalized over its channels
and the other non-batch axes, then scaled by gamma and shifted by beta per channel)."""
import numpy as np

from fastkeras import ops
from fastkeras.layers.base import InputSpec, Layer
from fastkeras.layers.core import set_weight_options, weight_config
from fastkeras.ops.tensor import as_array

__all__ = ["UnitNormalization", "GroupNormalization"]


def _check_axes(axis, input_shape):
    for a in (axis if isinstance(axis, (list, tuple)) else [axis]):
        if a >= len(input_shape) or a < -len(input_shape):
            raise ValueError(f"Axis {axis} is out of bounds for input shape "
                             f"{tuple(input_shape)}.")


class UnitNormalization(Layer):
    """x * min(1 / sqrt(sum(x^2, axis)), 1e12): unit L2 norm along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"Invalid value for `axis` argument: expected an int or a "
                            f"list/tuple of ints. Received: axis={axis}")
        self.supports_masking = True

    def call(self, inputs):
        _check_axes(self.axis, as_array(inputs).shape)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        sq = ops.sum(ops.square(inputs), axis=axis, keepdims=True)
        dt = np.dtype(as_array(inputs).dtype)
        inv = ops.minimum(ops.rsqrt(sq), np.asarray(1e12, dt))
        return ops.multiply(inputs, inv)

    def compute_output_shape(self, input_shape):
        _check_axes(self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c["axis"] = self.axis
        return c


class GroupNormalization(Layer):
    """Group normalization (Wu & He): ``groups`` groups of channels along ``axis``
    (groups=-1: one per channel, i.e. instance normalization), each normalized with its
    mean and variance over its channels and the other non-batch axes."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or \
                (groups <= 0 and groups != -1):
            raise ValueError(f"Received an invalid value for argument `groups`, expected a "
                             f"positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.autocast = False
        self.groups = int(groups)
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        set_weight_options(self, locals(), "beta", "gamma")

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined "
                             f"dimension but the layer received an input with shape "
                             f"{tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the "
                             f"number of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        self.gamma = self.add_weight(shape=(dim,), name="gamma",
                                     initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, autocast=False) \
            if self.scale else None
        self.beta = self.add_weight(shape=(dim,), name="beta",
                                    initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, autocast=False) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        x = as_array(inputs)
        shape = list(x.shape)
        ax = self.axis % len(shape)
        grouped = shape[:ax] + [self.groups, shape[ax] // self.groups] + shape[ax + 1:]
        bshape = [1] * len(grouped)
        bshape[ax], bshape[ax + 1] = self.groups, shape[ax] // self.groups
        cdt = np.result_type(x.dtype, np.float32)
        g = ops.reshape(ops.cast(inputs, cdt), grouped)
        axes = tuple(i for i in range(1, len(grouped)) if i != ax)
        mean = ops.mean(g, axis=axes, keepdims=True)
        var = ops.var(g, axis=axes, keepdims=True)
        inv = ops.rsqrt(ops.add(var, np.asarray(self.epsilon, cdt)))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(ops.cast(self.gamma, cdt), bshape))
        res = ops.multiply(ops.negative(mean), inv)
        if self.beta is not None:
            res = ops.add(res, ops.reshape(ops.cast(self.beta, cdt), bshape))
        out = ops.add(ops.multiply(g, inv), res)
        return ops.cast(ops.reshape(out, shape), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        _check_axes(self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(groups=self.groups, axis=self.axis, epsilon=self.epsilon, center=self.center,
                 scale=self.scale, **weight_config(self, "beta", "gamma"))
        return c
