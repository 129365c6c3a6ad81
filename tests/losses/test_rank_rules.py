"""Keras' rank rules for element-wise losses and metrics: a 1-D ``y`` against ``(N, 1)``
predictions pairs row by row (never broadcasting to ``(N, N)``), a trailing axis of size 1
is squeezed, and sample weights follow the same rule. Every case is compared with tf.keras
(Keras 3) on the same inputs."""
import zlib

import numpy as np
import pytest

import fastkeras as fk

pytestmark = pytest.mark.filterwarnings("ignore:In loss categorical")

SHAPES = [((4,), (4, 1)), ((4, 1), (4,)), ((4, 3), (4, 3, 1)), ((4, 3, 1), (4, 3)),
          ((4,), (4,)), ((4, 3), (4, 3))]
BINARY = {"BinaryCrossentropy", "Hinge", "SquaredHinge", "BinaryAccuracy",
          "BinaryFocalCrossentropy", "Accuracy"}
LOSSES = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
          "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy", "Hinge",
          "SquaredHinge", "CategoricalHinge", "Poisson", "KLDivergence", "CosineSimilarity",
          "BinaryFocalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalCrossentropy"]
# metrics whose Keras 3 class applies the rank rule itself: compared with the Keras metric
METRICS = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "BinaryAccuracy",
           "Accuracy", "RootMeanSquaredError", "R2Score"]
# metrics whose Keras 3 class broadcasts or raises on mismatched ranks: fastkeras applies the
# rule (README, "Losses and metrics: Keras' rank rules"), so they equal the Keras loss of
# the same name reduced as a weighted mean
METRIC_AS_LOSS = {"Hinge": "Hinge", "SquaredHinge": "SquaredHinge",
                  "CategoricalHinge": "CategoricalHinge", "Poisson": "Poisson",
                  "KLDivergence": "KLDivergence", "BinaryCrossentropy": "BinaryCrossentropy",
                  "CategoricalCrossentropy": "CategoricalCrossentropy"}


def _data(seed, st, sp, binary):
    rng = np.random.default_rng(seed)
    yt = rng.random(st)
    yt = (yt > 0.5).astype("float32") if binary else yt.astype("float32")
    yp = rng.random(sp).astype("float32")
    w = rng.random(4).astype("float32")
    return yt, yp, w


def _value(x):
    return float(np.asarray(x))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("name", LOSSES)
def test_loss_rank_rule_matches_keras(tf, name, shapes, weighted):
    yt, yp, w = _data(zlib.crc32(name.encode()) % 1000, *shapes, name in BINARY)
    sw = w if weighted else None
    want = _value(getattr(tf.keras.losses, name)()(yt, yp, sample_weight=sw))
    got = _value(getattr(fk.losses, name)()(yt, yp, sample_weight=sw))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("name", METRICS)
def test_metric_rank_rule_matches_keras(tf, name, shapes, weighted):
    yt, yp, w = _data(zlib.crc32(name.encode()) % 1000, *shapes, name in BINARY)
    if name == "Accuracy":
        yp = (yp > 0.5).astype("float32")
    sw = w if weighted else None

    def run(lib):
        m = getattr(lib.metrics, name)()
        m.update_state(yt, yp, sample_weight=sw)
        m.update_state(yt[::-1].copy(), yp, sample_weight=sw)
        return _value(m.result())

    try:
        want = run(tf.keras)
    except (ValueError, tf.errors.InvalidArgumentError):
        # one weight per sample against a single (scalar) value, R2Score on 1-D inputs:
        # Keras refuses, so do we
        with pytest.raises(ValueError, match="sample_weight|R2Score expects 2D"):
            run(fk)
        return
    np.testing.assert_allclose(run(fk), want, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("name", sorted(METRIC_AS_LOSS))
def test_metric_applies_the_rule_where_keras_metric_does_not(tf, name, shapes, weighted):
    yt, yp, w = _data(zlib.crc32(name.encode()) % 1000, *shapes, name in BINARY)
    sw = w if weighted else None
    m = getattr(fk.metrics, name)()
    if weighted and shapes == ((4,), (4,)):
        # one value (the whole row) and four weights: the metric refuses, as Keras' does
        with pytest.raises(ValueError, match="sample_weight"):
            m.update_state(yt, yp, sample_weight=sw)
        return
    loss = getattr(tf.keras.losses, METRIC_AS_LOSS[name])(reduction="mean_with_sample_weight")
    want = _value(loss(yt, yp, sample_weight=sw))
    m.update_state(yt, yp, sample_weight=sw)
    np.testing.assert_allclose(_value(m.result()), want, rtol=2e-5, atol=1e-6)


def test_issue_example_mse_with_1d_labels():
    y_true = np.array([1.0, 2, 3, 4])
    y_pred = np.array([[1.5], [1], [3], [5]])
    assert _value(fk.losses.MeanSquaredError()(y_true, y_pred)) == pytest.approx(0.5625)
    assert _value(fk.losses.mean_squared_error(y_true, y_pred).numpy().mean()) == \
        pytest.approx(0.5625)


def test_binary_accuracy_with_1d_labels_and_row_weights(tf):
    y = np.array([1.0, 0, 1, 1])
    p = np.array([[0.9], [0.2], [0.3], [0.8]], "float32")
    w = np.array([1.0, 2.0, 0.5, 1.0], "float32")
    want = tf.keras.metrics.BinaryAccuracy()
    want.update_state(y, p, sample_weight=w)
    got = fk.metrics.BinaryAccuracy()
    got.update_state(y, p, sample_weight=w)
    assert _value(got.result()) == pytest.approx(_value(want.result()))
    assert _value(got.result()) == pytest.approx(4.0 / 4.5)


def test_sample_weight_that_cannot_broadcast_names_the_argument():
    with pytest.raises(ValueError, match="sample_weight"):
        fk.losses.MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 2)),
                                     sample_weight=np.ones(3))


def _regression_pair(tf, loss):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], "float32") + 0.1).astype("float32")  # 1-D targets
    models = []
    for lib in (tf.keras, fk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="tanh"),
                            lib.layers.Dense(1)])
        models.append(m)
    models[1].set_weights(models[0].get_weights())
    for lib, m in zip((tf.keras, fk), models):
        m.compile(optimizer=lib.optimizers.SGD(0.05), loss=loss, metrics=["mae"])
    return x, y, models


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "log_cosh"])
def test_fit_with_1d_y_trains_on_the_row_wise_loss(tf, loss):
    x, y, (tm, fm) = _regression_pair(tf, loss)
    th = tm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    fh = fm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=2e-4)
    np.testing.assert_allclose(fh["mae"], th["mae"], rtol=2e-4)
    np.testing.assert_allclose(fm.evaluate(x, y, verbose=0), tm.evaluate(x, y, verbose=0),
                               rtol=2e-4)


def test_fit_with_1d_binary_labels_and_sample_weight(tf):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    w = rng.random(40).astype("float32")
    hist = []
    for lib in (tf.keras, fk):
        m = lib.Sequential([lib.Input((5,)), lib.layers.Dense(1, activation="sigmoid")])
        if hist:
            m.set_weights(ref_weights)
        else:
            ref_weights = m.get_weights()
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="binary_crossentropy",
                  metrics=[lib.metrics.BinaryAccuracy()])
        hist.append(m.fit(x, y, sample_weight=w, batch_size=10, epochs=2, shuffle=False,
                          verbose=0).history)
    np.testing.assert_allclose(hist[1]["loss"], hist[0]["loss"], rtol=1e-4)
    np.testing.assert_allclose(hist[1]["binary_accuracy"], hist[0]["binary_accuracy"],
                               rtol=1e-6)
