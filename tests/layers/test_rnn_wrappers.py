"""RNN(cell) with the built-in cells, StackedRNNCells and custom cells; Bidirectional;
TimeDistributed; stateful states: against tf.keras (Keras 3) on the same weights and
inputs (outputs, states, masks, float32 and float64, weights layout, configs, .keras files
both ways, training), gradients by finite differences in float64, argument errors; and
the numeric parts of the keras-io guide "Working with RNNs"."""
import json
import zipfile

import numpy as np
import pytest

import fastkeras as fk
from _gradcheck import check, numeric_grad  # tests/ is on sys.path (its conftest.py)


def _np(x):
    return np.asarray(x)


def _flat(x):
    if not hasattr(x, "shape"):  # lists, tuples, Keras' tracked lists
        return [v for item in x for v in _flat(item)]
    return [x]


def _close(got, want, dtype="float32"):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for g, w in zip(got, want):
        assert tuple(np.shape(g)) == tuple(np.shape(w))
        np.testing.assert_allclose(_np(g), _np(w), **tol)


def _keras():
    import keras

    return keras


def _pair(make):
    """The same construction in tf.keras and fastkeras."""
    return make(_keras()), make(fk)


def _copy_weights(ref, ours, rng=None):
    weights = ref.get_weights()
    if rng is not None:  # non-trivial biases too
        weights = [rng.normal(size=w.shape).astype(w.dtype) * 0.5 for w in weights]
        ref.set_weights(weights)
    ours.set_weights(weights)


@pytest.fixture
def seqs(rng):
    x = rng.normal(size=(3, 6, 4))
    mask = np.ones((3, 6), bool)
    mask[0, 4:] = False   # padded tail
    mask[1, :2] = False   # padded head
    mask[2, 3] = False    # a hole
    return x, mask


# ------------------------------------------------------------------ RNN over each cell
CELLS = {
    "simple": lambda L, dt: L.SimpleRNNCell(3, dtype=dt),
    "lstm": lambda L, dt: L.LSTMCell(3, dtype=dt),
    "gru": lambda L, dt: L.GRUCell(3, dtype=dt),
    "gru_reset_before": lambda L, dt: L.GRUCell(3, reset_after=False, dtype=dt),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, dict(return_sequences=True, return_state=True),
                                     dict(return_sequences=True, go_backwards=True),
                                     dict(return_sequences=True, zero_output_for_mask=True)])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_rnn_over_each_cell_matches_tf_keras(tf, rng, seqs, cell, options, dtype):
    x, mask = seqs
    x = x.astype(dtype)
    ref, ours = _pair(lambda lib: lib.layers.RNN(CELLS[cell](lib.layers, dtype), dtype=dtype,
                                                 **options))
    ref(x)
    ours(x)
    _copy_weights(ref, ours, rng)
    _close(ours(x), ref(x), dtype)
    _close(ours(x, mask=mask), ref(x, mask=mask), dtype)
    if options.get("return_state"):
        assert isinstance(ours(x), tuple) and len(ours(x)) == len(ref(x))


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_the_layers_are_rnn_over_their_cell(rng, seqs, name):
    """LSTM(u) and RNN(LSTMCell(u)) give the same numbers (the guide's statement), the
    layer's weights live in its cell and its options are the cell's."""
    x, mask = seqs
    layer = getattr(fk.layers, name)(3, return_sequences=True)
    wrapped = fk.layers.RNN(getattr(fk.layers, name + "Cell")(3), return_sequences=True)
    layer(x)
    wrapped(x)
    _copy_weights(layer, wrapped)
    np.testing.assert_array_equal(_np(layer(x, mask=mask)), _np(wrapped(x, mask=mask)))
    assert isinstance(layer, fk.layers.RNN) and isinstance(layer.cell, type(wrapped.cell))
    assert layer.units == layer.cell.units == 3 and layer.weights[0] is layer.cell.kernel


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stacked_cells_match_tf_keras(tf, rng, seqs, dtype):
    x, mask = seqs
    x = x.astype(dtype)

    def make(lib):
        L = lib.layers
        cells = [L.LSTMCell(3, dtype=dtype), L.GRUCell(2, dtype=dtype),
                 L.SimpleRNNCell(2, dtype=dtype)]
        if dtype == "float64":  # a list makes a float32 StackedRNNCells (Keras' zero states)
            cells = L.StackedRNNCells(cells, dtype=dtype)
        return L.RNN(cells, return_sequences=True, return_state=True, go_backwards=True,
                     dtype=dtype)

    ref, ours = _pair(make)
    ref(x)
    ours(x)
    _copy_weights(ref, ours, rng)
    got, want = ours(x, mask=mask), ref(x, mask=mask)
    # (outputs, [h, c] of the LSTM cell, the GRU's h, the SimpleRNN's h), as Keras nests them
    assert len(got) == len(want) == 4 and len(got[1]) == 2
    _close(got, want, dtype)
    assert isinstance(ours.cell, fk.layers.StackedRNNCells)
    assert ours.cell.state_size == [[3, 3], 2, 2] and ours.cell.output_size == 2
    # nested initial states (or the same tensors flat)
    init = [[rng.normal(size=(3, 3)).astype(dtype)] * 2, rng.normal(size=(3, 2)).astype(dtype),
            rng.normal(size=(3, 2)).astype(dtype)]
    _close(ours(x, initial_state=init), ref(x, initial_state=init), dtype)
    _close(ours(x, initial_state=_flat(init)), ref(x, initial_state=init), dtype)


def _minimal_cell(lib):
    """The RNN docstring's MinimalRNNCell (Keras), in the library under test."""
    class MinimalRNNCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev_output = states[0]
            h = lib.ops.matmul(inputs, self.kernel)
            output = h + lib.ops.matmul(prev_output, self.recurrent_kernel)
            return output, [output]

    return MinimalRNNCell


def _two_state_cell(lib):
    """A cell with two states of different sizes, an output_size, its own initial state
    and a training argument (ignored)."""
    ops = lib.ops

    class TwoStateCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, 2 * units]
            self.output_size = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
            self.u = self.add_weight(shape=(2 * self.units, self.units), name="u")

        def call(self, inputs, states, training=False):
            a, b = states
            h = ops.tanh(ops.matmul(inputs, self.w) + ops.matmul(b, self.u) + a)
            return h, [h, ops.concatenate([h, a], axis=-1)]

        def get_initial_state(self, batch_size=None):
            return [ops.ones((batch_size, self.units)) * 0.5,
                    ops.zeros((batch_size, 2 * self.units))]

    return TwoStateCell


@pytest.mark.parametrize("make_cell", [_minimal_cell, _two_state_cell])
def test_custom_cells_match_tf_keras(tf, rng, seqs, make_cell):
    x, mask = seqs
    x = x.astype("float32")
    ref, ours = _pair(lambda lib: lib.layers.RNN(make_cell(lib)(3), return_sequences=True,
                                                 return_state=True))
    ref(x)
    ours(x)
    _copy_weights(ref, ours, rng)
    _close(ours(x), ref(x))
    _close(ours(x, mask=mask), ref(x, mask=mask))
    # a plain object with call / state_size works too (called step by step)

    class Plain:
        state_size = 3

        def call(self, inputs, states):
            h = fk.ops.add(states[0], fk.ops.sum(inputs, axis=-1, keepdims=True))
            return h, [h]

    out = fk.layers.RNN(Plain(), return_sequences=True)(x)
    np.testing.assert_allclose(_np(out)[:, -1], np.repeat(x.sum(axis=(1, 2))[:, None], 3, 1),
                               rtol=1e-5)


# ------------------------------------------------------------------ Bidirectional
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("inner", ["LSTM", "GRU"])
def test_bidirectional_matches_tf_keras(tf, rng, seqs, inner, merge_mode, dtype):
    x, mask = seqs
    x = x.astype(dtype)
    for options in ({}, dict(return_sequences=True, return_state=True)):
        ref, ours = _pair(lambda lib: lib.layers.Bidirectional(
            getattr(lib.layers, inner)(3, dtype=dtype, **options), merge_mode=merge_mode,
            dtype=dtype))
        ref(x)
        ours(x)
        _copy_weights(ref, ours, rng)
        got, want = ours(x, mask=mask), ref(x, mask=mask)
        assert isinstance(got, tuple) == isinstance(want, tuple) == bool(
            options or merge_mode is None)
        _close(got, want, dtype)
        _close(ours(x), ref(x), dtype)
        # copies named after the wrapped layer (lstm_3 -> forward_lstm_3, backward_lstm_3)
        assert ours.forward_layer.name.startswith("forward_" + inner.lower())
        assert ours.backward_layer.name == "backward_" + ours.forward_layer.name[8:]
        assert ours.backward_layer.go_backwards and not ours.forward_layer.go_backwards


def test_bidirectional_backward_layer_and_initial_state(tf, rng, seqs):
    x, mask = seqs
    x = x.astype("float32")

    def make(lib):
        L = lib.layers
        return L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True),
                               backward_layer=L.LSTM(3, activation="relu",
                                                     return_sequences=True,
                                                     return_state=True, go_backwards=True),
                               merge_mode="sum")

    ref, ours = _pair(make)
    ref(x)
    ours(x)
    _copy_weights(ref, ours, rng)
    init = [rng.normal(size=(3, 3)).astype("float32") for _ in range(4)]
    _close(ours(x, initial_state=init), ref(x, initial_state=init))
    _close(ours(x, mask=mask), ref(x, mask=mask))
    assert ours.backward_layer.activation is fk.activations.relu


def test_masks_through_the_wrappers_match_tf_keras(tf, rng):
    """Embedding(mask_zero) -> Bidirectional(LSTM) -> TimeDistributed(Dense) -> RNN(GRUCell):
    the masks Keras attaches, and the numbers, eager and as a functional model."""
    ids = rng.integers(1, 9, size=(3, 7))
    ids[0, 5:] = 0
    ids[1, :2] = 0
    ids[2, 3] = 0

    def make(lib):
        L = lib.layers
        return [L.Embedding(9, 4, mask_zero=True),
                L.Bidirectional(L.LSTM(3, return_sequences=True)),
                L.TimeDistributed(L.Dense(2, activation="tanh")),
                L.RNN(L.GRUCell(2), return_sequences=True)]

    ref, ours = _pair(make)
    y_ref, y = ids, ids
    for r, o in zip(ref, ours):
        y_ref, y = r(y_ref), o(y)
        _copy_weights(r, o, rng)
    y_ref, y = ids, ids
    for r, o in zip(ref, ours):
        y_ref, y = r(y_ref), o(y)
        np.testing.assert_array_equal(_np(y._keras_mask), _np(y_ref._keras_mask))
    _close(y, y_ref)
    models = []
    for lib, chain in ((_keras(), ref), (fk, ours)):
        i = lib.Input((None,), dtype="int32")
        h = i
        for layer in chain:
            h = layer(h)
        models.append(lib.Model(i, h))
    _close(models[1](ids), models[0](ids))


# ------------------------------------------------------------------ TimeDistributed
@pytest.mark.parametrize("training", [False, True])
def test_time_distributed_matches_tf_keras(tf, rng, training):
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")
    makers = [lambda L: L.Dense(2),                   # one product over batch * time
              lambda L: L.Conv1D(2, 3, padding="same"),
              lambda L: L.BatchNormalization()]       # per step: its batch statistics
    for make in makers:
        ref, ours = _pair(lambda lib: lib.layers.TimeDistributed(make(lib.layers)))
        ref(x)
        ours(x)
        ref.set_weights([np.abs(w) + 0.5 for w in ref.get_weights()])  # variances > 0
        _copy_weights(ref, ours)
        _close(ours(x, training=training), ref(x, training=training))
        assert tuple(ours.compute_output_shape((None, 4, 5, 3))) == \
            tuple(ref.compute_output_shape((None, 4, 5, 3)))
        _close([w.numpy() for w in ours.weights], [_np(w) for w in ref.weights])


# ------------------------------------------------------------------ stateful layers
@pytest.mark.parametrize("make", [lambda L: L.LSTM(3, stateful=True),
                                  lambda L: L.GRU(3, stateful=True, return_sequences=True),
                                  lambda L: L.SimpleRNN(3, stateful=True),
                                  lambda L: L.RNN([L.LSTMCell(2), L.GRUCell(3)],
                                                  stateful=True)],
                         ids=["lstm", "gru", "simple_rnn", "stacked"])
def test_stateful_states_carry_over_and_reset(tf, rng, make):
    xs = [rng.normal(size=(4, 5, 3)).astype("float32") for _ in range(3)]
    ref, ours = _pair(lambda lib: make(lib.layers))
    # built, not called: Keras 3.15's reset_state fails on a stack's nested states
    ref.build((4, 5, 3))
    ours.build((4, 5, 3))
    _copy_weights(ref, ours, rng)
    assert len(ours.weights) == len(ref.weights)  # the states are no weights
    firsts = []
    for x in xs:
        firsts.append(_np(ours(x)))
        np.testing.assert_allclose(firsts[-1], _np(ref(x)), rtol=1e-5, atol=1e-6)
        _close([s.numpy() for s in _flat(ours.states)], [_np(s) for s in _flat(ref.states)])
    ours.reset_states()
    assert all(not s.numpy().any() for s in _flat(ours.states))
    np.testing.assert_array_equal(_np(ours(xs[0])), firsts[0])
    # tf.keras 2's reset_states(states=values): the next call starts from them
    values = [rng.normal(size=tuple(s.shape)).astype("float32") for s in _flat(ours.states)]
    ours.reset_states(values)
    fresh = make(fk.layers)
    fresh.stateful = False
    fresh(xs[1])
    fresh.set_weights(ours.get_weights())
    structure = [values[:2], values[2]] if len(values) == 3 else values
    np.testing.assert_allclose(_np(ours(xs[1])), _np(fresh(xs[1], initial_state=structure)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        ours(xs[0][:2])


def test_stateful_bidirectional_and_the_batch_size_rule(tf, rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    ref, ours = _pair(lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3, stateful=True)))
    ref(x)
    ours(x)
    _copy_weights(ref, ours, rng)
    ref.reset_states()
    ours.reset_states()
    for _ in range(2):
        _close(ours(x), ref(x))
    assert len(ours.states) == len(ref.states) == 4
    _close([s.numpy() for s in ours.states], [_np(s) for s in ref.states])
    with pytest.raises(AttributeError, match="stateful"):
        fk.layers.Bidirectional(fk.layers.LSTM(2)).reset_states()
    with pytest.raises(ValueError, match="batch size must be static"):
        fk.Sequential([fk.Input((4, 3)), fk.layers.LSTM(2, stateful=True)])
    model = fk.Sequential([fk.Input((4, 3), batch_size=2), fk.layers.LSTM(2, stateful=True)])
    assert [tuple(s.shape) for s in model.layers[0].states] == [(2, 2), (2, 2)]
    assert fk.layers.LSTM(2).states is None


# ------------------------------------------------------------------ weights and configs
def _all_wrappers(lib, mask_zero=False):
    L = lib.layers
    i = lib.Input((6, 4))
    h = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="sum")(i)
    h = L.RNN([L.LSTMCell(3), L.GRUCell(2, reset_after=False)], return_sequences=True)(h)
    h = L.TimeDistributed(L.Dense(2))(h)
    h = L.Bidirectional(L.SimpleRNN(2), backward_layer=L.GRU(2, go_backwards=True))(h)
    return lib.Model(i, h)


def test_weights_layout_matches_tf_keras(tf, rng):
    ref, ours = _pair(_all_wrappers)
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert ours.count_params() == ref.count_params()
    _copy_weights(ref, ours, rng)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    _close(ours(x), ref(x))


def test_configs_match_tf_keras_and_round_trip(tf):
    keras = _keras()

    def made(lib):
        L = lib.layers
        return [L.RNN(L.LSTMCell(3), return_sequences=True, go_backwards=True),
                L.RNN([L.GRUCell(2), L.SimpleRNNCell(3)], stateful=True),
                L.StackedRNNCells([L.LSTMCell(2)]),
                L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave"),
                L.Bidirectional(L.GRU(2), backward_layer=L.GRU(2, go_backwards=True,
                                                               activation="relu")),
                L.TimeDistributed(L.Dense(2)),
                L.LSTM(3), L.GRU(3), L.SimpleRNN(3), L.LSTMCell(3), L.GRUCell(3),
                L.SimpleRNNCell(3)]

    def keys(config):  # the keys, the nested layers' and cells' too
        out = set()
        for k, v in config.items():
            out.add(k)
            if k in ("cell", "layer", "backward_layer"):
                out |= {f"{k}.{kk}" for kk in keys(v["config"])}
            if k == "cells":
                for j, item in enumerate(v):
                    out |= {f"{k}[{j}].{kk}" for kk in keys(item["config"])}
        return out

    for ref, ours in zip(made(keras), made(fk)):
        ours_config, ref_config = ours.get_config(), ref.get_config()
        assert keys(ours_config) == keys(ref_config), type(ours).__name__
        again = type(ours).from_config(ours_config)
        assert json.dumps(again.get_config(), sort_keys=True, default=str) == \
            json.dumps(ours_config, sort_keys=True, default=str)
        # Keras' config (DTypePolicy dicts, Keras' initializer keys) loads here
        from_keras = type(ours).from_config(ref_config)
        assert keys(from_keras.get_config()) == keys(ref_config)
    bi = made(fk)[3].get_config()
    assert bi["layer"]["class_name"] == "LSTM"
    assert bi["layer"]["config"]["name"].startswith("forward_lstm")
    assert bi["backward_layer"]["config"]["go_backwards"] is True
    assert bi["layer"]["config"]["zero_output_for_mask"] is True  # return_sequences


def test_keras_files_move_both_ways(tf, rng, tmp_path):
    keras = _keras()
    ref, ours = _pair(_all_wrappers)
    _copy_weights(ref, ours, rng)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    ours.save(tmp_path / "ours.keras")
    ref.save(tmp_path / "ref.keras")
    _close(keras.models.load_model(tmp_path / "ours.keras")(x), ours(x))
    _close(fk.models.load_model(tmp_path / "ref.keras")(x), ref(x))
    np.testing.assert_array_equal(_np(fk.models.load_model(tmp_path / "ours.keras")(x)),
                                  _np(ours(x)))
    with zipfile.ZipFile(tmp_path / "ours.keras") as z:
        layers = json.loads(z.read("config.json"))["config"]["layers"]
    with zipfile.ZipFile(tmp_path / "ref.keras") as z:
        ref_layers = json.loads(z.read("config.json"))["config"]["layers"]
    assert [l["class_name"] for l in layers] == [l["class_name"] for l in ref_layers]
    # weights files name the nested layers by attribute, as Keras 3 does
    ours.save_weights(tmp_path / "ours.weights.h5")
    ref.load_weights(tmp_path / "ours.weights.h5")
    _close(ref(x), ours(x))


def test_custom_cell_saves_and_loads(rng, tmp_path):
    @fk.saving.register_keras_serializable(package="rnn_wrappers_test")
    class SavedCell(_minimal_cell(fk)):
        def get_config(self):
            return dict(super().get_config(), units=self.units)

    x = rng.normal(size=(2, 5, 3)).astype("float32")
    model = fk.Sequential([fk.Input((5, 3)), fk.layers.RNN(SavedCell(4)),
                           fk.layers.Dense(1)])
    model.save(tmp_path / "c.keras")
    loaded = fk.models.load_model(tmp_path / "c.keras")
    assert type(loaded.layers[0].cell) is SavedCell
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))


# ------------------------------------------------------------------ gradients (float64)
def _fresh(layer, x, rng):
    layer(x)
    layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])
    return layer


def test_input_gradients_by_finite_differences(rng, seqs):
    x, mask = seqs
    L = fk.layers
    cases = [
        (L.RNN(_minimal_cell(fk)(3, dtype="float64"), return_sequences=True,
               dtype="float64"), None),
        (L.RNN([L.LSTMCell(2, dtype="float64"), L.GRUCell(3, dtype="float64")],
               dtype="float64"), mask),
        (L.Bidirectional(L.GRU(2, return_sequences=True, dtype="float64"), dtype="float64"),
         mask),
        (L.Bidirectional(L.LSTM(2, dtype="float64"), merge_mode="mul", dtype="float64"),
         mask),
        (L.TimeDistributed(L.Dense(2, activation="tanh", dtype="float64"), dtype="float64"),
         None),
    ]
    for layer, m in cases:
        _fresh(layer, x, rng)
        check(lambda v, layer=layer, m=m: layer(v, mask=m), x, rtol=1e-5, atol=1e-8)


def test_weight_gradients_by_finite_differences(rng, seqs):
    x, mask = seqs
    layer = _fresh(fk.layers.Bidirectional(fk.layers.LSTM(2, return_sequences=True,
                                                          dtype="float64"),
                                           dtype="float64"), x, rng)
    g = rng.normal(size=(3, 6, 4))
    for w in layer.trainable_weights:
        with fk.GradientTape() as tape:
            loss = fk.ops.sum(fk.ops.multiply(layer(x, mask=mask), g))
        analytic = tape.gradient(loss, w).numpy()
        saved = w.numpy()

        def f(value, w=w):
            w.assign(value)
            return float(np.sum(_np(layer(x, mask=mask)) * g))

        numeric = numeric_grad(f, saved)
        w.assign(saved)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------ training
def test_fit_bidirectional_lstm_matches_tf_keras(tf, rng):
    x = rng.normal(size=(32, 5, 3)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")

    def make(lib):
        L = lib.layers
        return lib.Sequential([lib.Input((5, 3)),
                               L.Bidirectional(L.LSTM(4, return_sequences=True)),
                               L.Bidirectional(L.GRU(3), merge_mode="sum"), L.Dense(1)])

    ref, ours = _pair(make)
    _copy_weights(ref, ours, rng)
    for model, lib in ((ref, _keras()), (ours, fk)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    h_ref = ref.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-4)
    _close([w.numpy() for w in ours.weights], [_np(w) for w in ref.weights])


# ------------------------------------------------------------------ argument errors
def test_bad_arguments_raise_naming_them():
    L = fk.layers
    bad = [
        (lambda: L.RNN(object()), "cell"),
        (lambda: L.RNN(type("NoSize", (), {"call": lambda self, x, s: (x, s)})()),
         "state_size"),
        (lambda: L.RNN(type("BadSize", (), {"call": lambda self, x, s: (x, s),
                                            "state_size": "3"})()), "state_size"),
        (lambda: L.StackedRNNCells([L.LSTMCell(2), object()]), "call"),
        (lambda: L.StackedRNNCells([]), "cells"),
        (lambda: L.LSTMCell(0), "units"),
        (lambda: L.GRUCell(2, dropout=1.5), "dropout"),
        (lambda: L.SimpleRNNCell(2, recurrent_dropout=-0.1), "recurrent_dropout"),
        (lambda: L.LSTM(2, use_cudnn="yes"), "use_cudnn"),
        (lambda: L.GRU(2, time_major=True), "time_major"),
        (lambda: L.Bidirectional("lstm"), "layer"),
        (lambda: L.Bidirectional(L.LSTM(2), merge_mode="max"), "merge_mode"),
        (lambda: L.Bidirectional(L.LSTM(2), backward_layer="gru"), "backward_layer"),
        (lambda: L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2)), "go_backwards"),
        (lambda: L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(
            2, go_backwards=True, return_sequences=True)), "return_sequences"),
        (lambda: L.Bidirectional(L.Dense(2)), "layer"),
        (lambda: L.TimeDistributed(L.Dense), "layer"),
    ]
    for make, name in bad:
        with pytest.raises(ValueError, match=name):
            make()
    x = np.zeros((2, 4, 3), "float32")
    with pytest.raises(ValueError, match="initial_state"):
        L.LSTM(2)(x, initial_state=[np.zeros((2, 2), "float32")])
    with pytest.raises(ValueError, match="initial_state"):
        L.GRU(2)(x, initial_state=[np.zeros((3, 2), "float32")])
    with pytest.raises(ValueError, match="initial_state"):
        L.Bidirectional(L.GRU(2))(x, initial_state=[np.zeros((2, 2), "float32")] * 3)
    with pytest.raises(ValueError, match="mask"):
        L.RNN(L.GRUCell(2))(x, mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="mask"):
        L.TimeDistributed(L.Dense(2))(x, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        L.TimeDistributed(L.Dense(2))(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="unroll"):
        L.RNN(L.LSTMCell(2), unroll=True)(fk.Input((None, 3)))
    with pytest.raises(ValueError, match="states"):
        s = L.LSTM(2, stateful=True)
        s(x)
        s.reset_states([np.zeros((2, 2))])


# ------------------------------------------------------------------ "Working with RNNs"
def test_working_with_rnns_guide(tf, rng):
    """The guide's models (parameter counts and output shapes), cross-batch statefulness
    and state reuse (layer.states as another layer's initial_state), and RNN(LSTMCell)
    trained like LSTM, against tf.keras."""
    results = []
    for lib in (_keras(), fk):
        L = lib.layers
        out = {}
        m = lib.Sequential([L.Embedding(input_dim=1000, output_dim=64), L.LSTM(128),
                            L.Dense(10)])
        m.build((None, None))
        out["lstm_params"] = m.count_params()
        m = lib.Sequential([L.Embedding(input_dim=1000, output_dim=64),
                            L.GRU(256, return_sequences=True), L.SimpleRNN(128),
                            L.Dense(10)])
        m.build((None, None))
        out["gru_params"] = m.count_params()
        enc_in = L.Input(shape=(None,))
        enc = L.Embedding(input_dim=1000, output_dim=64)(enc_in)
        output, state_h, state_c = L.LSTM(64, return_state=True, name="encoder")(enc)
        dec_in = L.Input(shape=(None,))
        dec = L.Embedding(input_dim=2000, output_dim=64)(dec_in)
        dec_out = L.LSTM(64, name="decoder")(dec, initial_state=[state_h, state_c])
        m = lib.Model([enc_in, dec_in], L.Dense(10)(dec_out))
        out["seq2seq_params"] = m.count_params()
        out["seq2seq_shapes"] = [tuple(t.shape) for t in (output, state_h, state_c)]
        m = lib.Sequential([L.Bidirectional(L.LSTM(64, return_sequences=True),
                                            input_shape=(5, 10)),
                            L.Bidirectional(L.LSTM(32)), L.Dense(10)])
        out["bidirectional_params"] = m.count_params()
        out["bidirectional_shapes"] = [tuple(layer.output.shape) for layer in m.layers]
        results.append(out)
    assert results[0] == results[1]

    p = [rng.random((20, 10, 50)).astype(np.float32) for _ in range(3)]
    ref, ours = _pair(lambda lib: lib.layers.LSTM(64, stateful=True))
    ref(p[0])
    ours(p[0])
    _copy_weights(ref, ours)
    ref.reset_states()
    ours.reset_states()
    for x in p[:2]:
        _close(ours(x), ref(x))
    new_ref, new_ours = _pair(lambda lib: lib.layers.LSTM(64))
    new_ref.build((20, 10, 50))
    new_ours.build((20, 10, 50))
    _copy_weights(new_ref, new_ours)
    _close(new_ours(p[2], initial_state=ours.states), new_ref(p[2], initial_state=ref.states))
    ours.reset_states()
    assert not any(s.numpy().any() for s in ours.states)

    x = rng.random((64, 28, 28)).astype("float32")
    y = rng.integers(0, 10, 64)
    histories = []
    for lib in (_keras(), fk):
        L = lib.layers
        fused = lib.Sequential([L.LSTM(64, input_shape=(None, 28)), L.BatchNormalization(),
                                L.Dense(10)])
        wrapped = lib.Sequential([L.RNN(L.LSTMCell(64), input_shape=(None, 28)),
                                  L.BatchNormalization(), L.Dense(10)])
        wrapped.set_weights(fused.get_weights())
        np.testing.assert_allclose(_np(wrapped(x[:4])), _np(fused(x[:4])), rtol=1e-5,
                                   atol=1e-6)
        histories.append((lib, wrapped))
    (keras, ref_model), (_, our_model) = histories
    our_model.set_weights(ref_model.get_weights())
    for lib, model in histories:
        model.compile(loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer="sgd", metrics=["accuracy"])
    h_ref = ref_model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    h = our_model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-4)
