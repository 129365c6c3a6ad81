"""The Layer base class, symbolic Keras tensors and Input (tf.keras semantics).

A layer builds its weights on its first call from the input shapes
(``build(input_shape)``), then runs ``call``. Called on a symbolic
``KerasTensor`` (from ``Input``) it returns symbolic outputs whose shapes come
from ``compute_output_shape``; the default infers them by running ``call`` on
small zero batches twice with different sizes for the unknown dimensions
(dimensions that change with them are unknown in the output too).
"""
import functools
import inspect
import re
import sys
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


def _dict_keys(x):
    """A dict's keys in Keras' flattening order (sorted, as ``keras.tree`` sorts them;
    insertion order when the keys do not sort)."""
    try:
        return sorted(x)
    except TypeError:
        return list(x)


def _flatten(x):
    if isinstance(x, dict):
        return [v for k in _dict_keys(x) for v in _flatten(x[k])]
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


def _pack(structure, flat):
    """The values of ``flat`` (in ``_flatten``'s order) in the shape of ``structure``, a
    dict keeping its own key order (the inverse of ``_flatten``)."""
    it = iter(flat)
    slots = {}

    def fill(x, path):
        if isinstance(x, dict):
            for k in _dict_keys(x):
                fill(x[k], path + (k,))
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                fill(v, path + (i,))
        else:
            slots[path] = next(it)

    def build(x, path):
        if isinstance(x, dict):
            return {k: build(v, path + (k,)) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            out = [build(v, path + (i,)) for i, v in enumerate(x)]
            return out if isinstance(x, list) else tuple(out)
        return slots[path]

    fill(structure, ())
    return build(structure, ())


class KerasTensor:
    """A symbolic tensor: shape (None for unknown sizes), dtype, and the layer call
    that produced it (``_keras_history``: layer, call inputs, output index).

    ``_keras_mask`` is the symbolic mask a mask-producing layer attached (a bool
    KerasTensor, as in Keras 3). A mask tensor has no call of its own: its
    ``_mask_source`` is the tensor whose eager mask it stands for, so a graph that
    passes it explicitly (``layer(x, mask=x._keras_mask)``) reads that mask when it runs."""

    __slots__ = ("shape", "dtype", "name", "_keras_history", "_keras_mask", "_mask_source",
                 "__weakref__")

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self._keras_history = history
        self._keras_mask = None
        self._mask_source = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __len__(self):
        raise TypeError("a symbolic KerasTensor has no len(); use .shape")

    # As in Keras 3, a KerasTensor has no value: it cannot become a number, an array or a
    # truth value, and the Python operators (and every fastkeras.ops function, see
    # fastkeras.ops.symbolic) record a node of the graph instead of computing.
    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a boolean.")

    def __iter__(self):
        raise NotImplementedError("Iterating over a symbolic KerasTensor is not supported.")

    def __array__(self, dtype=None, copy=None):
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape an a "
                         "dtype. It doesn't have any actual numerical value. You cannot "
                         "convert it to a NumPy array.")

    def __int__(self):
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape an a "
                         "dtype. It doesn't have any actual numerical value. You cannot "
                         "convert it to an int.")

    def __float__(self):
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape an a "
                         "dtype. It doesn't have any actual numerical value. You cannot "
                         "convert it to a float.")

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.subtract(self, other)

    def __rsub__(self, other):
        return ops.subtract(other, self)

    def __mul__(self, other):
        return ops.multiply(self, other)

    def __rmul__(self, other):
        return ops.multiply(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __truediv__(self, other):
        return ops.true_divide(self, other)

    def __rtruediv__(self, other):
        return ops.true_divide(other, self)

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.mod(self, other)

    def __rmod__(self, other):
        return ops.mod(other, self)

    def __pow__(self, other):
        return ops.power(self, other)

    def __rpow__(self, other):
        return ops.power(other, self)

    def __neg__(self):
        return ops.negative(self)

    def __abs__(self):
        return ops.abs(self)

    def __lt__(self, other):
        return ops.less(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other)

    def __gt__(self, other):
        return ops.greater(self, other)

    def __ge__(self, other):
        return ops.greater_equal(self, other)

    def __ne__(self, other):  # Keras 3 defines != but not == (== stays identity)
        return ops.not_equal(self, other)

    def __and__(self, other):
        return ops.logical_and(self, other)

    def __rand__(self, other):
        return ops.logical_and(other, self)

    def __or__(self, other):
        return ops.logical_or(self, other)

    def __ror__(self, other):
        return ops.logical_or(other, self)

    def __xor__(self, other):
        return ops.logical_xor(self, other)

    def __rxor__(self, other):
        return ops.logical_xor(other, self)

    def __invert__(self):
        return ops.logical_not(self)

    def __getitem__(self, key):
        return ops.getitem(self, key)

    def __round__(self, ndigits=None):
        return ops.round(self)

    def reshape(self, newshape):
        return ops.reshape(self, newshape)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)


ops.symbolic.set_keras_tensor_type(KerasTensor)



def _node_property(attr, compute, doc):
    """A property computed from the layer's calls that a subclass may still assign (a
    custom layer may keep its own ``self.output_shape``)."""
    key = "_own_" + attr

    def fget(self):
        d = self.__dict__
        return d[key] if key in d else compute(self)

    def fset(self, value):
        self.__dict__[key] = value

    return property(fget, fset, doc=doc)


def _node_inputs(node):
    """The KerasTensors a recorded call read: its arguments, flattened as Keras flattens
    (args, kwargs)."""
    if node["inputs"] is None:
        return []
    return [t for t in _flatten([node["inputs"], list(node["args"]), node["kwargs"]])
            if isinstance(t, KerasTensor)]


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
        object.__setattr__(self, "_metrics_tracked", [])
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
                elif getattr(type(v), "_is_seed_generator", False):  # keras.random's
                    gens = self.__dict__.setdefault("_seed_generators", [])
                    if not any(v is g for g in gens):
                        gens.append(v)
                elif (self._track_private_metrics or not name.startswith("_")) and \
                        _metric_type() is not None and isinstance(v, _metric_type()):
                    tracked = self.__dict__.setdefault("_metrics_tracked", [])
                    if not any(v is m for m in tracked):
                        tracked.append(v)
        object.__setattr__(self, name, value)

    # a Model keeps its compile() metrics in private attributes: those are not the
    # metrics of its layers
    _track_private_metrics = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if inspect.isfunction(build) and not hasattr(build, "_records_build"):
            cls.build = _recording_build(build)

    def _tracked_metrics(self):
        """The Metric objects held by this layer and its sub-layers (Keras 3's
        ``layer.metrics``: an endpoint layer's accuracy, say)."""
        out = list(self.__dict__.get("_metrics_tracked", []))
        for layer in self._layers:
            for m in layer._tracked_metrics():
                if not any(m is o for o in out):
                    out.append(m)
        return out

    @property
    def metrics(self):
        return self._tracked_metrics()

    # ------------------------------------------------------------- call graph
    def _called_nodes(self):
        return [n for n in self._inbound if n.get("outputs") is not None]

    def _node_values(self, what, index=0):
        """A recorded call's input or output tensors (flat; one tensor as itself), as
        Keras' ``layer.input`` / ``layer.output`` give them."""
        nodes = self._called_nodes()
        if not nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        if not -len(nodes) <= index < len(nodes):
            raise ValueError(f"Asked to get {what} at node {index}, but the operation has "
                             f"only {len(nodes)} inbound nodes.")
        values = _node_inputs(nodes[index]) if what == "input" else \
            _flatten(nodes[index]["outputs"])
        return values[0] if len(values) == 1 else values

    def _node_shapes(self, what):
        """tf.keras 2's ``input_shape`` / ``output_shape``: the shapes of the calls,
        which must all agree."""
        nodes = self._called_nodes()
        if not nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has '
                                 f'no defined {what} shape.')
        shapes = []
        for node in nodes:
            ts = _node_inputs(node) if what == "input" else _flatten(node["outputs"])
            s = [t.shape for t in ts]
            shapes.append(s[0] if len(s) == 1 else s)
        if any(s != shapes[0] for s in shapes[1:]):
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with '
                                 f'different {what} shapes. Hence the notion of "{what} '
                                 f'shape" is ill-defined for the layer. Use '
                                 f'`get_{what}_shape_at(node_index)` instead.')
        return shapes[0]

    def get_input_at(self, node_index):
        return self._node_values("input", node_index)

    def get_output_at(self, node_index):
        return self._node_values("output", node_index)

    def get_input_shape_at(self, node_index):
        v = self._node_values("input", node_index)
        return [t.shape for t in v] if isinstance(v, list) else v.shape

    def get_output_shape_at(self, node_index):
        v = self._node_values("output", node_index)
        return [t.shape for t in v] if isinstance(v, list) else v.shape

    input = _node_property("input", lambda self: self._node_values("input"),
                           "The input tensor(s) of the layer's first call (Keras 3).")
    output = _node_property("output", lambda self: self._node_values("output"),
                            "The output tensor(s) of the layer's first call (Keras 3).")
    input_shape = _node_property("input_shape", lambda self: self._node_shapes("input"),
                                 "The input shape(s) of the layer's calls (tf.keras 2).")
    output_shape = _node_property("output_shape", lambda self: self._node_shapes("output"),
                                  "The output shape(s) of the layer's calls (tf.keras 2).")

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
        """Keras 3's ``layer.variables``: the weights and the state of each
        ``keras.random.SeedGenerator`` held as an attribute, layer by layer (own weights,
        own seed states, then each sub-layer's variables). The seed states are not
        weights: ``weights``, ``get_weights`` and the saved files leave them out."""
        own = self._own_vars()
        out = [w for w in own if w.trainable and self.trainable] + \
            [w for w in own if not (w.trainable and self.trainable)] + \
            [g.state for g in self.__dict__.get("_seed_generators", ())]
        seen = {id(w) for w in out}
        for layer in self._layers:
            for w in layer.variables:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

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

    @property
    def non_trainable_variables(self):
        train = {id(w) for w in self.trainable_weights}
        return [w for w in self.variables if id(w) not in train]

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

    def get_build_config(self):
        """The arguments ``build`` was called with (Keras 3): ``{"input_shape": shape}``
        for a one-argument build, ``{"shapes_dict": {argument: value}}`` otherwise; None
        while the layer is not built. Saved as the layer's ``build_config``."""
        shapes = self.__dict__.get("_build_shapes_dict")
        if shapes is None:
            return None
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": dict(shapes)}

    def build_from_config(self, config):
        """Create the layer's weights from a saved ``build_config`` (loading calls it
        before the layer's first call): ``build(input_shape)`` or ``build(**shapes_dict)``,
        the JSON lists of the file read back as shape tuples."""
        if not config:
            return
        if "input_shape" in config:
            self.build(_shapes_from_json(config["input_shape"]))
        elif "shapes_dict" in config:
            self.build(**{k: _shapes_from_json(v) for k, v in config["shapes_dict"].items()})

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
            if x.dtype == np.dtype(object) and not self._takes_strings():
                raise TypeError(f"Layer {self.name!r}: inputs must hold real numbers (bool, "
                                f"integer or float), got a string tensor (dtype string)")
            return x
        if not isinstance(x, Tensor):
            x = Tensor(as_array(x))
        dt = x._value.dtype
        if dt.kind in "USO" and self._takes_strings():
            return x
        if dt.kind not in "biuf":
            raise TypeError(f"Layer {self.name!r}: inputs must hold real numbers (bool, "
                            f"integer or float), got dtype {dt}")
        if self.autocast and dt.kind == "f" and dt != self._dtype:
            x = ops.cast(x, self._dtype)
        return x

    _string_inputs = False  # layers that read text (lookups, hashing) set it

    def _takes_strings(self):
        """Whether string inputs pass _convert: a text layer, or a functional model with a
        string Input."""
        if self._string_inputs:
            return True
        graph = getattr(self, "_graph", None)
        return graph is not None and any(getattr(t, "dtype", None) == np.dtype(object)
                                         for t in _flatten(graph["inputs"]))

    def __call__(self, *args, **kwargs):
        if not args:  # every tensor by keyword: the first of call's parameters is the input
            args = (self._first_from_kwargs(kwargs),)
        raw = args[0]
        if len(args) > 1 or any(k != "training" and k != "mask" for k in kwargs):
            return self._call_with_arguments(args, kwargs)
        single = isinstance(raw, (Tensor, np.ndarray))
        if single:  # the common case, without walking a structure
            inputs = self._convert(raw)
            mask = kwargs.get("mask")
            if mask is None and isinstance(raw, Tensor):
                mask = raw._keras_mask
        else:
            inputs = _map(self._convert, raw)
            if any(isinstance(t, KerasTensor) for t in _flatten(inputs)) or \
                    isinstance(kwargs.get("mask"), KerasTensor):
                return self._symbolic_call((inputs,) + args[1:], kwargs)
            mask = kwargs.get("mask")
            if mask is None:  # the masks previous layers attached to the inputs
                mask = _masks_of(raw)
        if mask is not None and self._call_has_mask:
            kwargs["mask"] = mask
        return self._eager_call((inputs,), kwargs, inputs, mask)

    def _eager_call(self, args, kwargs, inputs, mask):
        """Build if needed, run ``call`` and attach the output masks (``mask``: the mask of
        the first argument, or the one passed)."""
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
            self._build_for_call(args, kwargs)
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
        if mask is not None or type(self).compute_mask is not Layer.compute_mask:
            outs = [o for o in _flatten(outputs) if isinstance(o, Tensor)]
            # as Keras: a call that attached masks itself keeps them
            if outs and not all(o._keras_mask is not None for o in outs):
                out_mask = self.compute_mask(inputs, mask)
                if out_mask is not None:
                    flat = _flatten(outputs)
                    for o, m in zip(flat, _per_output(out_mask, len(flat))):
                        if isinstance(o, Tensor) and m is not None and o._keras_mask is None:
                            o._keras_mask = np.asarray(as_array(m), dtype=bool)
        return outputs

    def _first_from_kwargs(self, kwargs):
        """``layer(query=q, value=v)``: the value of call's first parameter, taken out of
        kwargs (it becomes the call's first positional argument, as Keras binds it)."""
        name = _first_param(self)
        if name is not None and name in kwargs:
            return kwargs.pop(name)
        if "inputs" in kwargs:
            return kwargs.pop("inputs")
        raise TypeError(f"Layer {self.name!r} was called without inputs: pass them "
                        f"positionally or as `{name or 'inputs'}=`")

    def _call_with_arguments(self, args, kwargs):
        """A call with several tensors: positionally (``Endpoint()(targets, logits)``) or
        by keyword (``layer(x, mask=m)``, ``layer(q, value=v)``). The mask rules are Keras
        3's: with one tensor argument its mask fills ``mask``; with several, each fills
        ``<argument>_mask`` where call has such a parameter."""
        first = _map(self._convert, args[0])
        rest = tuple(self._convert(a) if isinstance(a, (Tensor, np.ndarray)) else a
                     for a in args[1:])
        args = (first,) + rest
        if any(isinstance(t, KerasTensor) for t in _flatten([list(args), kwargs])):
            return self._symbolic_call(args, kwargs)
        call_kwargs, mask = self._fill_masks(args, kwargs)
        return self._eager_call(args, call_kwargs, first, mask)

    def _fill_masks(self, args, kwargs):
        """(kwargs with the masks Keras passes automatically, the first argument's mask
        or the ``mask`` passed) for a call with these arguments (eager or symbolic)."""
        kwargs = dict(kwargs)
        bound = _bind(self, args, kwargs)
        params = _call_params(self)
        if bound is not None:
            tensors = {k: v for k, v in bound.items() if _is_tensor_argument(v)}
            if len(tensors) == 1:
                if "mask" in params and bound.get("mask") is None:
                    m = _masks_of(next(iter(tensors.values())))
                    if m is not None:
                        kwargs["mask"] = m
            else:
                for k, v in tensors.items():
                    if f"{k}_mask" in params and bound.get(f"{k}_mask") is None:
                        m = _masks_of(v)
                        if m is not None:
                            kwargs[f"{k}_mask"] = m
        mask = kwargs.get("mask")
        if mask is None and (bound is None or bound.get("mask") is None):
            mask = _masks_of(args[0])
        elif mask is None:
            mask = bound.get("mask")
        return kwargs, mask

    def _build_for_call(self, args, kwargs):
        """``build(input_shape)`` with the first argument's shape, or, for a build with
        several ``<argument>_shape`` parameters, each argument's shape by name (Keras 3)."""
        if self.built:
            return
        names = _build_params(self)
        if len(names) <= 1:
            self._maybe_build(args[0])
            return
        bound = _bind(self, args, kwargs) or {}
        shapes = {}
        for name in names:
            if not name.endswith("_shape") or name[:-len("_shape")] not in _call_params(self):
                raise ValueError(f"For a `build()` method with more than one argument, all "
                                 f"arguments should have a `_shape` suffix and match an "
                                 f"argument from `call()`. E.g. `build(self, foo_shape, "
                                 f"bar_shape)`. For layer {type(self).__name__!r}, received "
                                 f"`build()` argument `{name}`")
            value = bound.get(name[:-len("_shape")])
            if value is not None:
                shapes[name] = _map(_shape_of, value)
        with _build_lock:
            if self.built:
                return
            self._build_input_shape = _map(_shape_of, args[0])
            self.build(**shapes)
            self.built = True

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask for layers that support masking
        (element-wise layers, Dense...), None otherwise."""
        return mask if self.supports_masking else None

    # ------------------------------------------------------------- symbolic calls
    def _symbolic_call(self, args, kwargs):
        """A call on KerasTensors: records the call (a node) and returns KerasTensors of
        the output shapes and dtypes, with the symbolic masks attached."""
        inputs = args[0]
        self._check_input(inputs)
        if not self.built:
            self._build_for_call(args, kwargs)
            self._check_input(inputs)
        call_kwargs, mask = self._fill_masks(args, kwargs)
        if type(self).compute_output_shape is Layer.compute_output_shape:
            out_shapes, dtypes = self._infer_outputs(args, call_kwargs)
        else:
            out_shapes = self._shapes_from_compute_output_shape(args, kwargs)
            dtypes = self._output_dtypes
        flat_in = [t for t in _flatten(list(args)) if isinstance(t, KerasTensor)] or \
            [t for t in _flatten(kwargs) if isinstance(t, KerasTensor)]
        node = {"layer": self, "inputs": inputs, "args": args[1:], "kwargs": kwargs}
        outputs = _map_shapes(lambda shape: KerasTensor(shape), out_shapes)
        flat_out = _flatten(outputs)
        for i, kt in enumerate(flat_out):  # indices in the order the graph flattens outputs
            if dtypes and i < len(dtypes):
                dt = dtypes[i]
            else:  # float inputs are computed in the layer's dtype (autocast)
                dt = flat_in[0].dtype if flat_in else np.dtype(self.compute_dtype)
                dt = np.dtype(self.compute_dtype) if dt.kind == "f" and self.autocast else dt
            kt.dtype = np.dtype(dt)
            kt.name = self.name if i == 0 else f"{self.name}_{i}"
            kt._keras_history = (self, node, i)
        self._attach_symbolic_masks(inputs, mask, flat_out)
        node["outputs"] = outputs
        self._inbound.append(node)
        return outputs

    _output_dtypes = None

    def _shapes_from_compute_output_shape(self, args, kwargs):
        """An overridden compute_output_shape: with one parameter it gets the first
        argument's shape(s); with several ``<argument>_shape`` ones, each by name."""
        names = _params_of(self.compute_output_shape)
        if len(names) <= 1:
            return self.compute_output_shape(_map(_shape_of, args[0]))
        bound = _bind(self, args, kwargs) or {}
        shapes = {n: _map(_shape_of, bound[n[:-len("_shape")]]) for n in names
                  if n.endswith("_shape") and bound.get(n[:-len("_shape")]) is not None}
        return self.compute_output_shape(**shapes)

    def _infer_outputs(self, args, kwargs):
        """Output shapes and dtypes by running ``call`` on zero batches twice (unknown
        sizes 3, then 7; sizes that differ are unknown). Every KerasTensor argument gets a
        dummy of its shape and dtype (masks all True); the layer's state (weights, tracked
        metrics) and its losses are left as they were."""
        results = []
        saved = self._state_snapshot()
        try:
            for fill in (3, 7):
                dummy = _dummies(self, fill)
                d_args = tuple(_map(dummy, a) for a in args)
                d_kwargs = {k: _map(dummy, v) for k, v in kwargs.items()}
                if self._call_has_training and d_kwargs.get("training") is None:
                    d_kwargs["training"] = False
                elif not self._call_has_training:
                    d_kwargs.pop("training", None)
                if not self._call_has_mask:
                    d_kwargs.pop("mask", None)
                with _tape.paused():
                    out = self.call(*d_args, **d_kwargs)
                results.append(_map(as_array, out))
        finally:
            self._restore_state(saved)
        return _compare_runs(results)

    def _attach_symbolic_masks(self, inputs, mask, flat_out):
        """Keras 3 attaches the outputs' masks to symbolic outputs too: the input mask
        passes through layers with the default compute_mask (supports_masking); an
        overridden compute_mask runs on dummies to give the masks' shapes."""
        default = type(self).compute_mask is Layer.compute_mask
        if mask is None and default:
            return
        if default:
            out_mask = mask if self.supports_masking else None
        else:
            out_mask = self._infer_masks(inputs, mask, flat_out)
        if out_mask is None:
            return
        for kt, m in zip(flat_out, _per_output(out_mask, len(flat_out))):
            if isinstance(m, KerasTensor):
                kt._keras_mask = m

    def _infer_masks(self, inputs, mask, flat_out):
        runs = []
        saved = self._state_snapshot()
        try:
            for fill in (3, 7):
                dummy = _dummies(self, fill)
                with _tape.paused():
                    m = self.compute_mask(_map(dummy, inputs), _map(dummy, mask))
                if m is None:
                    return None
                runs.append(_map(lambda v: None if v is None else
                                 np.asarray(as_array(v), dtype=bool), m))
        except Exception:  # noqa: BLE001  (a compute_mask that needs real data: no
            return None    # symbolic mask; the eager masks still flow when the model runs)
        finally:
            self._restore_state(saved)
        a, b = runs
        if not isinstance(a, (list, tuple)):
            a, b = [a], [b]
        masks = []
        for i, (x, y) in enumerate(zip(a, b)):
            if x is None or y is None:
                masks.append(None)
                continue
            kt = KerasTensor(tuple(da if da == db else None for da, db in zip(x.shape, y.shape)),
                             "bool", name=f"{self.name}_mask" if i == 0 else
                             f"{self.name}_mask_{i}")
            masks.append(kt)
        for kt, m in zip(flat_out, masks if len(masks) > 1 else masks * len(flat_out)):
            if m is not None and m._mask_source is None:
                m._mask_source = kt
        return masks if len(masks) > 1 else masks[0]

    def _state_snapshot(self):
        """The values of the layer's variables and of its metrics' (restored after calls
        on dummy data: Keras traces those calls without touching the state)."""
        weights = [(v, v._value) for v in self.variables]  # seed states too
        metric_vars = [(v, v._value.copy()) for m in self._tracked_metrics()
                       for v in getattr(m, "variables", [])]
        return weights, metric_vars

    def _restore_state(self, saved):
        weights, metric_vars = saved
        for v, value in weights:
            if v._value is not value:
                v._value = value
        for v, value in metric_vars:
            v._value = value
        self._clear_losses()

    def compute_output_shape(self, input_shape):
        """Output shape(s) for input shape(s), None for unknown sizes.

        The default runs ``call`` on zero batches twice, with unknown sizes set to two
        different values; sizes that differ between the runs are unknown."""
        dt = self.compute_dtype
        placeholders = _map_shapes(lambda shape: KerasTensor(shape, dt), input_shape)
        shapes, dtypes = self._infer_outputs((placeholders,), {})
        self._output_dtypes = dtypes
        return shapes

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
        # keys newer Keras versions write that have no meaning here (a quantized layer's
        # config is refused: its weights would not be what fastkeras builds)
        if config.get("quantization_config") is not None:
            raise ValueError(f"{cls.__name__}.from_config: `quantization_config` must be "
                             f"None (fastkeras has no quantized layers), got "
                             f"{config['quantization_config']!r}")
        config = {k: v for k, v in config.items() if k not in _KERAS_ONLY_KEYS}
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _recording_build(fn):
    """``build`` as Keras 3 wraps it: a call by hand (``layer.build((None, 4))``, by
    keyword too) marks the layer built, so its first call does not build it again, and
    records the arguments for ``get_build_config``. Only the outermost call of a build
    chain (``super().build(input_shape)`` inside a build) records."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def build(self, *args, **kwargs):
        depth = self.__dict__.get("_build_depth", 0)
        object.__setattr__(self, "_build_depth", depth + 1)
        try:
            result = fn(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_build_depth", depth)
        if depth == 0:
            try:
                bound = dict(signature.bind(self, *args, **kwargs).arguments)
            except TypeError:
                bound = {}
            bound.pop(next(iter(signature.parameters)), None)  # self
            object.__setattr__(self, "_build_shapes_dict", bound)
            if bound and "_build_input_shape" not in self.__dict__:
                object.__setattr__(self, "_build_input_shape", next(iter(bound.values())))
            self.built = True
        return result

    build._records_build = True
    return build


def _shapes_from_json(value):
    """A shape (or a structure of shapes) read from JSON: lists of sizes become tuples;
    other values (a build argument that is not a shape) stay as they are."""
    if isinstance(value, (list, tuple)) and all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool))
            for d in value):
        return tuple(None if d is None else int(d) for d in value)
    if isinstance(value, list):
        return [_shapes_from_json(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_shapes_from_json(v) for v in value)
    if isinstance(value, dict):
        return {k: _shapes_from_json(v) for k, v in value.items()}
    return value


Layer.build = _recording_build(Layer.build)


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


# ------------------------------------------------------------------ call signatures
_SIGNATURES = {}


def _signature_of(fn, key):
    sig = _SIGNATURES.get(key)
    if sig is None:
        sig = _SIGNATURES[key] = inspect.signature(fn)
    return sig


def _call_signature(layer):
    own = layer.__dict__.get("call")
    return _signature_of(layer.call, own if own is not None else type(layer).call)


def _named(sig, kinds=(inspect.Parameter.POSITIONAL_ONLY,
                       inspect.Parameter.POSITIONAL_OR_KEYWORD,
                       inspect.Parameter.KEYWORD_ONLY)):
    return [n for n, p in sig.parameters.items() if p.kind in kinds]


def _call_params(layer):
    return _named(_call_signature(layer))


def _first_param(layer):
    names = _named(_call_signature(layer), (inspect.Parameter.POSITIONAL_ONLY,
                                            inspect.Parameter.POSITIONAL_OR_KEYWORD))
    return names[0] if names else None


def _params_of(method):
    fn = getattr(method, "__func__", method)
    return _named(_signature_of(method, fn))


def _build_params(layer):
    return _params_of(layer.build)


def _bind(layer, args, kwargs):
    """{parameter: value} of a call's arguments as call's signature binds them (values
    caught by ``**kwargs`` at the top level), or None where they do not bind."""
    sig = _call_signature(layer)
    if "training" in kwargs and "training" not in sig.parameters and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    try:
        bound = sig.bind(*args, **kwargs).arguments
    except TypeError:
        return None
    out = {}
    for name, value in bound.items():
        p = sig.parameters[name]
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            for k, v in value.items():
                out.setdefault(k, v)
        elif p.kind is not inspect.Parameter.VAR_POSITIONAL:
            out[name] = value
    return out


def _tensor_like(x):
    return isinstance(x, (Tensor, KerasTensor, np.ndarray))


def _is_tensor_argument(value):
    """A tensor, or a non-empty structure of tensors (and Nones): what Keras counts as a
    tensor argument of a call."""
    if _tensor_like(value):
        return True
    if isinstance(value, (list, tuple, dict)) and len(value):
        flat = _flatten(value)
        return all(v is None or _tensor_like(v) for v in flat) and any(
            _tensor_like(v) for v in flat)
    return False


def _masks_of(x):
    """The masks attached to an argument (None when it has none)."""
    if isinstance(x, (Tensor, KerasTensor)):
        return x._keras_mask
    if isinstance(x, (list, tuple, dict)):
        masks = _map(lambda t: t._keras_mask if isinstance(t, (Tensor, KerasTensor)) else None,
                     x)
        flat = _flatten(masks)
        if all(m is None for m in flat):
            return None
        return masks if isinstance(x, (list, tuple)) else flat[0]
    return None


def _per_output(out_mask, n):
    """compute_mask's result as one mask per flat output (a single mask covers all)."""
    return list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * n


def _dummies(layer, fill):
    """KerasTensor -> a zero Tensor of its shape (unknown sizes = fill) and dtype (floats
    in the layer's compute dtype, bool tensors, i.e. masks, all True); the same dummy for
    the same tensor. Anything else passes through."""
    memo = {}

    def dummy(v):
        if not isinstance(v, KerasTensor):
            return v
        d = memo.get(id(v))
        if d is None:
            shape = tuple(fill if s is None else s for s in v.shape)
            dt = v.dtype
            if dt.kind == "f" and layer.autocast:
                dt = np.dtype(layer.compute_dtype)
            check_allocation(shape, dt, f"Layer {layer.name!r} input")
            value = np.ones(shape, bool) if dt.kind == "b" else np.zeros(shape, dt)
            d = memo[id(v)] = Tensor(value)
        return d

    return dummy


def _compare_runs(results):
    """(shapes, dtypes) of two runs' outputs: the sizes that differ are unknown."""
    a, b = results
    flat_a, flat_b = _flatten(a), _flatten(b)
    shapes = [tuple(da if da == db else None for da, db in zip(x.shape, y.shape))
              for x, y in zip(flat_a, flat_b)]
    return _pack(a, shapes), [x.dtype for x in flat_a]


def _metric_type():
    mod = sys.modules.get("fastkeras.metrics.metric")  # no Metric exists before its import
    return None if mod is None else mod.Metric


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
        # Keras' string inputs (TextVectorization, StringLookup): object arrays of str
        string = dtype in ("string", "str") or dtype is str
        super().__init__(name=name or _unique_name("input_layer"),
                         dtype=None if string else dtype, **kwargs)
        if string:
            self._dtype, self._dtype_name = np.dtype(object), "string"
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.batch_shape = self._batch_input_shape
        self.built = True
        node = {"layer": self, "inputs": None, "args": (), "kwargs": {}}
        node["outputs"] = KerasTensor(self._batch_input_shape, self._dtype, name=self.name,
                                      history=(self, node, 0))
        self._inbound.append(node)

    @property
    def input_shape(self):  # tf.keras 2: an input layer's shape
        return self.batch_shape

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
