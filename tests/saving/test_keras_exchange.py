"""`.keras` files move both ways between fastkeras and tf.keras (Keras 3) for every layer
configuration of the parity suite: a one-layer functional model is saved by one library
and loaded by the other, which must predict the same numbers (float32, 1e-6)."""
import numpy as np
import pytest

import fastkeras as fk
from _layer_cases import CASES


def _model(lib, case, seed):
    name, cls, kwargs, shape, _ = case
    shapes = shape if isinstance(shape, list) else [shape]
    inputs = [lib.Input(shape=s[1:], name=f"in_{i}") for i, s in enumerate(shapes)]
    layer = getattr(lib.layers, cls)(name="probe", **kwargs)
    out = layer(inputs if isinstance(shape, list) else inputs[0])
    model = lib.Model(inputs, out, name=f"m_{name}")
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.normal(size=w.shape) * 0.5 + (0.5 if "variance" in getattr(
        w, "path", getattr(w, "name", "")) else 0)).astype("float32") for w in model.weights])
    return model


def _inputs(case, seed):
    shape = case[3]
    rng = np.random.default_rng(seed + 1)
    xs = [rng.normal(size=s).astype("float32") for s in (shape if isinstance(shape, list)
                                                         else [shape])]
    return xs if isinstance(shape, list) else xs[0]


@pytest.mark.parametrize("direction", ["fk_to_tf", "tf_to_fk"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_one_layer_model_files_move_both_ways(tf, tmp_path, case, direction):
    import keras

    seed = 3 if direction == "fk_to_tf" else 4
    writer, reader = (fk, keras.saving) if direction == "fk_to_tf" else (keras, fk.models)
    saved = _model(writer, case, seed)
    x = _inputs(case, seed)
    path = str(tmp_path / "m.keras")
    saved.save(path)
    loaded = reader.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(saved.predict(x, verbose=0)), rtol=1e-6, atol=1e-6)


def _mlp(lib):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="relu"),
                           lib.layers.Dropout(0.3), lib.layers.Dense(3, activation="softmax")],
                          name="mlp")


def _cnn(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((8, 8, 2)), L.Conv2D(4, 3, padding="same",
                                                          activation="relu"),
                           L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(),
                           L.Dense(3, activation="softmax")], name="cnn")


def _multi(lib):
    L = lib.layers
    a, b = lib.Input((5,), name="a"), lib.Input((4, 3), name="b")
    shared = L.Dense(4, activation="tanh", name="shared")
    ha = shared(a)
    hb = L.Flatten(name="flat")(L.LSTM(5, return_sequences=True, name="lstm")(b))
    hb = shared(L.Dense(5, name="proj")(hb))  # the shared layer's second call
    merged = L.Concatenate(name="cat")([ha, hb])
    inner = lib.Sequential([lib.Input((8,)), L.Dense(6, activation="relu")], name="inner")
    out1 = L.Dense(3, activation="softmax", name="cls")(inner(merged))
    out2 = L.Dense(1, name="reg")(L.Add(name="add")([ha, hb]))
    return lib.Model([a, b], [out1, out2], name="multi")


MODELS = {"mlp": (_mlp, lambda r: r.normal(size=(16, 6))),
          "cnn": (_cnn, lambda r: r.normal(size=(16, 8, 8, 2))),
          "multi": (_multi, lambda r: [r.normal(size=(16, 5)), r.normal(size=(16, 4, 3))])}


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    x = MODELS[kind][1](rng)
    x = [v.astype("float32") for v in x] if isinstance(x, list) else x.astype("float32")
    return x


def _same_predictions(a, b):
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_models_round_trip_every_direction(tf, tmp_path, kind):
    """fastkeras -> file -> fastkeras, fastkeras -> tf.keras, tf.keras -> fastkeras and
    back to tf.keras: the same predictions each time."""
    import keras

    x = _data(kind)
    ours = MODELS[kind][0](fk)
    ours.predict(x, verbose=0)
    ours.save(tmp_path / "ours.keras")
    again = fk.models.load_model(tmp_path / "ours.keras")
    _same_predictions(again.predict(x, verbose=0), ours.predict(x, verbose=0))
    assert [l.name for l in again.layers] == [l.name for l in ours.layers]
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    _same_predictions(theirs.predict(x, verbose=0), ours.predict(x, verbose=0))

    ref = MODELS[kind][0](keras)
    ref.save(tmp_path / "theirs.keras")
    mine = fk.models.load_model(tmp_path / "theirs.keras")
    _same_predictions(mine.predict(x, verbose=0), ref.predict(x, verbose=0))
    mine.save(tmp_path / "back.keras")
    back = keras.saving.load_model(tmp_path / "back.keras")
    _same_predictions(back.predict(x, verbose=0), ref.predict(x, verbose=0))


OPTIMIZERS = {
    "sgd_momentum": ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    "adam_amsgrad": ("Adam", dict(learning_rate=0.01, amsgrad=True)),
    "adamw": ("AdamW", dict(learning_rate=0.01, weight_decay=0.01)),
    "rmsprop_centered": ("RMSprop", dict(learning_rate=0.01, momentum=0.5, centered=True)),
    "adagrad": ("Adagrad", dict(learning_rate=0.05)),
    "adadelta": ("Adadelta", dict(learning_rate=1.0)),
    "adamax": ("Adamax", dict(learning_rate=0.01)),
    "nadam": ("Nadam", dict(learning_rate=0.01)),
    "lion": ("Lion", dict(learning_rate=0.001)),
}


@pytest.mark.parametrize("direction", ["tf_to_fk", "fk_to_tf"])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_training_resumes_across_libraries(tf, tmp_path, opt, direction):
    """Train 3 steps in one library, save, load in the other, train 3 more: the same
    weights as 6 steps in the first (the optimizer state travels in Keras' order)."""
    import keras

    src, dst = (keras, fk) if direction == "tf_to_fk" else (fk, keras)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    name, kw = OPTIMIZERS[opt]

    def fresh():
        m = src.Sequential([src.Input((6,)), src.layers.Dense(8, activation="tanh"),
                            src.layers.Dense(3, activation="softmax")])
        m.compile(getattr(src.optimizers, name)(**kw), "categorical_crossentropy",
                  metrics=["accuracy"])
        return m

    model = fresh()
    model.set_weights([np.random.default_rng(2).normal(size=w.shape).astype("float32") * 0.3
                       for w in model.weights])
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    other = dst.saving.load_model(str(tmp_path / "m.keras")) if dst is keras else \
        fk.models.load_model(tmp_path / "m.keras")
    assert type(other.optimizer).__name__ == name
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    other.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert int(np.asarray(other.optimizer.iterations)) == 4
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)


def _masked_rnn(lib):
    L = lib.layers
    ids = lib.Input((6,), dtype="int32", name="ids")
    h = L.Embedding(11, 4, mask_zero=True, name="emb")(ids)
    h = L.GRU(3, return_sequences=True, zero_output_for_mask=True, name="gru")(h)
    h = L.GlobalAveragePooling1D(name="gap")(h)
    seq = lib.Input((5, 2), name="seq")
    s = L.Masking(mask_value=0.0, name="mask")(seq)
    s = L.SimpleRNN(3, name="rnn")(s)
    img = lib.Input((4, 4, 2), name="img")
    g = L.GlobalMaxPooling2D(name="gmp")(L.Identity(name="ident")(img))
    return lib.Model([ids, seq, img], L.Concatenate(name="cat")([h, s, g]), name="masked")


def test_embedding_masking_and_identity_both_ways(tf, tmp_path):
    import keras

    rng = np.random.default_rng(5)
    ids = rng.integers(0, 11, size=(4, 6)).astype("int32")
    ids[:, 4:] = 0
    seq = rng.normal(size=(4, 5, 2)).astype("float32")
    seq[:, 3:] = 0
    x = [ids, seq, rng.normal(size=(4, 4, 4, 2)).astype("float32")]
    ours = _masked_rnn(fk)
    ours.save(tmp_path / "ours.keras")
    _same_predictions(keras.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0),
                      ours.predict(x, verbose=0))
    ref = _masked_rnn(keras)  # Keras records its mask computations as op nodes
    ref.save(tmp_path / "theirs.keras")
    mine = fk.models.load_model(tmp_path / "theirs.keras")
    _same_predictions(mine.predict(x, verbose=0), ref.predict(x, verbose=0))
    mine.save(tmp_path / "back.keras")  # and they go back as Keras wrote them
    _same_predictions(keras.saving.load_model(tmp_path / "back.keras").predict(x, verbose=0),
                      ref.predict(x, verbose=0))


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_legacy_h5_whole_models(tf, tmp_path, kind):
    """Keras 2 .h5 model files: written by tf.keras 2 (the tf-keras package) and by
    Keras 3's legacy writer, trained one epoch; fastkeras loads them, predicts the same
    numbers and, from the Keras 2 file's optimizer state, trains on exactly as tf.keras 2
    does. fastkeras' own .h5 files load in Keras 3."""
    import keras
    tf_keras = pytest.importorskip("tf_keras")

    x = _data(kind)
    rng = np.random.default_rng(3)
    n = len(x[0]) if isinstance(x, list) else len(x)
    for lib, name in ((tf_keras, "k2.h5"), (keras, "k3.h5")):
        ref = MODELS[kind][0](lib)
        outs = ref.outputs
        ys = [rng.normal(size=(n,) + tuple(o.shape[1:])).astype("float32") for o in outs]
        ref.compile(lib.optimizers.Adam(0.01), ["mse"] * len(outs))
        y = ys if len(ys) > 1 else ys[0]
        ref.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        ref.save(tmp_path / name)
        mine = fk.models.load_model(tmp_path / name)
        _same_predictions(mine.predict(x, verbose=0), ref.predict(x, verbose=0))
        if lib is tf_keras and kind == "multi":  # no dropout: training resumes the same
            mine.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            ref.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            for a, b in zip(mine.get_weights(), ref.get_weights()):
                np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    ours = MODELS[kind][0](fk)
    ours.save(tmp_path / "ours.h5")
    _same_predictions(keras.saving.load_model(tmp_path / "ours.h5").predict(x, verbose=0),
                      ours.predict(x, verbose=0))


def test_a_keras_lambda_with_bytecode_is_never_run(tf, tmp_path):
    """tf.keras stores a Lambda's function as marshalled bytecode: fastkeras refuses the
    file under safe_mode and, without safe_mode, still wants the function by name from
    custom_objects (it never unmarshals code)."""
    import keras

    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp))
    model.save(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="safe_mode=True"):
        fk.models.load_model(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        fk.models.load_model(tmp_path / "lam.keras", safe_mode=False)


def test_call_defaults_tf_keras_writes_into_nodes_leave_training_to_the_model(tf, tmp_path):
    """tf.keras records each layer's `call` default for `training` in the nodes it saves
    (Dropout's False); loaded in fastkeras the model's own `training` decides again, so a
    loaded Dropout drops out under training=True (and fit), while an explicit
    training=False on a nested model (not a default) is kept."""
    import keras

    inner_in = keras.Input((6,))
    inner = keras.Model(inner_in, keras.layers.Dropout(0.5)(inner_in), name="inner")
    x_in = keras.Input((6,))
    h = keras.layers.Dropout(0.5)(x_in)
    frozen = inner(h, training=False)
    model = keras.Model(x_in, keras.layers.Concatenate()([h, frozen]))
    path = str(tmp_path / "dropout.keras")
    model.save(path)
    loaded = fk.models.load_model(path)
    x = np.ones((64, 6), "float32")
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), np.ones((64, 12)))
    out = np.asarray(loaded(x, training=True))
    assert set(np.unique(out[:, :6])) == {0.0, 2.0}  # the top-level Dropout is active
    # the nested model's explicit training=False holds: its Dropout passes h through
    np.testing.assert_array_equal(out[:, 6:], out[:, :6])
