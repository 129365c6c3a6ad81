"""Model API: multi-input / shared / nested functional models, Sequential add/pop,
get_layer, weights, configs, fit options (validation, class_weight, generators,
Sequence, callbacks), predict/evaluate forms, and clear errors on bad input."""
import numpy as np
import pytest

import fastkeras as keras
from fastkeras import layers


def _data(n=96, f=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)).astype("float32")
    y = (x[:, :k].argmax(axis=1)).astype("int64")
    return x, y


def _mlp(f=6, k=3):
    return keras.Sequential([layers.Dense(16, activation="relu", input_shape=(f,)),
                             layers.Dense(k, activation="softmax")])


def test_bad_input_errors():
    x, y = _data()
    model = _mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile(optimizer="adam", loss="not_a_loss")
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        model.compile(optimizer="adam", loss="mse", metrics=["not_a_metric"])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    with pytest.raises(ValueError, match="`x` and `y` must have the same number of samples"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 6"):
        model.fit(x[:, :5], y, verbose=0)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="`x` contains 1 NaN"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="`batch_size`"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(TypeError, match="unexpected argument"):
        model.fit(x, y, epoch=3)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="class_weight.*no entry"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)


def test_fit_options_and_history():
    x, y = _data(seed=1)
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    h = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0,
                  class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(h.history)
    assert len(h.history["val_loss"]) == 3 and h.epoch == [0, 1, 2]
    assert model.history is h and model.metrics_names[0] == "loss"
    h2 = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, validation_data=(x, y),
                   validation_freq=2)
    assert h2.epoch == [2, 3] and len(h2.history["val_loss"]) == 1
    r = model.evaluate(x, y, verbose=0)
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert isinstance(r, list) and list(d) == model.log_names
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3's
    assert np.allclose(r, list(d.values()))
    p = model.predict(x, batch_size=7, verbose=0)
    assert p.shape == (96, 3) and np.allclose(p, model.predict_on_batch(x), atol=1e-6)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
    logs = model.train_on_batch(x[:8], y[:8], return_dict=True)
    assert set(logs) >= {"loss"}
    assert isinstance(model.test_on_batch(x[:8], y[:8]), list)


def test_generators_sequences_and_callbacks():
    x, y = _data(seed=2)

    class Batches(keras.utils.Sequence):
        def __init__(self):
            self.epochs_done = 0

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

        def on_epoch_end(self):
            self.epochs_done += 1

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.events = []

        def on_train_begin(self, logs=None):
            self.events.append(("train_begin", self.params["steps"]))

        def on_epoch_end(self, epoch, logs=None):
            self.events.append(("epoch_end", epoch, sorted(logs)))

        def on_batch_end(self, batch, logs=None):  # the tf.keras 1/2 name
            self.events.append(("batch", batch))
            if epoch_stop and batch == 2:
                self.model.stop_training = True

    epoch_stop = False
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seq, rec = Batches(), Recorder()
    model.fit(seq, epochs=2, verbose=0, callbacks=[rec])
    assert seq.epochs_done == 2 and rec.events[0] == ("train_begin", 6)
    assert sum(1 for e in rec.events if e[0] == "batch") == 12

    def gen():
        while True:
            for i in range(6):
                yield x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

    h = model.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    epoch_stop = True
    rec2 = Recorder()
    h = model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[rec2])
    assert len(h.history["loss"]) == 1  # stop_training ends the epoch and the run


def test_functional_multi_input_shared_and_nested():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate()([shared(a), shared(b)])
    inner = keras.Model(a, layers.Dense(2)(a), name="inner")  # nested model
    out = layers.Add()([layers.Dense(2, name="head")(merged), inner(b)])
    model = keras.Model(inputs=[a, b], outputs=out, name="two_inputs")
    assert model.get_layer("shared") is shared and model.output_shape == (None, 2)
    xa, xb = np.ones((5, 4), "float32"), np.zeros((5, 4), "float32")
    y1 = model.predict([xa, xb], verbose=0)
    y2 = model.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_allclose(y1, y2)
    # the shared layer's weights are counted once
    assert model.count_params() == 15 + 14 + 10
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], np.zeros((5, 2)), verbose=0, epochs=2)
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict(xa, verbose=0)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, layers.Dense(1)(keras.Input(shape=(2,))))


def test_sequential_add_pop_weights_and_config():
    model = keras.Sequential()
    model.add(keras.Input(shape=(5,)))
    model.add(layers.Dense(4, name="d1"))
    model.add(layers.Dense(2, name="d2"))
    assert [l.name for l in model.layers] == ["d1", "d2"] and model.output_shape == (None, 2)
    w = model.get_weights()
    assert [a.shape for a in w] == [(5, 4), (4,), (4, 2), (2,)]
    model.set_weights([np.ones_like(a) for a in w])
    assert np.allclose(model.predict(np.ones((1, 5)), verbose=0), 25)  # 4 * (5 + 1) + 1
    clone = keras.Sequential.from_config(model.get_config())
    assert [l.name for l in clone.layers] == ["d1", "d2"] and clone.output_shape == (None, 2)
    model.pop()
    assert model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(3, name="d1"))
    deferred = keras.Sequential([layers.Dense(3), layers.Dense(1)])
    assert not deferred.built
    deferred(np.zeros((2, 7), "float32"))
    assert deferred.built and deferred.count_params() == 24 + 4


def test_plot_model(tmp_path):
    pytest.importorskip("matplotlib")
    from fastkeras.utils.plotting import model_graph

    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = layers.Dense(3, name="shared")
    out = layers.Dense(2, name="head")(layers.Concatenate()([shared(a), shared(b)]))
    model = keras.Model([a, b], out)
    nodes, edges = model_graph(model)
    names = [n[0].name for n in nodes]
    assert names[:3] == ["a", "b", "shared"] and names[4] == "head"
    assert (0, 2) in edges and (1, 2) in edges and (2, 3) in edges and (3, 4) in edges
    path = keras.utils.plot_model(model, str(tmp_path / "model.png"), show_shapes=True)
    assert (tmp_path / "model.png").stat().st_size > 1000 and path.endswith("model.png")
    seq = keras.Sequential([layers.Dense(8, input_shape=(32,)), layers.Dense(4)])
    keras.utils.plot_model(seq, str(tmp_path / "seq.jpg"), show_shapes=True)
    assert (tmp_path / "seq.jpg").stat().st_size > 1000


def test_functional_config_round_trip():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    shared = layers.Dense(3, activation="relu", name="shared")
    h = layers.Concatenate(name="cat")([shared(a), b])
    out1 = layers.Dense(2, name="out1")(h)
    out2 = layers.Dense(1, activation="sigmoid", name="out2")(shared(layers.Dense(4)(b)))
    model = keras.Model([a, b], [out1, out2], name="net")
    clone = keras.Model.from_config(model.get_config())
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    clone.set_weights(model.get_weights())
    xa, xb = np.random.default_rng(0).normal(size=(5, 4)), np.ones((5, 3))
    for p, q in zip(model.predict([xa, xb], verbose=0), clone.predict([xa, xb], verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-6)
    assert clone.output_names == ["out1", "out2"]
