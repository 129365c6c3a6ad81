"""ConvLSTM1D / 2D / 3D (RNN over ConvLSTMCell) against tf.keras (Keras 3) on the same
weights and inputs: outputs and states for the convolution options, float32 and float64,
masks, go_backwards, stateful states, initial states, channels_first (TF's CPU runs it
for 3-D only; 1-D and 2-D are checked against our channels_last), configs, .keras and
.weights.h5 files both ways, a short fit; gradients by finite differences in float64;
dropout's invariants; argument errors."""
import json
import zipfile

import numpy as np
import pytest

import fastkeras as fk
from _gradcheck import check, numeric_grad  # tests/ is on sys.path (its conftest.py)
from fastkeras.layers.conv_lstm import ConvLSTMCell

SPATIAL = {1: (7,), 2: (5, 6), 3: (4, 5, 4)}


def _np(x):
    return np.asarray(x)


def _list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _close(got, want, dtype="float32"):
    got, want = _list(got), _list(want)
    assert len(got) == len(want)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for g, w in zip(got, want):
        assert tuple(np.shape(g)) == tuple(np.shape(w))
        np.testing.assert_allclose(_np(g), _np(w), **tol)


def _keras():
    import keras

    return keras


def _cls(lib, rank):
    return getattr(lib.layers, f"ConvLSTM{rank}D")


def _pair(rank, *args, **kwargs):
    return _cls(_keras(), rank)(*args, **kwargs), _cls(fk, rank)(*args, **kwargs)


def _same_weights(ref, ours, x, rng, scale=0.4, **call):
    """Build both on x and give both the same random weights (non-trivial biases)."""
    ref(x, **call)
    ours(x, **call)
    weights = [(rng.normal(size=w.shape) * scale).astype(w.dtype) for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    return weights


def _seq(rng, rank, batch=2, steps=3, channels=2, dtype="float32"):
    return rng.normal(size=(batch, steps) + SPATIAL[rank] + (channels,)).astype(dtype)


# ------------------------------------------------------------------ outputs vs tf.keras
OPTIONS = [
    dict(kernel_size=3),
    dict(kernel_size=3, padding="same", return_sequences=True),
    dict(kernel_size=2, padding="same"),  # even kernel: TF's uneven "same" padding
    dict(kernel_size=2, strides=2, return_state=True),
    dict(kernel_size=2, padding="same", strides=2, return_sequences=True),
    dict(kernel_size=2, dilation_rate=2, padding="same", return_sequences=True,
         go_backwards=True),
    dict(kernel_size=2, dilation_rate=2, go_backwards=True, return_state=True),
    dict(kernel_size=3, padding="same", use_bias=False, activation="relu",
         recurrent_activation="hard_sigmoid", return_sequences=True, return_state=True),
]


# every option in float32; in float64 those covering padding, strides, dilation and states
CASES = [(o, "float32") for o in range(len(OPTIONS))] + [(o, "float64") for o in (1, 3, 5, 7)]


@pytest.mark.parametrize("options,dtype", CASES)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_outputs_match_tf_keras(tf, rng, rank, options, dtype):
    opts = OPTIONS[options]
    x = _seq(rng, rank, dtype=dtype)
    ref, ours = _pair(rank, 3, dtype=dtype, **opts)
    _same_weights(ref, ours, x, rng)
    got, want = ours(x), ref(x)
    _close(got, want, dtype)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    for g in _list(got):
        assert np.dtype(g.dtype) == np.dtype(dtype)


def test_channels_first(tf, rng):
    # TF's CPU runs NCDHW convolutions: ConvLSTM3D is checked against tf.keras
    # (TF's CPU has no NCDHW Conv3D; Keras runs it through XLA, slowly: one small call)
    x = np.moveaxis(_seq(rng, 3, batch=1, steps=1), -1, 2)
    ref, ours = _pair(3, 3, 2, padding="same", data_format="channels_first",
                      return_sequences=True, return_state=True)
    ref.build(x.shape)  # (each call of tf.keras' compiles it with XLA: one call only)
    ours.build(x.shape)
    ours.set_weights([(rng.normal(size=w.shape) * 0.4).astype("float32")
                      for w in ref.get_weights()])
    ref.set_weights(ours.get_weights())
    _close(ours(x), ref(x))
    # 1-D and 2-D (TF's CPU refuses NCHW): the same numbers as channels_last, transposed
    for rank in (1, 2, 3):
        x = _seq(rng, rank)
        last = _cls(fk, rank)(3, 2, strides=2, return_sequences=True, return_state=True)
        first = _cls(fk, rank)(3, 2, strides=2, return_sequences=True, return_state=True,
                               data_format="channels_first")
        last(x)
        first(np.moveaxis(x, -1, 2))
        first.set_weights([rng.normal(size=w.shape).astype("float32") * 0.4
                           for w in first.get_weights()])
        last.set_weights(first.get_weights())
        out, h, c = first(np.moveaxis(x, -1, 2))
        want = last(x)
        np.testing.assert_allclose(np.moveaxis(_np(out), 2, -1), _np(want[0]), rtol=1e-5,
                                   atol=1e-6)
        for s, w in zip((h, c), want[1:]):
            np.testing.assert_allclose(np.moveaxis(_np(s), 1, -1), _np(w), rtol=1e-5,
                                       atol=1e-6)


@pytest.mark.parametrize("zero_output", [False, True])
def test_masks_match_tf_keras(tf, rng, zero_output):
    x = _seq(rng, 2, batch=3, steps=5)
    mask = np.ones((3, 5), bool)
    mask[0, 3:] = False  # padded tail
    mask[1, :2] = False  # padded head
    mask[2, 2] = False   # a hole
    for options in (dict(return_sequences=True, zero_output_for_mask=zero_output),
                    dict(return_state=True), dict(return_sequences=True, go_backwards=True)):
        ref, ours = _pair(2, 3, 2, padding="same", **options)
        _same_weights(ref, ours, x, rng, mask=mask)
        _close(ours(x, mask=mask), ref(x, mask=mask))


def test_masks_in_a_model(tf, rng):
    x = _seq(rng, 1, batch=3, steps=4)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], bool)

    def make(lib):
        i = lib.Input((4, 7, 2))
        m = lib.Input((4,), dtype="bool")
        h = lib.layers.ConvLSTM1D(3, 3, return_sequences=True)(i, mask=m)
        h = lib.layers.ConvLSTM1D(2, 2, padding="same")(h)
        return lib.Model([i, m], h)

    ref, ours = make(_keras()), make(fk)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.4 for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    _close(ours([x, mask]), ref([x, mask]))


def test_initial_state_matches_tf_keras(tf, rng):
    x = _seq(rng, 2)
    ref, ours = _pair(2, 3, 2, strides=2, return_state=True)
    _same_weights(ref, ours, x, rng)
    shape = tuple(_np(ref(x)[1]).shape)
    state = [rng.normal(size=shape).astype("float32") for _ in range(2)]
    _close(ours(x, initial_state=state), ref(x, initial_state=state))
    with pytest.raises(ValueError, match="initial_state"):
        ours(x, initial_state=[state[0][:, :1], state[1]])
    with pytest.raises(ValueError, match="initial_state"):
        ours(x, initial_state=state[:1])


def test_stateful_over_two_batches_and_reset(tf, rng):
    xs = [_seq(rng, 2, batch=2, steps=2) for _ in range(2)]
    ref, ours = _pair(2, 3, 2, padding="same", stateful=True)
    ref.build(xs[0].shape)
    ours.build(xs[0].shape)
    weights = [(rng.normal(size=w.shape) * 0.4).astype("float32") for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    assert len(ours.weights) == len(ref.weights) == 3  # the states are no weights
    firsts = []
    for x in xs:
        firsts.append(_np(ours(x)))
        np.testing.assert_allclose(firsts[-1], _np(ref(x)), rtol=2e-5, atol=2e-6)
        _close([s.numpy() for s in ours.states], [_np(s) for s in ref.states])
    fresh = _cls(fk, 2)(3, 2, padding="same")
    fresh(xs[1])
    fresh.set_weights(weights)
    assert not np.allclose(firsts[1], _np(fresh(xs[1])))  # the kept states changed it
    ours.reset_states()
    ref.reset_states()
    assert all(not s.numpy().any() for s in ours.states)
    _close(ours(xs[1]), ref(xs[1]))
    with pytest.raises(ValueError, match="batch size"):
        ours(xs[0][:1])


def test_the_layer_is_rnn_over_its_cell(rng):
    layer = fk.layers.ConvLSTM2D(3, 2)
    x = _seq(rng, 2)
    layer(x)
    assert isinstance(layer, fk.layers.RNN)
    assert isinstance(layer.cell, ConvLSTMCell) and layer.cell.name == "conv_lstm_cell"
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(2, 2, 2, 12), (2, 2, 3, 12), (12,)]
    # unit_forget_bias: the forget block starts at one
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.repeat([0, 1, 0, 0], 3))
    other = fk.layers.ConvLSTM1D(2, 2, unit_forget_bias=False, bias_initializer="ones")
    other(_seq(rng, 1))
    np.testing.assert_array_equal(other.cell.bias.numpy(), np.ones(8))
    # the cell steps on its own as the layer's loop does
    cell = layer.cell
    h0 = [np.zeros((2,) + cell.state_shape, "float32")] * 2
    out, (h, c) = cell(x[:, 0], h0)
    _close(out, layer(x[:, :1]))
    assert cell.compute_output_shape(x[:, 0].shape)[0] == (2,) + cell.state_shape


def test_output_shapes_match_tf_keras(tf):
    for rank in (1, 2, 3):
        for opts in OPTIONS:
            def make(lib):
                return lib.Sequential([lib.Input((3,) + SPATIAL[rank] + (2,)),
                                       _cls(lib, rank)(3, **dict(opts, return_state=False))])
            ref, ours = make(_keras()), make(fk)
            assert ours.output_shape == ref.output_shape
            assert ours.count_params() == ref.count_params()
    ref, ours = _pair(2, 3, 2, strides=2, return_sequences=True, return_state=True)
    assert ours.compute_output_shape((None, 4, 6, 7, 2)) == \
        tuple(tuple(s) for s in ref.compute_output_shape((None, 4, 6, 7, 2)))


def test_bidirectional_matches_tf_keras(tf, rng):
    x = _seq(rng, 2)
    for opts in (dict(return_sequences=True), dict(return_state=True)):
        ref, ours = (lib.layers.Bidirectional(lib.layers.ConvLSTM2D(3, 2, padding="same",
                                                                    **opts))
                     for lib in (_keras(), fk))
        _same_weights(ref, ours, x, rng)
        _close(ours(x), ref(x))

    def make(lib):  # symbolic: the wrapper's output shapes come from the layer's
        i = lib.Input((3, 7, 2))
        outs = lib.layers.Bidirectional(lib.layers.ConvLSTM1D(2, 3, return_state=True),
                                        merge_mode="sum")(i)
        return lib.Model(i, list(outs))

    ref, ours = make(_keras()), make(fk)
    assert [tuple(o.shape) for o in ours.outputs] == [tuple(o.shape) for o in ref.outputs]
    ours.set_weights(ref.get_weights())
    x = _seq(rng, 1)
    _close(ours(x), ref(x))


# ------------------------------------------------------------------ gradients (float64)
def _fresh64(layer, x, rng, **call):
    layer(x, **call)
    layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_gradients_by_finite_differences(rng, rank):
    small = {1: (5,), 2: (4, 3), 3: (3, 2, 2)}[rank]
    x = rng.normal(size=(2, 3) + small + (2,))
    mask = np.array([[1, 1, 0], [0, 1, 1]], bool)
    opts = [dict(kernel_size=2, padding="same", return_sequences=True),
            dict(kernel_size=2, strides=2, go_backwards=True)][:1 if rank == 3 else 2]
    if rank == 1:
        opts.append(dict(kernel_size=2, dilation_rate=2, padding="same",
                         data_format="channels_first"))
    for o in opts:
        cf = o.get("data_format") == "channels_first"
        xi = np.moveaxis(x, -1, 2) if cf else x
        layer = _fresh64(_cls(fk, rank)(2, dtype="float64", **o), xi, rng, mask=mask)
        check(lambda v, layer=layer: layer(v, mask=mask), xi, rtol=1e-5, atol=1e-8)
        g = rng.normal(size=_np(layer(xi)).shape)
        for w in layer.trainable_weights:
            with fk.GradientTape() as tape:
                loss = fk.ops.sum(fk.ops.multiply(layer(xi, mask=mask), g))
            analytic = tape.gradient(loss, w).numpy()
            saved = w.numpy()

            def f(value, w=w, layer=layer):
                w.assign(value)
                return float(np.sum(_np(layer(xi, mask=mask)) * g))

            numeric = numeric_grad(f, saved)
            w.assign(saved)
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8,
                                       err_msg=f"{w.name} {o}")


def test_initial_state_gradients(rng):
    x = rng.normal(size=(2, 2, 4, 2))
    layer = _fresh64(fk.layers.ConvLSTM1D(2, 2, padding="same", dtype="float64"), x, rng)
    c0 = rng.normal(size=(2, 4, 2))
    check(lambda h: layer(x, initial_state=[h, c0]), rng.normal(size=(2, 4, 2)),
          rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------ dropout
def test_dropout_invariants(rng):
    x = _seq(rng, 2, steps=4)
    layer = fk.layers.ConvLSTM2D(3, 2, padding="same", dropout=0.5, recurrent_dropout=0.3,
                                 seed=1, return_sequences=True)
    plain = fk.layers.ConvLSTM2D(3, 2, padding="same", return_sequences=True)
    layer(x)
    plain(x)
    plain.set_weights(layer.get_weights())
    # inference: no dropout
    np.testing.assert_array_equal(_np(layer(x)), _np(plain(x)))
    a, b = _np(layer(x, training=True)), _np(layer(x, training=True))
    assert a.shape == b.shape == _np(plain(x)).shape
    assert not np.allclose(a, _np(plain(x))) and not np.allclose(a, b)  # fresh masks per call
    # the same seed, the same masks
    twin = fk.layers.ConvLSTM2D(3, 2, padding="same", dropout=0.5, recurrent_dropout=0.3,
                                seed=1, return_sequences=True)
    twin(x)
    twin.set_weights(layer.get_weights())
    again = fk.layers.ConvLSTM2D(3, 2, padding="same", dropout=0.5, recurrent_dropout=0.3,
                                 seed=1, return_sequences=True)
    again(x)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_np(twin(x, training=True)), _np(again(x, training=True)))
    # the masks: four per gate of the step input's shape, and of the state's, scaled
    cell = layer.cell
    dp, rec = cell._draw_masks(2, "float32")
    assert dp.shape == (4, 2) + x.shape[2:] and rec.shape == (4, 2) + cell.state_shape
    assert set(np.unique(dp)) <= {0.0, 2.0} and abs(dp.mean() - 1) < 0.15
    assert not np.array_equal(dp[0], dp[1])
    # training with dropout differentiates
    with fk.GradientTape() as tape:
        loss = fk.ops.sum(layer(x, training=True))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(np.isfinite(g.numpy()).all() and g.numpy().any() for g in grads)


# ------------------------------------------------------------------ configs and files
def test_configs_match_tf_keras_and_round_trip(tf):
    keras = _keras()
    for rank in (1, 2, 3):
        kwargs = dict(filters=3, kernel_size=2, strides=1, padding="same", dilation_rate=2,
                      dropout=0.1, recurrent_dropout=0.2, seed=3, return_sequences=True,
                      stateful=False, unit_forget_bias=False, kernel_regularizer="l2",
                      activity_regularizer="l1", bias_constraint="non_neg",
                      recurrent_activation="relu")
        ref, ours = _cls(keras, rank)(**kwargs), _cls(fk, rank)(**kwargs)
        ours_config, ref_config = ours.get_config(), ref.get_config()
        assert list(ours_config) == list(ref_config)
        for k in ("filters", "padding", "data_format", "dropout", "recurrent_dropout", "seed",
                  "unit_forget_bias", "return_sequences", "unroll", "zero_output_for_mask",
                  "activation", "recurrent_activation"):
            assert ours_config[k] == ref_config[k], k
        for k in ("kernel_size", "strides", "dilation_rate"):
            assert tuple(ours_config[k]) == tuple(ref_config[k]), k
        again = type(ours).from_config(ours_config)
        assert json.dumps(again.get_config(), sort_keys=True, default=str) == \
            json.dumps(ours_config, sort_keys=True, default=str)
        from_keras = type(ours).from_config(ref_config)
        assert set(from_keras.get_config()) == set(ref_config)
        assert from_keras.kernel_size == (2,) * rank and from_keras.seed == 3
    cell_ref = keras.src.layers.rnn.conv_lstm.ConvLSTMCell(2, 3, 2)
    assert set(ConvLSTMCell(2, 3, 2).get_config()) == set(cell_ref.get_config())
    assert ConvLSTMCell(2, 3, 2).state_size == cell_ref.state_size == -1


def _model(lib):
    L = lib.layers
    i = lib.Input((3, 6, 5, 2))
    h = L.ConvLSTM2D(3, 2, padding="same", return_sequences=True)(i)
    h = L.ConvLSTM2D(2, 3, strides=2, return_sequences=True)(h)
    h = L.TimeDistributed(L.Flatten())(h)
    h = L.ConvLSTM1D(2, 2, data_format="channels_last")(L.Reshape((3, 4, 2))(h))
    return lib.Model(i, h)


def test_keras_files_move_both_ways(tf, rng, tmp_path):
    import h5py

    keras = _keras()
    ref, ours = _model(keras), _model(fk)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.4 for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    x = rng.normal(size=(2, 3, 6, 5, 2)).astype("float32")
    _close(ours(x), ref(x))
    ours.save(tmp_path / "ours.keras")
    ref.save(tmp_path / "ref.keras")
    _close(keras.models.load_model(tmp_path / "ours.keras")(x), ours(x))
    _close(fk.models.load_model(tmp_path / "ref.keras")(x), ref(x))
    np.testing.assert_array_equal(_np(fk.models.load_model(tmp_path / "ours.keras")(x)),
                                  _np(ours(x)))

    def names(path):
        with zipfile.ZipFile(path) as z:
            z.extract("model.weights.h5", path.parent / path.stem)
        found = []
        with h5py.File(path.parent / path.stem / "model.weights.h5") as f:
            f.visit(lambda n: found.append(n) if isinstance(f[n], h5py.Dataset) else None)
        return sorted(found)

    ours_names = names(tmp_path / "ours.keras")
    assert ours_names == names(tmp_path / "ref.keras")
    assert "layers/conv_lstm2d/cell/vars/0" in ours_names
    assert "layers/conv_lstm2d_1/cell/vars/2" in ours_names
    ours.save_weights(tmp_path / "ours.weights.h5")
    fresh = _model(keras)
    fresh.load_weights(tmp_path / "ours.weights.h5")
    _close(fresh(x), ours(x))
    ref.save_weights(tmp_path / "ref.weights.h5")
    mine = _model(fk)
    mine.load_weights(tmp_path / "ref.weights.h5")
    _close(mine(x), ref(x))


# ------------------------------------------------------------------ training
def test_fit_matches_tf_keras(tf, rng):
    x = rng.uniform(size=(8, 3, 6, 6, 1)).astype("float32")
    y = (rng.uniform(size=(8, 3, 6, 6, 1)) > 0.5).astype("float32")

    def make(lib):
        L = lib.layers
        return lib.Sequential([
            lib.Input((3, 6, 6, 1)),
            L.ConvLSTM2D(4, 3, padding="same", return_sequences=True, activation="relu"),
            L.ConvLSTM2D(2, (1, 1), padding="same", return_sequences=True),
            L.Conv3D(1, (3, 3, 3), padding="same", activation="sigmoid"),
        ])

    ref, ours = make(_keras()), make(fk)
    ours.set_weights(ref.get_weights())
    for model, lib in ((ref, _keras()), (ours, fk)):
        model.compile(optimizer=lib.optimizers.SGD(0.5), loss="binary_crossentropy")
    h_ref = ref.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    h = ours.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-4)
    for w, wr in zip(ours.weights, ref.weights):
        np.testing.assert_allclose(w.numpy(), _np(wr), rtol=1e-3, atol=1e-5)


# ------------------------------------------------------------------ argument errors
def test_bad_arguments_raise_naming_them(rng):
    L = fk.layers
    for kwargs, name in [
        (dict(filters=0, kernel_size=2), "filters"),
        (dict(filters=2.5, kernel_size=2), "filters"),
        (dict(filters=2, kernel_size=0), "kernel_size"),
        (dict(filters=2, kernel_size=(2, 2, 2)), "kernel_size"),
        (dict(filters=2, kernel_size=2, strides=(1,)), "strides"),
        (dict(filters=2, kernel_size=2, dilation_rate=0), "dilation_rate"),
        (dict(filters=2, kernel_size=2, padding="causal"), "padding"),
        (dict(filters=2, kernel_size=2, padding="full"), "padding"),
        (dict(filters=2, kernel_size=2, data_format="channels_middle"), "data_format"),
        (dict(filters=2, kernel_size=2, strides=2, dilation_rate=2), "dilation_rate"),
        (dict(filters=2, kernel_size=2, dropout=1.5), "dropout"),
        (dict(filters=2, kernel_size=2, recurrent_dropout=-0.1), "recurrent_dropout"),
        (dict(filters=2, kernel_size=2, activation="no_such_activation"), "activation"),
    ]:
        with pytest.raises(ValueError, match=name):
            L.ConvLSTM2D(**kwargs)
    with pytest.raises(ValueError, match="rank"):
        ConvLSTMCell(4, 2, 2)
    with pytest.raises(ValueError, match="larger than the input"):
        L.ConvLSTM1D(2, 9)(_seq(rng, 1))
    with pytest.raises(ValueError, match="ndim|rank"):
        L.ConvLSTM2D(2, 2)(_seq(rng, 1))
    with pytest.raises(ValueError, match="batch size must be static"):
        fk.Sequential([fk.Input((3, 5, 2)), L.ConvLSTM1D(2, 2, stateful=True)])
    with pytest.raises(ValueError, match="spatial"):
        fk.Sequential([fk.Input((3, None, 2)), L.ConvLSTM1D(2, 2)])
