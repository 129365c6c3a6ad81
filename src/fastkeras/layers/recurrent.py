"""Recurrent layers as Keras 3 builds them: a *cell* computes one time step
(SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, or any object with a ``state_size`` and
``call(inputs, states) -> (output, new_states)``), and ``RNN`` runs a cell over the time
axis (masks, go_backwards, initial and stateful states). SimpleRNN, LSTM and GRU are RNN
over their cell, with the cell's options as read-only properties, as in Keras; their
weights live in the cell (``layer.cell.kernel``), saved under ``<layer>/cell`` as Keras
saves them.

Speed: for the built-in cells the input projection of every time step is one matrix
product up front (the cell's ``_project``); the loop then runs only the recurrent part
(``_recur``) on differentiable ops, so the tape back-propagates through time. Other cells
are called step by step.

Fused path: a plain SimpleRNNCell / LSTMCell / GRUCell (not a subclass) with activations
the C kernel has (tanh, sigmoid, hard_sigmoid, relu, linear) and float32 / float64
weights, inputs and states of one dtype runs its whole recurrence as one tape op
(fastkeras.ops.recurrent_ops): the same projection up front, then every step and the
backward through time in one C call each. Same numbers as the step path (within
rounding); anything else takes the step path."""
import inspect

import numpy as np

from fastkeras import activations
from fastkeras import ops
from fastkeras import random as _random
from fastkeras.layers.base import InputSpec, Layer, _flatten, _map, _pack
from fastkeras.layers.core import set_weight_options, weight_config
from fastkeras.ops import recurrent_ops as _rops
from fastkeras.ops.tensor import Tensor, Variable, as_array

__all__ = ["RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "SimpleRNN",
           "LSTM", "GRU"]


def _check_units(owner, units):
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
        raise ValueError(f"{owner}: `units` must be a positive integer, got {units!r}")
    return int(units)


def _check_rate(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value < 1:
        raise ValueError(f"{owner}: `{name}` must be a number in [0, 1), got {value!r}")
    return float(value)


def _serialize_cell(obj):
    from fastkeras.saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(obj)


def _deserialize(config, custom_objects=None):
    from fastkeras.saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


# ---------------------------------------------------------------------------- cells
class _Cell(Layer):
    """What the built-in cells share: a kernel (inputs), a recurrent kernel (state) and a
    bias, each of ``gates`` blocks of ``units`` columns in Keras' order; dropout masks
    drawn once per sequence (Keras' DropoutRNNCell), on the inputs and on the state."""
    gates = 1
    n_states = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 implementation=None, **kwargs):
        owner = type(self).__name__
        units = _check_units(owner, units)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "kernel", "recurrent", "bias")
        self.dropout = _check_rate(owner, "dropout", dropout)
        self.recurrent_dropout = _check_rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.implementation = 2 if implementation is None else implementation
        # Keras 3: every cell holds a SeedGenerator (its state is in layer.variables)
        self.seed_generator = _random.SeedGenerator(seed)
        self._seq_masks = None  # (input mask, state mask) while an RNN runs the cell
        self.output_size = self.units

    @property
    def state_size(self):
        return self.units if self.n_states == 1 else [self.units] * self.n_states

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    def build(self, input_shape):
        f = input_shape[-1]
        if f is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the feature dimension must "
                             f"be known, got input shape {tuple(input_shape)}")
        g = self.gates * self.units
        self.kernel = self.add_weight(shape=(f, g), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint,
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_init,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.built = True

    # --- the two halves of a step (RNN calls them directly; call() chains them)
    def _keep(self, shape, rate, dtype):
        keep = (_random._generator(self.seed_generator).random(shape) >= rate).astype(dtype)
        return keep / dtype.type(1 - rate)

    def _draw_masks(self, batch, dtype):
        """Keras' masks for one sequence: one on the inputs, one on the state."""
        dt = np.dtype(dtype)
        dp = self._keep((batch, self.kernel.shape[0]), self.dropout, dt) \
            if self.dropout else None
        rec = self._keep((batch, self.units), self.recurrent_dropout, dt) \
            if self.recurrent_dropout else None
        return dp, rec

    def _project(self, x, dp=None):
        """The input part of the gates for x (one step, or all steps at once)."""
        if dp is not None:
            x = ops.multiply(x, dp if x.ndim == 2 else dp.reshape(dp.shape[0], 1, -1))
        return self._input_bias(ops.matmul(x, self.kernel))

    def _input_bias(self, xp):
        return xp

    def _recur(self, xp, states, rec_mask):
        raise NotImplementedError

    def _recurrent_bias(self):
        """The bias the fused kernel adds to the recurrent product each step (the part of
        the bias _input_bias does not add), or None."""
        return None

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        st = list(states) if nested else [states]
        dp = rec = None
        if training and (self.dropout or self.recurrent_dropout):
            masks = self._seq_masks
            if masks is None:  # a step on its own: masks for this call
                masks = self._draw_masks(inputs.shape[0], inputs.dtype)
            dp, rec = masks
        h, new = self._recur(self._project(inputs, dp), st, rec)
        return h, (new if nested or len(new) > 1 else new[0])

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), self.compute_dtype)
                for _ in range(self.n_states)]

    def _config(self, *keys):
        c = super().get_config()
        every = dict(units=self.units, activation=activations.serialize(self.activation),
                     use_bias=self.use_bias, dropout=self.dropout,
                     recurrent_dropout=self.recurrent_dropout, seed=self.seed)
        every["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        every.update(weight_config(self, "kernel", "recurrent", "bias"))
        for k in keys:
            c[k] = every[k] if k in every else getattr(self, k)
        return c


_CELL_KEYS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
              "dropout", "recurrent_dropout")


class SimpleRNNCell(_Cell):
    """One step of SimpleRNN: h_t = activation(x_t W + b + h_{t-1} U)."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, recurrent_activation=None,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def _input_bias(self, xp):
        return xp if self.bias is None else ops.add(xp, self.bias)

    def _recur(self, xp, states, rec_mask):
        h = states[0] if rec_mask is None else ops.multiply(states[0], rec_mask)
        h = self.activation(ops.add(xp, ops.matmul(h, self.recurrent_kernel)))
        return h, [h]

    def get_config(self):
        return self._config(*_CELL_KEYS, "seed")


class LSTMCell(_Cell):
    """One step of LSTM; gates input, forget, cell, output (Keras' order), sigmoid gates
    and tanh cell by default; unit_forget_bias starts the forget bias at 1."""
    gates = 4
    n_states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        u = self.units
        init = self.bias_initializer
        return np.concatenate([np.asarray(init((u,), dtype=dtype)), np.ones(u, dtype),
                               np.asarray(init((2 * u,), dtype=dtype))])

    def _recurrent_bias(self):
        return self.bias

    def _recur(self, xp, states, rec_mask):
        h, c = states
        if rec_mask is not None:
            h = ops.multiply(h, rec_mask)
        z = ops.add(xp, ops.matmul(h, self.recurrent_kernel))
        if self.bias is not None:
            z = ops.add(z, self.bias)
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        g = self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        c = ops.add(ops.multiply(f, c), ops.multiply(i, g))
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def get_config(self):
        keys = list(_CELL_KEYS)
        keys.insert(2, "recurrent_activation")
        keys.insert(4, "unit_forget_bias")
        return self._config(*keys, "seed")


class GRUCell(_Cell):
    """One step of GRU; gates update, reset, candidate (Keras' order). With
    reset_after=True (the default) the reset gate multiplies the recurrent projection
    and the bias has an input row and a recurrent row."""
    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self, xp):
        if self.bias is None:
            return xp
        return ops.add(xp, self.bias[0] if self.reset_after else self.bias)

    def _recurrent_bias(self):
        return self.bias[1] if self.bias is not None and self.reset_after else None

    def _recur(self, xp, states, rec_mask):
        h_prev = states[0]
        h = h_prev if rec_mask is None else ops.multiply(h_prev, rec_mask)
        u = self.units
        if self.reset_after:
            r_all = ops.matmul(h, self.recurrent_kernel)
            if self.bias is not None:
                r_all = ops.add(r_all, self.bias[1])
            z = self.recurrent_activation(ops.add(xp[:, :u], r_all[:, :u]))
            r = self.recurrent_activation(ops.add(xp[:, u:2 * u], r_all[:, u:2 * u]))
            hh = self.activation(ops.add(xp[:, 2 * u:], ops.multiply(r, r_all[:, 2 * u:])))
        else:
            rk = self.recurrent_kernel
            r_zr = ops.matmul(h, rk[:, :2 * u])
            z = self.recurrent_activation(ops.add(xp[:, :u], r_zr[:, :u]))
            r = self.recurrent_activation(ops.add(xp[:, u:2 * u], r_zr[:, u:]))
            hh = self.activation(ops.add(xp[:, 2 * u:], ops.matmul(ops.multiply(r, h),
                                                                   rk[:, 2 * u:])))
        h_new = ops.add(ops.multiply(z, h_prev), ops.multiply(ops.subtract(1.0, z), hh))
        return h_new, [h_new]

    def get_config(self):
        keys = list(_CELL_KEYS)
        keys.insert(2, "recurrent_activation")
        return self._config(*keys, "reset_after", "seed")


def _has_call_and_state_size(cell):
    names = dir(cell)
    return "call" in names, "state_size" in names


def _takes_training(cell):
    if isinstance(cell, Layer):
        return True  # Layer.__call__ drops it for a call without the parameter
    try:
        return "training" in inspect.signature(cell.call).parameters
    except (TypeError, ValueError):
        return False


def _call_cell(cell, inputs, states, training):
    """One step of any cell: (output, new states as a list). The built-in cells and stacks
    run their call directly: no per-step conversion, no cast to a stack's own dtype."""
    if isinstance(cell, (_Cell, StackedRNNCells)):
        out, new = cell.call(inputs, states, training=training)
    else:
        fn = cell if callable(cell) else cell.call
        out, new = fn(inputs, states, training=training) if _takes_training(cell) \
            else fn(inputs, states)
    return out, list(new) if isinstance(new, (list, tuple)) else [new]


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    s = cell.state_size
    return s[0] if isinstance(s, (list, tuple)) else s


class StackedRNNCells(Layer):
    """Cells stacked into one cell: each cell's output is the next one's input; the
    states are one entry per cell (keras.layers.StackedRNNCells)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: `cells` must be a non-empty list of RNN "
                             f"cells, got {cells!r}")
        for cell in cells:
            has_call, has_size = _has_call_and_state_size(cell)
            if not has_call:
                raise ValueError("All cells must have a `call` method. Received cell "
                                 f"without a `call` method: {cell}")
            if not has_size:
                raise ValueError("All cells must have a `state_size` attribute. Received "
                                 f"cell without a `state_size`: {cell}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                out.append([ops.zeros((batch_size, d), self.compute_dtype)
                            for d in cell.state_size])
            else:
                out.append(ops.zeros((batch_size, cell.state_size), self.compute_dtype))
        return out

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, s in zip(self.cells, states):
            was_list = isinstance(s, (list, tuple))
            inputs, s = _call_cell(cell, inputs, list(s) if was_list else [s], training)
            new_states.append(s if was_list or len(s) > 1 else s[0])
        return inputs, new_states

    def build(self, input_shape):
        batch = _flatten(input_shape)[0] if isinstance(input_shape, (list, tuple)) and \
            input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (batch, _output_size(cell))
        self.built = True

    def _saved_children(self):
        counts, out = {}, []
        for cell in self.cells:
            if isinstance(cell, Layer):
                base = _snake_name(cell)
                n = counts.get(base, 0)
                counts[base] = n + 1
                out.append((f"cells/{base}" if n == 0 else f"cells/{base}_{n}", cell))
        return out

    def get_config(self):
        c = super().get_config()
        c["cells"] = [_serialize_cell(cell) for cell in self.cells]
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [_deserialize(c, custom_objects) for c in config.pop("cells")]
        return super().from_config(dict(config, cells=cells))


def _snake_name(obj):
    from fastkeras.layers.base import _snake

    return _snake(type(obj).__name__)


def _builtin_cells(cell):
    """The built-in cells an RNN runs (a stack's, recursively), for their dropout masks."""
    if isinstance(cell, _Cell):
        return [cell]
    if isinstance(cell, StackedRNNCells):
        return [c for sub in cell.cells for c in _builtin_cells(sub)]
    return []


# ---------------------------------------------------------------------------- RNN
class RNN(Layer):
    """Runs a cell over the time axis of (batch, timesteps, features) inputs
    (keras.layers.RNN): a list of cells is a StackedRNNCells. Masked steps keep the states
    and repeat the previous output (zeros with zero_output_for_mask); go_backwards reads
    the steps last to first and returns the outputs in that order; stateful keeps the
    last states of a batch (``layer.states``) as the next batch's initial states, the
    batch size fixed at build; ``reset_states()`` sets them to zeros."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        has_call, has_size = _has_call_and_state_size(cell)
        if not has_call:
            raise ValueError(f"Argument `cell` should have a `call` method. Received: "
                             f"cell={cell}")
        if not has_size:
            raise ValueError("The RNN cell should have a `state_size` attribute (single "
                             "integer or list of integers, one integer per RNN state). "
                             f"Received: cell={cell}")
        super().__init__(**kwargs)
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError("state_size must be specified as property on the RNN cell.")
        if isinstance(state_size, bool) or not isinstance(state_size,
                                                          (list, tuple, int, np.integer)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one "
                             f"for each state tensor); the cell {cell} has state_size="
                             f"{state_size!r}")
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll = unroll
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        object.__setattr__(self, "_state_vars", None)  # untracked: states are no weights
        self._expected_batch_size = None

    @property
    def state_size(self):
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [int(s)]

    @property
    def single_state(self):
        return not isinstance(self.cell.state_size, (list, tuple))

    @property
    def states(self):
        """The stateful layer's states (non-trainable variables), None otherwise."""
        return self.__dict__.get("_state_vars")


    def _saved_children(self):
        return [("cell", self.cell)] if isinstance(self.cell, Layer) else []

    # --- shapes and masks
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        b, t = sequences_shape[0], sequences_shape[1]
        if self.unroll and t is None:
            raise ValueError("Cannot unroll a RNN if the time dimension is undefined. \n- If "
                             "using a Sequential model, specify the time dimension by "
                             "passing an `Input()` as your first layer.\n- If using the "
                             "functional API, specify the time dimension by passing a "
                             "`shape` or `batch_shape` argument to your `Input()`.")
        size = _output_size(self.cell)
        out = (b, t, size) if self.return_sequences else (b, size)
        if not self.return_state:
            return out
        states = [[(b, s) for s in size_] if isinstance(size_, (list, tuple)) else (b, size_)
                  for size_ in self.state_size]
        return (out, *states)

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = _flatten(mask)[0] if mask else None
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.state_size) if self.return_state else out

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) < 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, timesteps, features), got {tuple(sequences_shape)}")
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
        if self.stateful:
            if self.states is not None:
                self.reset_states()
            else:
                if sequences_shape[0] is None:
                    raise ValueError("When using `stateful=True` in a RNN, the batch size "
                                     "must be static. Found dynamic batch size: "
                                     f"sequence.shape={tuple(sequences_shape)}")
                self._create_state_variables(sequences_shape[0])
        self.built = True

    # --- states
    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is None:
            dt = getattr(self.cell, "compute_dtype", self.compute_dtype)
            return [ops.zeros((batch_size, d), dt) for d in self.state_size]
        init = fn(batch_size=batch_size)
        return list(init) if isinstance(init, (list, tuple)) else [init]

    def _create_state_variables(self, batch_size):
        init = self.get_initial_state(batch_size)
        states = _map(lambda v: Variable(np.asarray(as_array(v), self.dtype),
                                         trainable=False, name="rnn_state"), init)
        object.__setattr__(self, "_state_vars", states)  # untracked: no weights
        self._expected_batch_size = int(batch_size)

    def reset_states(self, states=None):
        """Zeros into the states of a stateful layer (Keras 3's reset_state()); with
        ``states`` (tf.keras 2), those values instead."""
        if self.states is None:
            if states is not None:
                raise ValueError(f"{type(self).__name__} {self.name!r}: `states` can only be "
                                 "set on a built stateful layer")
            return
        flat = _flatten(self.states)
        if states is None:
            for v in flat:
                v.assign(np.zeros(v.shape, v.dtype))
            return
        values = _flatten(states if isinstance(states, (list, tuple)) else [states])
        if len(values) != len(flat):
            raise ValueError(f"{type(self).__name__} {self.name!r}: `states` must hold "
                             f"{len(flat)} arrays, got {len(values)}")
        for v, value in zip(flat, values):
            value = np.asarray(as_array(value))
            if value.shape != tuple(v.shape):
                raise ValueError(f"{type(self).__name__} {self.name!r}: `states` entry of "
                                 f"shape {value.shape}, expected {tuple(v.shape)}")
            v.assign(value)

    reset_state = reset_states

    def _structure(self):
        """state_size with an int (or shape) per state tensor, nested as the cell's."""
        return [list(s) if isinstance(s, (list, tuple)) else s for s in self.state_size]

    def _given_states(self, initial_state, b, dt):
        structure = self._structure()
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        n_flat = len(_flatten(structure))
        if len(given) != len(structure) or len(_flatten(given)) != n_flat:
            flat = _flatten(given)
            if len(flat) != n_flat:
                raise ValueError(f"{type(self).__name__} {self.name!r} expects {n_flat} "
                                 f"initial state tensor(s) in `initial_state`, got "
                                 f"{len(flat)}")
            given = _pack(structure, flat)
        sizes = _flatten(structure)
        flat = []
        for s, size in zip(_flatten(given), sizes):
            s = s if isinstance(s, Tensor) else Tensor(as_array(s))
            if s.dtype != dt and s.dtype.kind == "f":
                s = ops.cast(s, dt)
            if isinstance(size, (int, np.integer)) and tuple(s.shape) != (b, int(size)):
                raise ValueError(f"{type(self).__name__} {self.name!r}: `initial_state` "
                                 f"tensors must have shape {(b, int(size))}, got "
                                 f"{tuple(s.shape)}")
            flat.append(s)
        return _pack(structure, flat)

    def _step_mask(self, mask, b, t):
        if mask is None:
            return None
        if isinstance(mask, (list, tuple)):
            mask = _flatten(mask)[0] if mask else None
            if mask is None:
                return None
        mask = np.asarray(as_array(mask))
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__} {self.name!r}: the mask must be boolean "
                            f"(or 0/1 numbers), got dtype {mask.dtype}")
        mask = mask.astype(bool)
        if mask.shape != (b, t):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the mask must have shape "
                             f"{(b, t)}, got {mask.shape}")
        return mask

    # --- the loop
    def _stepper(self, x, training):
        cell = self.cell
        if isinstance(cell, _Cell):
            dp, rec = cell._seq_masks or (None, None)
            proj = cell._project(x, dp)  # every step's input projection at once

            def step(i, states):
                return cell._recur(proj[:, i], states, rec)
            return step

        def step(i, states):
            return _call_cell(cell, x[:, i], states, training)
        return step

    def call(self, sequences, initial_state=None, mask=None, training=False):
        x = sequences
        if x.ndim < 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, timesteps, features), got {x.shape}")
        b, t = x.shape[0], x.shape[1]
        if t == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the inputs have no "
                             f"timesteps (shape {x.shape}); expected at least one")
        dt = np.dtype(x.dtype) if np.dtype(x.dtype).kind == "f" else np.dtype(self.compute_dtype)
        if self.stateful:
            if self.states is None:
                self._create_state_variables(b)
            if self._expected_batch_size is not None and b != self._expected_batch_size:
                raise ValueError("If an RNN is stateful, the batch size of the input "
                                 "sequences must be the same as the batch size of the "
                                 f"initial state. \n- Expected batch size: "
                                 f"{self._expected_batch_size}\n- Received batch size: {b}")
            if initial_state is None:  # the kept states, as values (no gradient into them)
                initial_state = _map(lambda v: Tensor(v._value), self.states)
        if initial_state is None:
            initial_state = self.get_initial_state(b)
        states = self._given_states(initial_state, b, dt)
        mask = self._step_mask(mask, b, t)
        cells = _builtin_cells(self.cell)
        for c in cells:
            c._seq_masks = c._draw_masks(b, dt) if training and (
                c.dropout or c.recurrent_dropout) else None
        try:
            spec = self._fused_spec(x, states)
            if spec is not None:
                out, states = self._run_fused(spec, x, states, mask)
            else:
                outputs, states = self._loop(self._stepper(x, training), states, mask, b, t)
                out = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        finally:
            for c in cells:
                c._seq_masks = None
        if self.stateful:
            for v, s in zip(_flatten(self.states), _flatten(states)):
                v.assign(np.asarray(as_array(s)))
        return (out, *states) if self.return_state else out

    # --- the fused path (ops.recurrent_ops): the whole sequence in one C call
    def _fused_spec(self, x, states):
        """The RecurrenceSpec of this layer's recurrence, or None when the step path runs
        it (a custom or subclassed cell, an activation the kernel lacks, other dtypes)."""
        cell = self.cell
        kind = _FUSED_CELLS.get(type(cell))
        if kind is None or not _rops.enabled():
            return None
        act = _fused_activation(cell.activation)
        ract = Activation.SIGMOID if kind == Cell.SIMPLE else \
            _fused_activation(cell.recurrent_activation)
        if act is None or ract is None:
            return None
        dt = np.dtype(as_array(x).dtype)
        if dt not in (np.float32, np.float64):
            return None
        weights = [cell.kernel, cell.recurrent_kernel] + \
            ([cell.bias] if cell.bias is not None else [])
        flat = _flatten(states)
        if any(np.dtype(w.dtype) != dt for w in weights + flat):
            return None
        return _rops.RecurrenceSpec(
            cell=kind, activation=act, recurrent_activation=ract,
            reset_after=bool(getattr(cell, "reset_after", True)),
            go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask)

    def _run_fused(self, spec, x, states, mask):
        cell = self.cell
        dp, rec = cell._seq_masks or (None, None)
        xp = cell._project(x, dp)  # every step's input projection: one matmul (tape op)
        flat = _flatten(states)
        lstm = spec.cell == Cell.LSTM
        y, h, c = _rops.recurrence(xp, cell.recurrent_kernel, cell._recurrent_bias(), flat[0],
                                   flat[1] if lstm else None, spec, mask,
                                   None if rec is None else as_array(rec))
        return y, _pack(states, [h, c] if lstm else [h])

    def _loop(self, step, states, mask, b, t):
        structure = states
        n_flat = len(_flatten(states))
        outputs, prev = [], None
        for i in (range(t - 1, -1, -1) if self.go_backwards else range(t)):
            out, new = step(i, states)
            flat_new = _flatten(new)
            if len(flat_new) != n_flat:
                raise ValueError(f"{type(self).__name__} {self.name!r}: the cell returned "
                                 f"{len(flat_new)} state tensor(s), expected {n_flat}")
            if mask is not None and not mask[:, i].all():
                # masked steps keep the states and repeat the previous output (Keras), or
                # output zeros with zero_output_for_mask
                m = mask[:, i]
                flat_new = [ops.where(m.reshape((b,) + (1,) * (s1.ndim - 1)), s1, s0)
                            for s1, s0 in zip(flat_new, _flatten(states))]
                keep = prev if prev is not None and not self.zero_output_for_mask else \
                    ops.zeros_like(out)
                out = ops.where(m.reshape((b,) + (1,) * (out.ndim - 1)), out, keep)
            states = _pack(structure, flat_new)
            prev = out
            if self.return_sequences or not outputs:
                outputs.append(out)
            else:
                outputs[0] = out
        return outputs, states

    def get_config(self):
        c = super().get_config()
        c.update(return_sequences=self.return_sequences, return_state=self.return_state,
                 go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                 zero_output_for_mask=self.zero_output_for_mask)
        c["cell"] = _serialize_cell(self.cell)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = _deserialize(config.pop("cell"), custom_objects)
        return super().from_config(dict(config, cell=cell))


Cell, Activation = _rops.Cell, _rops.Activation
_FUSED_CELLS = {SimpleRNNCell: Cell.SIMPLE, LSTMCell: Cell.LSTM, GRUCell: Cell.GRU}
_FUSED_ACTIVATIONS = {activations.tanh: Activation.TANH, activations.sigmoid: Activation.SIGMOID,
                      activations.hard_sigmoid: Activation.HARD_SIGMOID,
                      activations.relu: Activation.RELU, activations.linear: Activation.LINEAR}


def _fused_activation(fn):
    """The kernel's code for a built-in activation function, None for any other callable."""
    try:
        return _FUSED_ACTIVATIONS.get(fn)
    except TypeError:  # an unhashable callable object
        return None


# ---------------------------------------------------------------------------- layers
def _cell_property(name):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's `{name}` (read-only, as in Keras).")


def _check_cudnn(owner, use_cudnn):
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{owner}: invalid value for argument `use_cudnn`. Expected one of "
                         f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn!r}")
    return use_cudnn


class _CellLayer(RNN):
    """SimpleRNN / LSTM / GRU: RNN over their own cell (Keras' layer arguments)."""
    _cell_class = None
    _cell_name = None
    _own_keys = ()

    def __init__(self, units, cell_options, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 activity_regularizer=None, use_cudnn="auto", time_major=False,
                 implementation=None, **kwargs):
        owner = type(self).__name__
        if time_major:  # Keras 2's (timesteps, batch, features) layout
            raise ValueError(f"{owner}: time_major=True is not supported; give inputs as "
                             "(batch, timesteps, features)")
        units = _check_units(owner, units)
        cell = self._cell_class(units, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), name=self._cell_name,
                                implementation=implementation, **cell_options)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = _check_cudnn(owner, use_cudnn)

    units = _cell_property("units")
    activation = _cell_property("activation")
    use_bias = _cell_property("use_bias")
    dropout = _cell_property("dropout")
    recurrent_dropout = _cell_property("recurrent_dropout")
    seed = _cell_property("seed")
    kernel_initializer = _cell_property("kernel_initializer")
    recurrent_initializer = _cell_property("recurrent_initializer")
    bias_initializer = _cell_property("bias_initializer")
    kernel_regularizer = _cell_property("kernel_regularizer")
    recurrent_regularizer = _cell_property("recurrent_regularizer")
    bias_regularizer = _cell_property("bias_regularizer")
    kernel_constraint = _cell_property("kernel_constraint")
    recurrent_constraint = _cell_property("recurrent_constraint")
    bias_constraint = _cell_property("bias_constraint")

    def get_config(self):
        c = RNN.get_config(self)
        del c["cell"]
        cell = self.cell.get_config()
        for k in self._own_keys:
            if k == "activity_regularizer":
                from fastkeras import regularizers

                c[k] = None if self.activity_regularizer is None else \
                    regularizers.serialize(self.activity_regularizer)
            else:
                c[k] = cell[k]
        return c

    @classmethod
    def from_config(cls, config):
        return Layer.from_config.__func__(cls, config)


def _layer_keys(cell_class):
    """Keras' key order of a recurrent layer's own config: the cell's, with
    activity_regularizer after bias_regularizer (SimpleRNN has no seed)."""
    keys = list(_CELL_KEYS)
    if cell_class is not SimpleRNNCell:
        keys.insert(2, "recurrent_activation")
    if cell_class is LSTMCell:
        keys.insert(keys.index("bias_initializer") + 1, "unit_forget_bias")
    keys.insert(keys.index("bias_regularizer") + 1, "activity_regularizer")
    if cell_class is GRUCell:
        keys.append("reset_after")
    if cell_class is not SimpleRNNCell:
        keys.append("seed")
    return tuple(keys)


class SimpleRNN(_CellLayer):
    """Fully-connected RNN: h_t = activation(x_t W + b + h_{t-1} U) (SimpleRNNCell)."""
    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"
    _own_keys = _layer_keys(SimpleRNNCell)

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        kwargs.pop("recurrent_activation", None)
        options = dict(activation=activation, use_bias=use_bias,
                       kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(units, options, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter 1997) over LSTMCell: gates input, forget, cell,
    output in Keras' order; unit_forget_bias starts the forget bias at 1."""
    _cell_class, _cell_name = LSTMCell, "lstm_cell"
    _own_keys = _layer_keys(LSTMCell)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        options = dict(activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                       kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(units, options, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn,
                         **kwargs)

    recurrent_activation = _cell_property("recurrent_activation")
    unit_forget_bias = _cell_property("unit_forget_bias")


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al. 2014) over GRUCell: gates update, reset,
    candidate; reset_after=True (Keras 3's default) applies the reset gate after the
    recurrent product, with an input and a recurrent bias row."""
    _cell_class, _cell_name = GRUCell, "gru_cell"
    _own_keys = _layer_keys(GRUCell)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        options = dict(activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed)
        super().__init__(units, options, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn,
                         **kwargs)

    recurrent_activation = _cell_property("recurrent_activation")
    reset_after = _cell_property("reset_after")
