"""Layers wrapping another layer, as Keras 3 has them: Bidirectional (a recurrent layer
run forwards and backwards, outputs merged) and TimeDistributed (one layer applied to
every time step). Their configs nest the wrapped layer's config as Keras' do, and their
weights are saved under the attribute names Keras uses (``forward_layer`` /
``backward_layer``, ``layer``)."""
import copy

import numpy as np

from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.ops.tensor import as_array

__all__ = ["Bidirectional", "TimeDistributed"]

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(obj):
    from fastkeras.saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(obj)


def _deserialize(config, custom_objects=None):
    from fastkeras.saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


def _classes_of(layer):
    """{class name: class} of a layer and everything it holds (its cell, sub-layers), so
    that a copy made from its config finds the user's classes without a registry."""
    out, todo = {}, [layer]
    while todo:
        obj = todo.pop()
        out.setdefault(type(obj).__name__, type(obj))
        if isinstance(obj, Layer):
            todo.extend(obj._layers)
        cell = getattr(obj, "cell", None)
        if cell is not None and not isinstance(cell, Layer):
            out.setdefault(type(cell).__name__, type(cell))
    return out


def _copy(layer, **changes):
    """A fresh layer from `layer`'s config (no weights, no state), with config changes."""
    entry = _serialize(layer)
    entry["config"].update(changes)
    return _deserialize(entry, _classes_of(layer))


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence forwards and a copy of it backwards and
    merges their outputs (keras.layers.Bidirectional): merge_mode "concat" (default),
    "sum", "mul", "ave" or None (both outputs, as a tuple). The wrapped layer is not run
    itself: the forward layer is a fresh copy of it (``forward_<name>``), the backward one
    a copy with go_backwards=True (``backward_<name>``) unless backward_layer is given.
    With return_state the forward states come first, then the backward ones; an
    initial_state is split the same way."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: layer={layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: backward_layer={backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: merge_mode={merge_mode!r}. Merge "
                             'mode should be one of {"sum", "mul", "ave", "concat", None}')
        for attr in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(layer, attr):
                raise ValueError(f"Bidirectional: `layer` must be a recurrent layer (with "
                                 f"`{attr}`), got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, name="forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            self.backward_layer = _copy(layer, go_backwards=True,
                                        name="backward_" + _strip(layer.name, "backward_"))
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            # masked steps output zeros, so the reversed backward outputs line up
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = None if weights is None else list(weights)
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             "`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{fwd.go_backwards}, backward_layer.go_backwards="
                             f"{bwd.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            f, b = getattr(fwd, a), getattr(bwd, a, None)
            if f != b:
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{a}", got "{f}" for forward '
                                 f'layer and "{b}" for backward layer')

    def _saved_children(self):
        return [("forward_layer", self.forward_layer), ("backward_layer", self.backward_layer)]

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(sequences_shape)
                sub.built = True
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            half = len(weights) // 2
            self.forward_layer.set_weights(weights[:half])
            self.backward_layer.set_weights(weights[half:])
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = ()
        if self.return_state:
            shape, states = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        elif self.merge_mode is None:
            shape = (tuple(shape), tuple(shape))
        if self.return_state:
            out = shape if self.merge_mode is None else (tuple(shape),)
            return tuple(out) + states + states
        return tuple(shape)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if self.forward_layer._call_has_training:
            kwargs["training"] = training
        if self.forward_layer._call_has_mask:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) % 2:
                raise ValueError(f"Bidirectional {self.name!r}: `initial_state` must hold the "
                                 "forward layer's states then the backward layer's (an even "
                                 f"number of tensors), got {len(states)}")
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        dt = np.dtype(self.compute_dtype)
        y = y if y.dtype == dt or y.dtype.kind != "f" else ops.cast(y, dt)
        y_rev = y_rev if y_rev.dtype == dt or y_rev.dtype.kind != "f" else ops.cast(y_rev, dt)
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)  # the backward layer returns its steps reversed
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = ops.divide(ops.add(y, y_rev), 2)
        elif self.merge_mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        outs = [out] if self.merge_mode else [out, out]
        if self.return_state:
            n_states = len(getattr(self.forward_layer, "state_size", ())) or 1
            return outs + [None] * (2 * n_states)
        return outs[0] if self.merge_mode else outs

    @property
    def states(self):
        fwd = getattr(self.forward_layer, "states", None)
        bwd = getattr(self.backward_layer, "states", None)
        if fwd and bwd:
            return tuple(list(fwd) + list(bwd))
        return None

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = list(states)
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    reset_state = reset_states

    def get_config(self):
        c = super().get_config()
        c["merge_mode"] = self.merge_mode
        c["layer"] = _serialize(self.forward_layer)
        c["backward_layer"] = _serialize(self.backward_layer)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = _deserialize(backward, custom_objects)
        return super().from_config(config)


def _per_sample_layers():
    """Layers whose output for a sample depends on that sample only and that keep no
    batch statistics: TimeDistributed runs them once on (batch * time, ...) inputs."""
    from fastkeras.layers import convolutional, core

    names = ("Dense", "Activation", "Flatten", "Reshape", "Permute", "RepeatVector")
    out = {getattr(core, n) for n in names if hasattr(core, n)}
    for n in dir(convolutional):
        obj = getattr(convolutional, n)
        if isinstance(obj, type) and issubclass(obj, Layer) and \
                obj.__module__ == convolutional.__name__ and not n.startswith("_"):
            out.add(obj)
    return frozenset(out)


class TimeDistributed(Layer):
    """Applies one layer to every time step (axis 1) of its inputs, the same weights at
    every step (keras.layers.TimeDistributed). The mask, when the inner layer takes one,
    is given to it step by step; the output keeps the input's mask."""
    _fast = None

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a "
                             f"`keras.layers.Layer` instance. Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _saved_children(self):
        return [("layer", self.layer)]

    @staticmethod
    def _child_shape(input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        child = self._child_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer.build(child)
            self.layer.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(tuple(input_shape)))
        return (child[0], input_shape[1], *child[1:])

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        if len(shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an input with at "
                             f"least 3 dimensions, received shape {shape}")
        layer = self.layer
        kwargs = {}
        if layer._call_has_training:
            kwargs["training"] = training
        if mask is not None:
            mask = np.asarray(as_array(mask))
            if mask.ndim < 2:
                raise ValueError("The `mask` passed to the `TimeDistributed` layer must be at "
                                 "least 2D (e.g., `(batch_size, timesteps)`), but it has "
                                 f"{mask.ndim} dimension(s) with shape {mask.shape}.")
            if mask.shape[:2] != shape[:2]:
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a "
                                 f"shape {mask.shape} that is incompatible with the input "
                                 f"shape {shape}. The first two dimensions of the mask "
                                 "(batch size and timesteps) must match the input's first "
                                 f"two dimensions. Expected mask shape prefix: "
                                 f"({shape[0]}, {shape[1]}).")
        b, t = shape[0], shape[1]
        if TimeDistributed._fast is None:
            TimeDistributed._fast = _per_sample_layers()
        if type(layer) in TimeDistributed._fast and not (mask is not None and
                                                         layer._call_has_mask):
            # one call on (batch * time, ...): the same function, one product
            merged = ops.reshape(inputs, (b * t,) + shape[2:])
            out = layer.call(merged, **kwargs)
            return ops.reshape(out, (b, t) + tuple(out.shape[1:]))
        outputs = []
        for i in range(t):
            if mask is not None and layer._call_has_mask:
                kwargs["mask"] = mask[:, i]
            outputs.append(layer.call(inputs[:, i], **kwargs))
        return ops.stack(outputs, axis=1)

    def get_config(self):
        c = super().get_config()
        c["layer"] = _serialize(self.layer)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects)
        return super().from_config(dict(config, layer=layer))
