"""The Layer base class, symbolic Keras tensors and Input (tf.keras semantics).

A layer builds its weights on its first call from the input shapes
(``build(input_shape)``), then runs ``call``. Called on a symbolic
``KerasTensor`` (from ``Input``) it returns symbolic outputs whose shapes come
from ``compute_output_shape``; the default infers them by running ``call`` on
small zero batches twice with different sizes for the unknown dimensions
(dimensions that change with them are unknown in the output too).
"""
import inspect
import re
import threading

import numpy as np

from fastkeras import config, constraints, initializers, regularizers
from fastkeras._limits import active_load_budget, check_allocation
from fastkeras import ops
from fastkeras.ops import tape as _tape
from fastkeras.ops.tensor import Tensor, Variable, as_array, untouched_zeros

__all__ = ["Layer", "KerasTensor", "Input", "InputLayer", "InputSpec", "training_mode"]

_names = threading.local()
_build_lock = threading.RLock()
_KERAS_ONLY_KEYS = frozenset({"quantization_config", "optional", "ragged", "build_config"})
_ctx = threading.local()


def _unique_name(base):
    counts = getattr(_names, "counts", None)
    if counts is None:
        counts = _names.counts = {}
    n = counts.get(base, 0)
    counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session():
    """Reset the layer-name counters (keras.backend.clear_session)."""
    _names.counts = {}


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class training_mode:
    """Context: the default ``training`` flag of layer calls inside it (fit sets True)."""

    def __init__(self, training):
        self.training = training

    def __enter__(self):
        self._prev = getattr(_ctx, "training", None)
        _ctx.training = self.training
        return self

    def __exit__(self, *exc):
        _ctx.training = self._prev
        return False


def _default_training():
    return getattr(_ctx, "training", None)


def _flatten(x):
    if isinstance(x, dict):
        return [v for k in x for v in _flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    return [x]


def _map(fn, x):
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        out = [_map(fn, v) for v in x]
        return out if isinstance(x, list) else tuple(out)
    return fn(x)


class KerasTensor:
    """A symbolic tensor: shape (None for unknown sizes), dtype, and the layer call
    that produced it (``_keras_history``: layer, call inputs, output index)."""

    __slots__ = ("shape", "dtype", "name", "_keras_history", "__weakref__")

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self._keras_history = history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __len__(self):
        raise TypeError("a symbolic KerasTensor has no len(); use .shape")


class InputSpec:
    """What a layer accepts: ndim / min_ndim, and sizes at given axes."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype, self.shape, self.ndim = dtype, shape, ndim
        self.max_ndim, self.min_ndim, self.axes = max_ndim, min_ndim, axes or {}
        self.name, self.optional = name, optional


def _shape_of(x):
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(as_array(x).shape)


class Layer:
    """Base class of every layer (keras.layers.Layer)."""

    def __init__(self, trainable=True, name=None, dtype=None, autocast=True,
                 activity_regularizer=None, input_shape=None, batch_input_shape=None,
                 batch_size=None, input_dim=None, batch_shape=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        object.__setattr__(self, "_layers", [])
        object.__setattr__(self, "_tracked_vars", [])
        self._weights_own = []
        self._losses = []
        self.built = False
        self._trainable = bool(trainable)
        self.name = name or _unique_name(_snake(type(self).__name__))
        dt = getattr(dtype, "name", dtype)
        if isinstance(dtype, dict):  # a serialized DTypePolicy
            dt = dtype.get("config", {}).get("name", "float32")
        if dt == "mixed_float16" or dt == "mixed_bfloat16":
            dt = "float32"
        # fixed at construction, as a Keras dtype policy is (floatx at this moment)
        if dt is None:
            dt = config.floatx() if config.floatx() != "bfloat16" else "float32"
        try:
            self._dtype = np.dtype(dt)
        except TypeError:
            self._dtype = None
        if self._dtype is None or self._dtype.kind not in "fiub":  # Keras' numeric policies
            raise ValueError(f"{type(self).__name__}: `dtype` must be a numeric dtype (a "
                             f"float, integer or bool name or a DTypePolicy), got {dt!r}")
        self._dtype_name = self._dtype.name
        self.autocast = autocast
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.input_spec = None
        self.supports_masking = False
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_shape is not None:
            batch_input_shape = tuple(batch_shape)
        if batch_input_shape is None and input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
            batch_input_shape = (batch_size,) + tuple(shape)
        self._batch_input_shape = None if batch_input_shape is None else tuple(batch_input_shape)
        self._call_has_training = "training" in inspect.signature(self.call).parameters
        self._call_has_mask = "mask" in inspect.signature(self.call).parameters
        self._inbound = []  # symbolic calls (for functional models)

    # ------------------------------------------------------------- tracking
    def __setattr__(self, name, value):
        if not name.startswith("__") and hasattr(self, "_layers"):
            for v in _flatten(value) if isinstance(value, (list, tuple, dict)) else [value]:
                if isinstance(v, Layer) and v is not self and \
                        not any(v is l for l in self._layers):
                    self._layers.append(v)
                elif isinstance(v, Variable) and not any(v is w for w in self._tracked_vars):
                    self._tracked_vars.append(v)
        object.__setattr__(self, name, value)

    @property
    def dtype(self):
        """The layer's variable / compute dtype (floatx by default)."""
        return self._dtype_name

    @property
    def compute_dtype(self):
        return self.dtype

    @property
    def variable_dtype(self):
        return self.dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self):
        return list(self._layers)

    def _own_vars(self):
        seen, out = set(), []
        for w in self._weights_own + self._tracked_vars:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    def _all_weights(self):
        out = self._own_vars()
        seen = {id(w) for w in out}
        for layer in self._layers:
            for w in layer._all_weights():
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def weights(self):
        """This layer's own weights (trainable first), then each sub-layer's weights in
        turn (Keras 3's order, the order of get_weights / set_weights)."""
        own = self._own_vars()
        out = [w for w in own if w.trainable and self.trainable] + \
            [w for w in own if not (w.trainable and self.trainable)]
        seen = {id(w) for w in out}
        for layer in self._layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        own = [w for w in self._own_vars() if w.trainable]
        seen = {id(w) for w in own}
        for layer in self._layers:
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    own.append(w)
        return own

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        train = {id(w) for w in self.trainable_weights}
        return [w for w in self._all_weights() if id(w) not in train]

    non_trainable_variables = non_trainable_weights

    # ------------------------------------------------------------- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   name=None, **kwargs):
        """Create a weight Variable tracked by this layer (keras add_weight; the tf.keras 2
        order with the name first also works)."""
        if isinstance(shape, str):  # tf.keras 2: add_weight(name, shape, ...)
            name, shape = shape, kwargs.pop("shape", None)
            if isinstance(initializer, (tuple, list)):  # add_weight("w", (2, 3))
                shape, initializer = tuple(initializer), None
        for legacy in ("use_resource", "synchronization", "partitioner", "caching_device"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"{self.name}.add_weight: unexpected argument(s) {sorted(kwargs)}")
        shape = () if shape is None else tuple(int(s) for s in np.atleast_1d(shape)) \
            if not isinstance(shape, tuple) else tuple(int(s) for s in shape)
        dt = np.dtype(getattr(dtype, "name", dtype) or self.dtype)
        what = f"Layer {self.name!r} weight {name or 'variable'!r}"
        nbytes = check_allocation(shape, dt, what)
        if initializer is None:
            initializer = "glorot_uniform" if dt.kind == "f" else "zeros"
        init = initializers.get(initializer)
        budget = active_load_budget()
        if budget is not None:  # loading: the file overwrites it, so no initializer runs
            budget.charge(nbytes, what)
            value = untouched_zeros(shape, dt)
        else:
            value = init(shape, dtype=dt) if not isinstance(init, type) else init()(shape, dt)
            value = np.asarray(as_array(value), dtype=dt).reshape(shape)
        var = Variable(value, trainable=trainable, name=name or "variable",
                       constraint=constraints.get(constraint), aggregation=aggregation)
        var._regularizer = regularizers.get(regularizer)  # read by .losses
        var.path = f"{self.name}/{var.name}"
        self._weights_own.append(var)
        return var

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r} expects {len(params)} weights, but the "
                             f"weight list has {len(weights)} elements")
        for p, w in zip(params, weights):
            w = as_array(w)
            if tuple(w.shape) != tuple(p.shape):
                raise ValueError(f"Layer {self.name!r} weight {p.name!r} has shape {p.shape}, "
                                 f"got a value of shape {w.shape}")
        for p, w in zip(params, weights):
            p.assign(w)

    def count_params(self):
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet: call it on data or "
                             "build it first, then count its parameters")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ------------------------------------------------------------- losses
    def add_loss(self, loss):
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added in the last call plus weight regularization penalties."""
        out = list(self._losses)
        for w in self._weights_own:
            reg = getattr(w, "_regularizer", None)
            if reg is not None:
                out.append(reg(w))
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    def _clear_losses(self):
        self._losses = []
        for layer in self._layers:
            layer._clear_losses()

    # ------------------------------------------------------------- build / call
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def _maybe_build(self, inputs):
        if self.built:
            return
        with _build_lock:  # threads calling an unbuilt model build it once
            if self.built:
                return
            shapes = _map(_shape_of, inputs)
            self._build_input_shape = shapes  # the config's build_config
            self.build(shapes)
            self.built = True

    def _check_input(self, inputs):
        spec = self.input_spec
        if spec is None or isinstance(spec, (list, tuple)):
            return
        x = inputs if isinstance(inputs, (Tensor, KerasTensor)) else _flatten(inputs)[0]
        shape = x.shape if isinstance(x, (Tensor, KerasTensor)) else _shape_of(x)
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim={spec.ndim}, found ndim={len(shape)}. Full shape "
                             f"received: {shape}")
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected min_ndim={spec.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        for axis, size in spec.axes.items():
            if not -len(shape) <= axis < len(shape):
                raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the "
                                 f"layer: expected an axis {axis} of size {size}, but received "
                                 f"input with shape {shape}")
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the "
                                 f"layer: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")

    def _convert(self, x):
        if isinstance(x, KerasTensor):
            return x
        if not isinstance(x, Tensor):
            x = Tensor(as_array(x))
        dt = x._value.dtype
        if dt.kind not in "biuf":
            raise TypeError(f"Layer {self.name!r}: inputs must hold real numbers (bool, "
                            f"integer or float), got dtype {dt}")
        if self.autocast and dt.kind == "f" and dt != self._dtype:
            x = ops.cast(x, self._dtype)
        return x

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer {self.name!r} was called without inputs")
            args = (kwargs.pop("inputs"),)
        raw = args[0]
        single = isinstance(raw, (Tensor, np.ndarray))
        if single:  # the common case, without walking a structure
            inputs = self._convert(raw)
            mask = kwargs.get("mask")
            if mask is None and isinstance(raw, Tensor):
                mask = raw._keras_mask
        else:
            inputs = _map(self._convert, raw)
            if any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
                return self._symbolic_call((inputs,) + args[1:], kwargs)
            mask = kwargs.get("mask")
            if mask is None:  # the masks previous layers attached to the inputs
                masks = _map(lambda t: getattr(t, "_keras_mask", None), raw)
                flat = _flatten(masks)
                mask = None if all(m is None for m in flat) else (
                    masks if isinstance(raw, (list, tuple)) else flat[0])
        args = (inputs,) + args[1:]
        if mask is not None and self._call_has_mask:
            kwargs["mask"] = mask
        if self._call_has_training and kwargs.get("training") is None:
            t = _default_training()
            if t is not None:
                kwargs["training"] = t
        elif not self._call_has_training:
            kwargs.pop("training", None)
        if not self._call_has_mask:
            kwargs.pop("mask", None)
        if self.input_spec is not None:  # before build: build reads the shape it checks
            self._check_input(inputs)
        if not self.built:
            self._maybe_build(inputs)
            if self.input_spec is not None:  # build may have pinned sizes (axes)
                self._check_input(inputs)
        object.__setattr__(self, "_losses", [])
        outputs = self.call(*args, **kwargs)
        if self.activity_regularizer is not None:
            for out in _flatten(outputs):
                if isinstance(out, Tensor):
                    loss = self.activity_regularizer(out)
                    if out.ndim > 0 and out.shape[0]:
                        loss = ops.divide(loss, out.shape[0])
                    self.add_loss(loss)
        out_mask = self.compute_mask(inputs, mask) if (mask is not None or
                                                       type(self).compute_mask is not
                                                       Layer.compute_mask) else None
        if out_mask is not None:
            outs = _flatten(outputs)
            omasks = out_mask if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
            for o, m in zip(outs, omasks):
                if isinstance(o, Tensor) and m is not None:
                    o._keras_mask = np.asarray(as_array(m), dtype=bool)
        return outputs

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask for layers that support masking
        (element-wise layers, Dense...), None otherwise."""
        return mask if self.supports_masking else None

    # ------------------------------------------------------------- symbolic calls
    def _symbolic_call(self, args, kwargs):
        inputs = args[0]
        self._check_input(inputs)
        if not self.built:
            self._maybe_build(inputs)
            self._check_input(inputs)
        out_shapes = self.compute_output_shape(_map(_shape_of, inputs))
        dtypes = self._output_dtypes
        flat_in = _flatten(inputs)
        node = {"layer": self, "inputs": inputs, "args": args[1:], "kwargs": kwargs}
        self._inbound.append(node)
        counter = iter(range(1 << 30))

        def mk(shape):
            i = next(counter)
            if dtypes and i < len(dtypes):
                dt = dtypes[i]
            else:  # float inputs are computed in the layer's dtype (autocast)
                dt = flat_in[0].dtype
                dt = self.compute_dtype if dt.kind == "f" and self.autocast else dt
            return KerasTensor(shape, dt, name=self.name if i == 0 else f"{self.name}_{i}",
                               history=(self, node, i))

        outputs = _map_shapes(mk, out_shapes)
        node["outputs"] = outputs
        return outputs

    _output_dtypes = None

    def compute_output_shape(self, input_shape):
        """Output shape(s) for input shape(s), None for unknown sizes.

        The default runs ``call`` on zero batches twice, with unknown sizes set to two
        different values; sizes that differ between the runs are unknown."""
        results = []
        for fill in (3, 7):
            def zeros(shape, fill=fill):
                shape = tuple(fill if d is None else d for d in shape)
                check_allocation(shape, self.compute_dtype, f"Layer {self.name!r} input")
                return np.zeros(shape, self.compute_dtype)
            dummy = _map_shapes(zeros, input_shape)
            with _tape.paused():
                out = self.call(dummy) if not self._call_has_training else \
                    self.call(dummy, training=False)
            self._losses = []
            results.append(_map(lambda t: as_array(t), out))
        a, b = results
        flat_a, flat_b = _flatten(a), _flatten(b)
        self._output_dtypes = [x.dtype for x in flat_a]
        shapes = [tuple(da if da == db else None for da, db in zip(x.shape, y.shape))
                  for x, y in zip(flat_a, flat_b)]
        it = iter(shapes)
        return _map(lambda _: next(it), a)

    def compute_output_spec(self, *args, **kwargs):
        return self._symbolic_call(args, kwargs)

    # ------------------------------------------------------------- config
    def get_config(self):
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            config_["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config_

    @classmethod
    def from_config(cls, config):
        # keys newer Keras versions write that have no meaning here
        config = {k: v for k, v in config.items() if k not in _KERAS_ONLY_KEYS}
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _is_shape(x):
    return isinstance(x, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in x)


def _map_shapes(fn, shapes):
    """Apply fn to every shape tuple in a nested structure of shapes."""
    if _is_shape(shapes):
        return fn(shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    if isinstance(shapes, list) and all(isinstance(d, (int, np.integer)) or d is None
                                        for d in shapes):
        return fn(tuple(shapes))
    if isinstance(shapes, (list, tuple)):
        out = [_map_shapes(fn, s) for s in shapes]
        return out if isinstance(shapes, list) else tuple(out)
    raise TypeError(f"not a shape: {shapes!r}")


class InputLayer(Layer):
    """The layer behind ``Input``: it holds the batch shape and dtype of a model input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, name=None, input_shape=None, batch_input_shape=None,
                 **kwargs):
        if input_shape is not None and shape is None:
            shape = input_shape
        if batch_input_shape is not None and batch_shape is None:
            batch_shape = batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs `shape` (or `batch_shape`)")
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            batch_shape = (batch_size,) + shape
        super().__init__(name=name or _unique_name("input_layer"), dtype=dtype, **kwargs)
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.batch_shape = self._batch_input_shape
        self.built = True
        self.output = KerasTensor(self._batch_input_shape, self.dtype, name=self.name,
                                  history=(self, {"layer": self, "inputs": None, "args": (),
                                                  "kwargs": {}}, 0))
        self._inbound.append(self.output._keras_history[1])
        self.output._keras_history[1]["outputs"] = self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False,
                "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, batch_shape=None,
          tensor=None):
    """A symbolic model input (keras.Input): shape excludes the batch dimension."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs `shape` (or `batch_shape`), e.g. Input(shape=(32,))")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name)
    return layer.output
