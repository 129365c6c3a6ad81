"""Convolutional LSTM (Shi et al. 2015) as Keras 3 builds it: ConvLSTMCell is an LSTM step
whose input and recurrent products are convolutions, and ConvLSTM1D / 2D / 3D are the RNN
layer of ``layers/recurrent.py`` over that cell (masks, go_backwards, return_state,
stateful and initial states, dropout masks drawn once per sequence all come from there).

Weights as Keras': ``kernel`` (k..., in_channels, 4 * filters), ``recurrent_kernel``
(k..., filters, 4 * filters), ``bias`` (4 * filters,), gates input, forget, cell, output;
they live in the cell (saved under ``<layer>/cell``). The input convolution takes the
layer's strides, padding and dilation; the recurrent one is stride 1, "same", undilated.

Speed: as for LSTM, the input convolution of every time step runs as one convolution
over (batch, timesteps, ...) before the loop (the cell's ``_project``); the loop runs the
recurrent convolution and the gates. Both are ``ops.convolution.conv``, the op the Conv
layers use."""
import numpy as np

from fastkeras import ops
from fastkeras.layers.base import InputSpec, Layer
from fastkeras.layers.recurrent import RNN, _Cell, _check_rate
from fastkeras.ops import convolution as _conv
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["ConvLSTMCell", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]


def _check_filters(owner, filters):
    if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
        raise ValueError(f"{owner}: `filters` must be a positive integer, got {filters!r}")
    return int(filters)


class ConvLSTMCell(_Cell):
    """One step of a rank-``rank`` convolutional LSTM (keras' ConvLSTMCell, which Keras 3
    does not export from keras.layers either). States (h, c) have the shape of the input
    convolution's output. Dropout, as in Keras, draws four masks of the step's input shape
    (one per gate) and four of the state's shape, once per sequence."""
    gates = 4
    n_states = 2

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        owner = type(self).__name__
        if rank not in (1, 2, 3):
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. "
                             f"Received: rank={rank}")
        self.rank = int(rank)
        filters = _check_filters(owner, filters)
        self.kernel_size = _conv._tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _conv._tuple(strides, self.rank, "strides")
        self.dilation_rate = _conv._tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = _conv._padding(padding, self.rank, False)
        self.data_format = _conv._data_format(data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > "
                             "1`. Please provide `strides=1` or `dilation_rate=1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        _check_rate(owner, "dropout", dropout)
        _check_rate(owner, "recurrent_dropout", recurrent_dropout)
        kwargs.pop("implementation", None)
        super().__init__(filters, activation=activation,
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
        self.filters = filters
        self.unit_forget_bias = bool(unit_forget_bias)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.spatial_dims = self.input_dim = self.state_shape = None

    # Keras' cell says -1: its states are feature maps, not vectors (see state_shape)
    state_size = -1

    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else -self.rank - 1

    def _state_shape(self, spatial):
        out, _ = _conv.conv_output_shape(spatial, self.kernel_size, self.strides, self.padding,
                                         self.dilation_rate)
        if min(out) < 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the kernel (size "
                             f"{self.kernel_size}, dilation {self.dilation_rate}) is larger "
                             f"than the input (spatial size {tuple(spatial)})")
        f = self.filters
        return tuple(out) + (f,) if self.data_format == "channels_last" else (f,) + tuple(out)

    def build(self, input_shape, states_shape=None):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects step inputs of rank "
                             f"{self.rank + 2}, got shape {input_shape}")
        if self.data_format == "channels_first":
            ch, spatial = input_shape[1], input_shape[2:]
        else:
            ch, spatial = input_shape[-1], input_shape[1:-1]
        if None in spatial:
            raise ValueError("ConvLSTM layers only support static input shapes for the "
                             f"spatial dimension. Received invalid input shape: "
                             f"input_shape={input_shape}")
        if ch is None:
            raise ValueError("The channel dimension of the inputs (last axis) should be "
                             "defined. Found None. Full input shape received: "
                             f"input_shape={input_shape}")
        self.spatial_dims, self.input_dim = tuple(spatial), int(ch)
        self.state_shape = self._state_shape(self.spatial_dims)
        g = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (self.input_dim, g),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (self.filters, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint,
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(g,), initializer=self._bias_init,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") \
            if self.use_bias else None
        self.built = True

    def _bias_init(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        f, init = self.filters, self.bias_initializer
        return np.concatenate([np.asarray(init((f,), dtype=dtype)), np.ones(f, dtype),
                               np.asarray(init((2 * f,), dtype=dtype))])

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size,) + self.state_shape, self.compute_dtype)
                for _ in range(2)]

    # --- the two halves of a step (RNN runs _project over all steps, then _recur)
    def _draw_masks(self, batch, dtype):
        """Keras' masks: four (one per gate) of the step input's shape, four of the
        state's."""
        dt = np.dtype(dtype)
        step = self.spatial_dims + (self.input_dim,) if self.data_format == "channels_last" \
            else (self.input_dim,) + self.spatial_dims
        dp = self._keep((4, batch) + step, self.dropout, dt) if self.dropout else None
        rec = self._keep((4, batch) + self.state_shape, self.recurrent_dropout, dt) \
            if self.recurrent_dropout else None
        return dp, rec

    def _gate(self, z, g, axis=None):
        """Gate g's block of channels of z: a feature map (its channel axis), or a kernel
        (axis=-1)."""
        f = self.filters
        index = [slice(None)] * z.ndim
        index[z.ndim + (self._channel_axis if axis is None else axis)] = slice(g * f,
                                                                               (g + 1) * f)
        return z[tuple(index)]

    def _conv_gates(self, x, kernel, masks, strides, padding, dilation, bias=None):
        """conv(x, kernel) (+ bias); with dropout masks, each gate's block on its own
        masked x, concatenated on the channel axis."""
        cl = self.data_format == "channels_last"
        if masks is None:
            y = _conv.conv(x, kernel, strides, padding, self.data_format, dilation,
                           bias=bias if cl else None)
            if bias is not None and not cl:
                y = ops.add(y, ops.reshape(bias, (-1,) + (1,) * self.rank))
            return y
        f = self.filters
        parts = []
        for g in range(4):
            m = masks[g]
            if x.ndim == m.ndim + 1:  # all time steps at once: one mask per sequence
                m = m.reshape(m.shape[:1] + (1,) + m.shape[1:])
            b = None if bias is None else bias[g * f:(g + 1) * f]
            y = _conv.conv(ops.multiply(x, m), self._gate(kernel, g, axis=-1), strides, padding,
                           self.data_format, dilation, bias=b if cl else None)
            if b is not None and not cl:
                y = ops.add(y, ops.reshape(b, (-1,) + (1,) * self.rank))
            parts.append(y)
        return ops.concatenate(parts, axis=parts[0].ndim + self._channel_axis)

    def _project(self, x, dp=None):
        return self._conv_gates(x, self.kernel, dp, self.strides, self.padding,
                                self.dilation_rate, bias=self.bias)

    def _recur(self, xp, states, rec_mask):
        h, c = states
        z = ops.add(xp, self._conv_gates(h, self.recurrent_kernel, rec_mask, 1, "same", 1))
        i = self.recurrent_activation(self._gate(z, 0))
        f = self.recurrent_activation(self._gate(z, 1))
        g = self.activation(self._gate(z, 2))
        o = self.recurrent_activation(self._gate(z, 3))
        c = ops.add(ops.multiply(f, c), ops.multiply(i, g))
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def compute_output_shape(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        spatial = inputs_shape[1:-1] if self.data_format == "channels_last" \
            else inputs_shape[2:]
        shape = (inputs_shape[0],) + self._state_shape(spatial)
        return shape, [shape, shape]

    def get_config(self):
        return self._config(
            "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
            "activation", "recurrent_activation", "use_bias", "kernel_initializer",
            "recurrent_initializer", "bias_initializer", "unit_forget_bias",
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
            "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
            "recurrent_dropout", "seed")


def _cell_property(name):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's `{name}` (read-only, as in Keras).")


_OWN_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
             "activation", "recurrent_activation", "use_bias", "kernel_initializer",
             "recurrent_initializer", "bias_initializer", "unit_forget_bias",
             "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
             "activity_regularizer", "kernel_constraint", "recurrent_constraint",
             "bias_constraint", "dropout", "recurrent_dropout", "seed")


class _ConvLSTM(RNN):
    """RNN over a ConvLSTMCell of the class' rank: inputs (batch, time, spatial...,
    channels) or, channels_first, (batch, time, channels, spatial...)."""
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(
            self.rank, _check_filters(type(self).__name__, filters), kernel_size,
            strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            name="conv_lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    filters = _cell_property("filters")
    kernel_size = _cell_property("kernel_size")
    strides = _cell_property("strides")
    padding = _cell_property("padding")
    data_format = _cell_property("data_format")
    dilation_rate = _cell_property("dilation_rate")
    activation = _cell_property("activation")
    recurrent_activation = _cell_property("recurrent_activation")
    use_bias = _cell_property("use_bias")
    kernel_initializer = _cell_property("kernel_initializer")
    recurrent_initializer = _cell_property("recurrent_initializer")
    bias_initializer = _cell_property("bias_initializer")
    unit_forget_bias = _cell_property("unit_forget_bias")
    kernel_regularizer = _cell_property("kernel_regularizer")
    recurrent_regularizer = _cell_property("recurrent_regularizer")
    bias_regularizer = _cell_property("bias_regularizer")
    kernel_constraint = _cell_property("kernel_constraint")
    recurrent_constraint = _cell_property("recurrent_constraint")
    bias_constraint = _cell_property("bias_constraint")
    dropout = _cell_property("dropout")
    recurrent_dropout = _cell_property("recurrent_dropout")
    seed = _cell_property("seed")

    @property
    def state_size(self):
        """Two states (h, c), each a feature map of the cell's ``state_shape``; -1 per
        state as Keras' cell says."""
        return [-1, -1]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        b, t = sequences_shape[0], sequences_shape[1]
        state = self.cell.compute_output_shape((b,) + tuple(sequences_shape[2:]))[0][1:]
        out = (b, t) + state if self.return_sequences else (b,) + state
        return (out, (b,) + state, (b,) + state) if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def _given_states(self, initial_state, b, dt):
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        if len(given) != 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects 2 initial state "
                             f"tensors (h, c) in `initial_state`, got {len(given)}")
        want = (b,) + self.cell.state_shape
        out = []
        for s in given:
            s = s if isinstance(s, Tensor) else Tensor(as_array(s))
            if s.dtype != dt and s.dtype.kind == "f":
                s = ops.cast(s, dt)
            if tuple(s.shape) != want:
                raise ValueError(f"{type(self).__name__} {self.name!r}: `initial_state` "
                                 f"tensors must have shape {want}, got {tuple(s.shape)}")
            out.append(s)
        return out

    def get_config(self):
        c = RNN.get_config(self)
        del c["cell"]
        cell = self.cell.get_config()
        for k in _OWN_KEYS:
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


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM: inputs (batch, time, steps, channels)."""
    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM: inputs (batch, time, rows, cols, channels)."""
    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM: inputs (batch, time, dim1, dim2, dim3, channels)."""
    rank = 3
