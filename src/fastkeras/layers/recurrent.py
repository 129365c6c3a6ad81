"""SimpleRNN, LSTM and GRU (Keras 3 equations, weights and defaults).

The input projection of every time step is one matrix product up front; the
recurrence then runs step by step on differentiable ops, so the tape
back-propagates through time."""
import numpy as np

from fastkeras import _rng, activations
from fastkeras import ops
from fastkeras.layers.base import InputSpec, Layer
from fastkeras.layers.core import set_weight_options, weight_config
from fastkeras.ops.tensor import as_array

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _RNN(Layer):
    gates = 1
    n_states = 1
    _weights_in_cell = True  # saved as Keras 3 does: layers/<rnn>/cell/vars

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None,
                 zero_output_for_mask=False, time_major=False, implementation=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if time_major:  # Keras 2's (timesteps, batch, features) layout
            raise ValueError(f"{type(self).__name__}: time_major=True is not supported; give "
                             "inputs as (batch, timesteps, features)")
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{type(self).__name__}: `units` must be a positive integer, got "
                             f"{units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals(), "kernel", "recurrent", "bias")
        for nm, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= v < 1:
                raise ValueError(f"{type(self).__name__}: `{nm}` must be in [0, 1), got {v!r}")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), unroll
        self.seed = seed
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._gen = np.random.default_rng(seed if seed is not None else _rng.draw_seed())
        self._states = None
        self.input_spec = InputSpec(ndim=3)

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

    def _mask(self, shape, rate, dtype):
        keep = (self._gen.random(shape) >= rate).astype(dtype)
        return keep / dtype.type(1 - rate)

    def call(self, inputs, initial_state=None, training=False, mask=None):
        x = inputs
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, timesteps, features), got {x.shape}")
        b, t = x.shape[0], x.shape[1]
        if t == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the inputs have no "
                             f"timesteps (shape {x.shape}); expected at least one")
        dt = np.dtype(x.dtype)
        if initial_state is None and self.stateful and self._states is not None:
            initial_state = self._states
        if initial_state is None:
            states = [ops.zeros((b, self.units), dt) for _ in range(self.n_states)]
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
                [initial_state]
            if len(states) != self.n_states:
                raise ValueError(f"{type(self).__name__} {self.name!r} expects "
                                 f"{self.n_states} initial state tensor(s), got {len(states)}")
            for s in states:
                if tuple(s.shape) != (b, self.units):
                    raise ValueError(f"{type(self).__name__} {self.name!r}: initial states must "
                                     f"have shape {(b, self.units)}, got {tuple(s.shape)}")
        if training and self.dropout:
            x = ops.multiply(x, self._mask((b, 1, x.shape[2]), self.dropout, dt))
        rec_mask = self._mask((b, self.units), self.recurrent_dropout, dt) \
            if training and self.recurrent_dropout else None
        proj = ops.matmul(x, self.kernel)  # every step's input projection at once
        steps = range(t - 1, -1, -1) if self.go_backwards else range(t)
        if mask is not None:
            mask = np.asarray(as_array(mask))
            if mask.dtype.kind not in "biuf":
                raise TypeError(f"{type(self).__name__} {self.name!r}: the mask must be boolean "
                                f"(or 0/1 numbers), got dtype {mask.dtype}")
            mask = mask.astype(bool)
            if mask.shape != (b, t):
                raise ValueError(f"{type(self).__name__} {self.name!r}: the mask must have shape "
                                 f"{(b, t)}, got {mask.shape}")
        outputs = []
        for i in steps:
            h, new_states = self._step(proj[:, i], states, rec_mask)
            if mask is not None:
                # masked steps keep the states and repeat the previous output (Keras), or
                # output zeros with zero_output_for_mask
                m = mask[:, i:i + 1]
                prev = outputs[-1] if outputs and not self.zero_output_for_mask else \
                    ops.zeros((b, self.units), dt)
                new_states = [ops.where(m, s1, s0) for s1, s0 in zip(new_states, states)]
                h = ops.where(m, h, prev)
            states = new_states
            outputs.append(h)
        if self.stateful:
            self._states = [ops.stop_gradient(s) for s in states]
        out = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [out] + states if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences and mask is not None else None
        return [out] + [None] * self.n_states if self.return_state else out

    def reset_states(self, states=None):
        self._states = states

    reset_state = reset_states

    def compute_output_shape(self, input_shape):
        b, t = input_shape[0], input_shape[1]
        out = (b, t, self.units) if self.return_sequences else (b, self.units)
        if self.return_state:
            return [out] + [(b, self.units)] * self.n_states
        return out

    def get_config(self):
        c = super().get_config()
        c.update(units=self.units, activation=activations.serialize(self.activation),
                 use_bias=self.use_bias, **weight_config(self, "kernel", "recurrent", "bias"),
                 dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                 return_sequences=self.return_sequences, return_state=self.return_state,
                 go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                 zero_output_for_mask=self.zero_output_for_mask, seed=self.seed)
        return c


class SimpleRNN(_RNN):
    """h_t = activation(x_t W + h_{t-1} U + b)."""
    gates = 1

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def _step(self, xp, states, rec_mask):
        h = states[0] if rec_mask is None else ops.multiply(states[0], rec_mask)
        z = ops.add(xp, ops.matmul(h, self.recurrent_kernel))
        if self.bias is not None:
            z = ops.add(z, self.bias)
        h = self.activation(z)
        return h, [h]


class LSTM(_RNN):
    """Long short-term memory; gates input, forget, cell, output (Keras' order), sigmoid
    gates and tanh cell by default; unit_forget_bias starts the forget bias at 1."""
    gates = 4
    n_states = 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        u = self.units
        init = self.bias_initializer
        return np.concatenate([np.asarray(init((u,), dtype=dtype)), np.ones(u, dtype),
                               np.asarray(init((2 * u,), dtype=dtype))])

    def _step(self, xp, states, rec_mask):
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
        c = super().get_config()
        c.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                 unit_forget_bias=self.unit_forget_bias)
        return c


class GRU(_RNN):
    """Gated recurrent unit; gates update, reset, candidate (Keras' order). With
    reset_after=True (the default) the reset gate multiplies the recurrent projection
    and the bias has an input row and a recurrent row."""
    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _step(self, xp, states, rec_mask):
        h_prev = states[0]
        h = h_prev if rec_mask is None else ops.multiply(h_prev, rec_mask)
        u = self.units
        if self.bias is not None:
            xp = ops.add(xp, self.bias[0] if self.reset_after else self.bias)
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
        c = super().get_config()
        c.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                 reset_after=self.reset_after)
        return c
