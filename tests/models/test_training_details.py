"""fit / evaluate / predict details against tf.keras: validation_split's split point,
per-output loss logs, dict outputs named by their keys, nested outputs from predict."""

import numpy as np
import pytest

import fastkeras as fk


def _two_output(lib, seed=0):
    rng = np.random.default_rng(seed)
    i = lib.Input((3,))
    m = lib.Model(i, [lib.layers.Dense(1, name="score_output")(i),
                      lib.layers.Dense(2, name="class_output")(i)])
    return m, rng


@pytest.mark.parametrize("n,split", [(309, 0.3), (10, 0.25), (7, 0.5), (100, 0.2)])
def test_validation_split_point_as_keras(tf, n, split):
    x = np.arange(n * 2, dtype="float32").reshape(n, 2)
    y = np.zeros((n, 1), "float32")
    sizes = []
    for lib in (tf.keras, fk):
        seen = []

        class Count(lib.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                seen.append(batch)

        m = lib.Sequential([lib.Input((2,)), lib.layers.Dense(1)])
        m.compile("sgd", "mse")
        m.fit(x, y, batch_size=1, epochs=1, validation_split=split, shuffle=False, verbose=0,
              callbacks=[Count()])
        sizes.append(len(seen))
    assert sizes[1] == sizes[0]


@pytest.mark.parametrize("loss", [[None, "categorical_crossentropy"], ["mse", None],
                                  ["mse", "categorical_crossentropy"]], ids=str)
def test_per_output_loss_logs_as_keras(tf, loss):
    keys = []
    for lib in (tf.keras, fk):
        m, rng = _two_output(lib)
        x = rng.random((8, 3)).astype("float32")
        ys = [rng.random((8, 1)).astype("float32"), np.eye(2, dtype="float32")[[0, 1] * 4]]
        m.compile("sgd", loss=loss)
        h = m.fit(x, ys, verbose=0)
        keys.append((sorted(h.history), [t.name for t in m.metrics]))
    assert keys[1] == keys[0]


def test_dict_outputs_named_by_their_keys(tf):
    results = []
    for lib in (tf.keras, fk):
        rng = np.random.default_rng(0)
        x = rng.random((8, 3)).astype("float32")
        ya, yb = rng.random((8, 1)).astype("float32"), rng.random((8, 2)).astype("float32")
        i = lib.Input((3,))
        m = lib.Model(i, {"zeta": lib.layers.Dense(1, name="dense_z")(i),
                          "alpha": lib.layers.Dense(2, name="dense_a")(i)})
        m.compile("sgd", loss={"zeta": "mse", "alpha": "mae"},
                  metrics={"zeta": ["mae"], "alpha": ["mse"]})
        h1 = m.fit(x, {"zeta": ya, "alpha": yb}, verbose=0)
        m = lib.Model(i, {"zeta": lib.layers.Dense(1, name="dense_z2")(i),
                          "alpha": lib.layers.Dense(2, name="dense_a2")(i)})
        m.compile("sgd", loss=["mse", "mae"])  # a list follows the sorted keys
        h2 = m.fit(x, [yb, ya], verbose=0)
        p = m.predict(x, verbose=0)
        results.append((sorted(h1.history), sorted(h2.history),
                        sorted(p), {k: v.shape for k, v in p.items()}))
    assert results[1] == results[0]


def test_predict_nested_outputs_in_one_batch():
    i = fk.Input((3,))
    a, b, c = (fk.layers.Dense(k)(i) for k in (1, 2, 3))
    m = fk.Model(i, {"b": [a, b], "a": c})
    x = np.ones((4, 3), "float32")
    for bs in (None, 2):
        p = m.predict(x, batch_size=bs, verbose=0)
        assert [q.shape for q in p["b"]] == [(4, 1), (4, 2)] and p["a"].shape == (4, 3)
        assert all(isinstance(q, np.ndarray) for q in p["b"])


def test_recompiling_without_metrics_drops_the_old_ones():
    # Keras 3.15 keeps the previous compile's loss and metrics when compile() gets None
    # (its subclassing guide says otherwise); fastkeras does what compile() is given
    m = fk.Sequential([fk.Input((3,)), fk.layers.Dense(1)])
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    m.compile("sgd", "mse", metrics=["mae"])
    assert "mae" in m.fit(x, y, verbose=0).history
    m.compile("sgd", "mse")
    assert sorted(m.fit(x, y, verbose=0).history) == ["loss"]


@pytest.mark.parametrize("target,out_units", [("binary", 1), ("sparse", 3), ("onehot", 3),
                                              ("sparse_column", 3)])
def test_crossentropy_loss_chosen_from_the_shapes(tf, target, out_units):
    rng = np.random.default_rng(0)
    x = rng.random((12, 4)).astype("float32")
    labels = rng.integers(0, out_units if out_units > 1 else 2, 12)
    y = {"binary": labels[:, None].astype("float32"), "sparse": labels,
         "onehot": np.eye(3, dtype="float32")[labels], "sparse_column": labels[:, None]}[target]
    act = "sigmoid" if out_units == 1 else "softmax"
    hist = []
    for lib in (tf.keras, fk):
        m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(out_units, activation=act)])
        if hist:
            m.set_weights(w0)
        else:
            w0 = m.get_weights()
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="crossentropy", metrics=["accuracy"])
        hist.append(m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history)
    for k in hist[0]:
        np.testing.assert_allclose(hist[1][k], hist[0][k], rtol=1e-4, err_msg=k)


def test_fit_ends_with_the_ema_weights_as_keras(tf):
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 3)).astype("float32"), rng.random((16, 1)).astype("float32")
    weights = []
    for lib in (tf.keras, fk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        if weights:
            m.set_weights(w0)
        else:
            w0 = m.get_weights()
        m.compile(optimizer=lib.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9), loss="mse")
        m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        weights.append(m.get_weights())
    for a, b in zip(weights[1], weights[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_metrics_of_layers_inside_a_nested_model_are_listed(tf):
    names = []
    for lib in (tf.keras, fk):
        class Counting(lib.layers.Layer):
            def __init__(self, **kw):
                super().__init__(**kw)
                self.seen = lib.metrics.Mean(name="seen_mean")

            def call(self, x):
                self.seen.update_state(lib.ops.mean(x))
                return x

        inner = lib.Sequential([lib.Input((3,)), Counting(), lib.layers.Dense(2)])
        i = lib.Input((3,))
        outer = lib.Model(i, lib.layers.Dense(1)(inner(i)))
        outer.compile("sgd", "mse")
        outer.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
        names.append([m.name for m in outer.metrics])
    assert names[1] == names[0]


def test_class_weight_weighs_a_sequence_and_is_refused_for_generators(tf):
    rng = np.random.default_rng(4)
    x = rng.random((12, 3)).astype("float32")
    y = rng.integers(0, 2, (12, 1)).astype("float32")
    cw = {0: 1.0, 1: 3.0}

    def make_sequence(lib):
        base = lib.utils.PyDataset if hasattr(lib.utils, "PyDataset") else lib.utils.Sequence

        class Batches(base):
            def __len__(self):
                return 3

            def __getitem__(self, i):
                return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

        return Batches()

    losses = []
    for lib in (tf.keras, fk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
        if losses:
            m.set_weights(w0)
        else:
            w0 = m.get_weights()
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="binary_crossentropy")
        h = m.fit(make_sequence(lib), class_weight=cw, epochs=1, shuffle=False, verbose=0)
        losses.append((h.history["loss"], m.get_weights()[0]))
        with pytest.raises(ValueError, match="class_weight"):
            m.fit((b for b in [(x, y)]), class_weight=cw, verbose=0)
    np.testing.assert_allclose(losses[1][0], losses[0][0], rtol=1e-5)
    np.testing.assert_allclose(losses[1][1], losses[0][1], rtol=1e-5, atol=1e-7)


def test_pydataset_as_keras_3_writes_it(tf):
    rng = np.random.default_rng(5)
    x, y = rng.random((12, 3)).astype("float32"), rng.random((12, 1)).astype("float32")
    results = []
    for lib in (tf.keras, fk):
        class Batches(lib.utils.PyDataset):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)

            def __len__(self):
                return 3

            def __getitem__(self, i):
                return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

        data = Batches(workers=1, use_multiprocessing=False, max_queue_size=4)
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        if results:
            m.set_weights(w0)
        else:
            w0 = m.get_weights()
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        h = m.fit(data, epochs=2, shuffle=False, verbose=0)
        results.append((h.history["loss"], data.num_batches, data.workers))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5)
    assert results[1][1:] == results[0][1:]


def test_inputs_one_rank_off_by_a_trailing_1_are_adjusted_as_keras(tf):
    outs = []
    for lib in (tf.keras, fk):
        i = lib.Input((4, 1))
        m = lib.Model(i, lib.layers.Flatten()(i))
        j = lib.Input((4,))
        m2 = lib.Model(j, lib.layers.Dense(2, kernel_initializer="ones")(j))
        outs.append((np.asarray(m.predict(np.ones((3, 4), "float32"), verbose=0)).shape,
                     np.asarray(m2.predict(np.ones((3, 4, 1), "float32"), verbose=0)).shape))
    assert outs[1] == outs[0]
    k = fk.Input((4, 2))  # a trailing axis other than 1 is never invented
    with pytest.raises(ValueError, match="expects shape"):
        fk.Model(k, fk.layers.Flatten()(k)).predict(np.ones((3, 4), "float32"), verbose=0)
