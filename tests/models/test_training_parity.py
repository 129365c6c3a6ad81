"""Training parity with tf.keras: the same model, initial weights and batches, trained
for 20 steps with SGD and with Adam through fit(), end with the same weights
(float64, rtol 1e-8), and report the same losses and metrics."""
import numpy as np
import pytest

import fastkeras as fk


@pytest.fixture
def float64_both(tf):
    import keras

    old_k, old_f = keras.config.floatx(), fk.config.floatx()
    old_policy = keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")  # a policy set earlier would override floatx
    fk.config.set_floatx("float64")
    yield
    keras.config.set_floatx(old_k)
    keras.config.set_dtype_policy(old_policy)
    fk.config.set_floatx(old_f)


def _mlp(lib):
    L = lib.layers
    return lib.Sequential([L.Input(shape=(12,)), L.Dense(16, activation="relu"),
                           L.Dropout(0.0), L.Dense(8, activation="tanh"), L.Dense(4)])


def _cnn(lib):
    L = lib.layers
    return lib.Sequential([L.Input(shape=(8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                           L.MaxPooling2D(2), L.Conv2D(6, 2, padding="same"),
                           L.BatchNormalization(), L.Flatten(), L.Dense(5)])


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_twenty_steps_match_keras(tf, float64_both, rng, arch, opt):
    import keras

    n = 20 * 16
    if arch == "mlp":
        x = rng.normal(size=(n, 12))
        y = rng.integers(0, 4, size=n)
        make = _mlp
    else:
        x = rng.normal(size=(n, 8, 8, 1))
        y = rng.integers(0, 5, size=n)
        make = _cnn
    ref, ours = make(keras), make(fk)
    ours.set_weights(ref.get_weights())

    def optimizer(lib):
        return lib.optimizers.SGD(0.05, momentum=0.9) if opt == "sgd" else \
            lib.optimizers.Adam(0.01)

    for m, lib in ((ref, keras), (ours, fk)):
        m.compile(optimizer=optimizer(lib),
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h_ref = ref.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    h = ours.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-8)
    np.testing.assert_allclose(h.history["accuracy"], h_ref.history["accuracy"], rtol=1e-8)
    ev_ref = ref.evaluate(x, y, verbose=0, return_dict=True)
    ev = ours.evaluate(x, y, verbose=0, return_dict=True)
    assert ev.keys() == ev_ref.keys()
    for k in ev:
        np.testing.assert_allclose(ev[k], ev_ref[k], rtol=1e-8)
    # logits near 0 are sums of larger terms: an absolute tolerance at their scale
    np.testing.assert_allclose(ours.predict(x[:40], verbose=0), ref.predict(x[:40], verbose=0),
                               rtol=1e-8, atol=1e-10)


def test_regularized_multi_output_functional_matches_keras(tf, float64_both, rng):
    import keras

    def build(lib):
        L = lib.layers
        inp = L.Input(shape=(6,), name="x")
        h = L.Dense(8, activation="relu", kernel_regularizer=lib.regularizers.l2(0.01),
                    name="hidden")(inp)
        a = L.Dense(1, name="reg")(h)
        b = L.Dense(3, activation="softmax", name="cls")(h)
        return lib.Model(inp, [a, b])

    ref, ours = build(keras), build(fk)
    ours.set_weights(ref.get_weights())
    x = rng.normal(size=(64, 6))
    y1 = rng.normal(size=(64, 1))
    y2 = keras.utils.to_categorical(rng.integers(0, 3, 64), 3)
    sw = rng.uniform(0.5, 1.5, size=64)
    for m, lib in ((ref, keras), (ours, fk)):
        m.compile(optimizer=lib.optimizers.Adam(0.01), loss=["mse", "categorical_crossentropy"],
                  loss_weights=[0.3, 1.0], metrics=[[], ["accuracy"]])
    h_ref = ref.fit(x, [y1, y2], batch_size=16, epochs=2, shuffle=False, verbose=0,
                    sample_weight=sw)
    h = ours.fit(x, [y1, y2], batch_size=16, epochs=2, shuffle=False, verbose=0,
                 sample_weight=sw)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-8)
