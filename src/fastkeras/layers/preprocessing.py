"""Preprocessing layers (Keras 3 semantics): Rescaling and Normalization (with ``adapt``)."""
import math

import numpy as np

from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.ops.tensor import as_array

__all__ = ["Rescaling", "Normalization"]

_EPSILON = 1e-7  # keras.config.epsilon()


def _number(value, what, layer):
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise TypeError(f"{layer}: `{what}` must be a number or an array of numbers, "
                        f"got {value!r}")
    try:
        arr = np.asarray(as_array(value) if not isinstance(value, (int, float, list, tuple))
                         else value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"{layer}: `{what}` must be a number or an array of numbers, "
                        f"got {value!r}") from None
    return arr


class Rescaling(Layer):
    """``inputs * scale + offset`` in the layer's compute dtype (integer inputs give
    floats)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        _number(scale, "scale", "Rescaling")
        _number(offset, "offset", "Rescaling")
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dt = self.compute_dtype
        scale = np.asarray(self.scale, dtype=dt)
        offset = np.asarray(self.offset, dtype=dt)
        return ops.add(ops.multiply(ops.cast(inputs, dt), scale), offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        scale, offset = self.scale, self.offset
        if isinstance(scale, np.ndarray):
            scale = scale.tolist()
        if isinstance(offset, np.ndarray):
            offset = offset.tolist()
        c.update(scale=scale, offset=offset)
        return c


def _first_input(batch):
    """The x of an (x, y) or (x, y, sample_weight) batch."""
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """``(inputs - mean) / sqrt(variance)`` per index of ``axis`` (``invert=True``: the
    inverse), with the statistics given or learned by ``adapt(data)``."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        else:
            try:
                axis = tuple(int(a) for a in axis)
            except TypeError:
                raise TypeError(f"Normalization: `axis` must be an int, a tuple of ints or "
                                f"None, got {axis!r}") from None
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._build_input_shape = None
        self.mean = None
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape "
                                 f"{np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        if input_shape is None:
            return
        input_shape = tuple(None if s is None else int(s) for s in input_shape)
        nd = len(input_shape)
        self._build_input_shape = input_shape
        if any(a < -nd or a >= nd for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={nd}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % nd for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={input_shape}, "
                                 f"with unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(nd) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1
                                      for d in range(nd))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance",
                                                  shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
            self.mean = self.adapt_mean
        else:
            shape = self._broadcast_shape
            mean = np.asarray(self.input_mean, dtype="float64")
            var = np.asarray(self.input_variance, dtype="float64")
            if mean.ndim:
                expanded = [1] * nd
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, var = mean.reshape(expanded), var.reshape(expanded)
            try:
                mean = np.broadcast_to(mean, shape)
                var = np.broadcast_to(var, shape)
            except ValueError:
                raise ValueError(f"Normalization: `mean`/`variance` of shape "
                                 f"{np.shape(self.input_mean)} cannot be broadcast to "
                                 f"{shape}") from None
            self._fixed = (mean.astype(self.compute_dtype), var.astype(self.compute_dtype))
            self.mean = self._fixed[0]
        self.built = True

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed
        dt = self.compute_dtype
        mean = np.asarray(self.adapt_mean.numpy(), dtype=dt).reshape(self._broadcast_shape)
        var = np.asarray(self.adapt_variance.numpy(), dtype=dt).reshape(self._broadcast_shape)
        return mean, var

    def adapt(self, data):
        """Compute the mean and variance of ``data``: a NumPy array (or tensor), a
        ``keras.utils.PyDataset``/``Sequence``, or an iterable of batches (a list of arrays,
        a generator; (x, y) batches use x)."""
        from fastkeras.ops.tensor import Tensor

        iterable = False
        if isinstance(data, (np.ndarray, Tensor)):
            data = np.asarray(as_array(data))
            input_shape = data.shape
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__") and \
                hasattr(data, "on_epoch_end"):  # PyDataset / Sequence
            batches = [data[i] for i in range(len(data))]
            if not batches:
                raise ValueError("adapt() received an empty dataset (no batches).")
            input_shape = np.shape(as_array(_first_input(batches[0])))
            data, iterable = batches, True
        elif hasattr(data, "__iter__"):
            it = iter(data)
            first = next(it, None)
            if first is None:
                raise ValueError("adapt() received an empty iterable (no batches). Expected "
                                 "at least one batch. Pass a non-empty iterable of arrays or "
                                 "tensors, e.g. layer.adapt([x]) or layer.adapt(list_of_batches).")
            first = _first_input(first)
            if getattr(first, "shape", None) is None:
                raise TypeError("adapt() expects an iterable that yields arrays or tensors "
                                "with a `.shape` attribute (e.g. numpy arrays or backend "
                                f"tensors). Got an element of type {type(first).__name__}.")
            input_shape = tuple(first.shape)

            def chain():
                yield first
                yield from it
            data, iterable = chain(), True
        else:
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports "
                            "`np.ndarray`, tensors, `keras.utils.PyDataset`, and iterables of "
                            "batches (e.g. list, generator).")
        input_shape = tuple(int(s) for s in input_shape)
        if not self.built:
            self.build(input_shape)
        else:
            for d in self._keep_axis:
                if input_shape[d] != self._build_input_shape[d]:
                    raise ValueError(f"The layer was built with input_shape="
                                     f"{self._build_input_shape}, but adapt() is being called "
                                     f"with data with an incompatible shape, data.shape="
                                     f"{input_shape}")
        if self.input_mean is not None:
            raise ValueError("Normalization: adapt() cannot be used when `mean` and "
                             "`variance` were given")
        if not iterable:
            total_mean = np.mean(data, axis=self._reduce_axis)
            total_var = np.var(data, axis=self._reduce_axis)
        else:
            dt = self.compute_dtype
            total_mean = np.zeros(self._mean_and_var_shape, dt)
            total_var = np.zeros(self._mean_and_var_shape, dt)
            total = 0
            for batch in data:
                batch = np.asarray(as_array(_first_input(batch)), dtype=dt)
                for d in self._keep_axis:
                    if batch.shape[d] != self._build_input_shape[d]:
                        raise ValueError(f"adapt() yielded a batch with incompatible shape. "
                                         f"Expected {self._build_input_shape}, got "
                                         f"{tuple(batch.shape)}.")
                b_mean = np.mean(batch, axis=self._reduce_axis)
                b_var = np.var(batch, axis=self._reduce_axis)
                n = math.prod(batch.shape[d] for d in self._reduce_axis) \
                    if self._reduce_axis else 1
                total += n
                w = np.asarray(float(n) / total, dt)
                w0 = np.asarray(1.0, dt) - w
                new_mean = total_mean * w0 + b_mean * w
                total_var = (total_var + (total_mean - new_mean) ** 2) * w0 + \
                    (b_var + (b_mean - new_mean) ** 2) * w
                total_mean = new_mean
        self.adapt_mean.assign(np.asarray(total_mean, self.adapt_mean.numpy().dtype))
        self.adapt_variance.assign(np.asarray(total_var, self.adapt_variance.numpy().dtype))

    def finalize_state(self):
        """Kept for Keras API compatibility (the statistics are read at call time)."""

    def call(self, inputs):
        if self.mean is None:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        x = ops.cast(inputs, self.compute_dtype)
        mean, var = self._stats()
        std = np.maximum(np.sqrt(var), np.asarray(_EPSILON, var.dtype))
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(axis=self.axis, invert=self.invert,
                 mean=np.array(self.input_mean).tolist(),
                 variance=np.array(self.input_variance).tolist())
        return c

    def get_build_config(self):
        if self._build_input_shape:
            return {"input_shape": self._build_input_shape}

    def build_from_config(self, config):
        if config:
            self.build(config["input_shape"])
