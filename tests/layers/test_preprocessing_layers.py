"""Preprocessing layers against tf.keras (Keras 3) on the same inputs."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers as L


def _np(x):
    return np.asarray(x)


# ---------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("scale,offset,dtype", [(1 / 255, 0.0, "uint8"), (1 / 127.5, -1, "int32"),
                                                ([0.5, 2.0, 3.0], [1.0, 0.0, -1.0], "float32"),
                                                (2.0, 0.5, "float64")])
def test_rescaling_matches_keras(tf, rng, scale, offset, dtype):
    x = (rng.random((4, 3)) * 255).astype(dtype)
    ours = L.Rescaling(scale, offset)(x)
    theirs = tf.keras.layers.Rescaling(scale, offset)(x)
    assert str(ours.dtype) == theirs.dtype.name
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-6)


def test_rescaling_config_and_dtype(tf):
    ours = L.Rescaling(0.5, offset=2.0, dtype="float64")
    theirs = tf.keras.layers.Rescaling(0.5, offset=2.0, dtype="float64")
    for k in ("scale", "offset"):
        assert ours.get_config()[k] == theirs.get_config()[k]
    assert str(ours(np.ones((2, 2), "int32")).dtype) == "float64"
    again = L.Rescaling.from_config(ours.get_config())
    assert again.scale == 0.5 and again.offset == 2.0


def test_rescaling_bad_scale():
    with pytest.raises(TypeError, match="scale"):
        L.Rescaling("big")


# ---------------------------------------------------------------- Normalization
def test_normalization_keras_doc_examples():
    # the values keras.layers.Normalization's docstring states
    layer = L.Normalization(axis=None)
    layer.adapt(np.array([1., 2., 3., 4., 5.], "float32"))
    np.testing.assert_allclose(_np(layer(np.array([1., 2., 3.], "float32"))),
                               [-1.4142135, -0.70710677, 0.], rtol=1e-6)
    a = np.array([[0., 7., 4.], [2., 9., 6.], [0., 7., 4.], [2., 9., 6.]], "float32")
    layer = L.Normalization(axis=-1)
    layer.adapt(a)
    np.testing.assert_allclose(_np(layer(a[:1])), [[-1., -1., -1.]])
    layer = L.Normalization(mean=3., variance=2.)
    np.testing.assert_allclose(_np(layer(np.array([[1.], [2.], [3.]], "float32"))),
                               [[-1.4142135], [-0.70710677], [0.]], rtol=1e-6)
    layer = L.Normalization(axis=-1, invert=True)
    layer.adapt(a)
    np.testing.assert_allclose(_np(layer(np.array([[1., 2., 3.]], "float32"))), [[2., 10., 8.]])


@pytest.mark.parametrize("axis", [-1, None, 1, (1, 2), (-1, 0)])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapt_array_matches_keras(tf, rng, axis, invert):
    x = (rng.normal(size=(6, 4, 3)) * 3 + 2).astype("float32")
    ours, theirs = L.Normalization(axis=axis, invert=invert), \
        tf.keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(x)
    theirs.adapt(x)
    np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-5, atol=1e-5)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [str(w.numpy().dtype) for w in ours.weights] == \
        [str(w.numpy().dtype) for w in theirs.weights]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _batches(x, size):
    return [x[i:i + size] for i in range(0, len(x), size)]


def test_normalization_adapt_batches_matches_keras(tf, rng):
    x = (rng.normal(size=(23, 3)) * 5 + 7).astype("float32")
    y = np.zeros((23,), "float32")
    for data_of in (lambda: _batches(x, 5),
                    lambda: (b for b in _batches(x, 4)),
                    lambda: [(b, y[:len(b)]) for b in _batches(x, 6)]):
        ours, theirs = L.Normalization(), tf.keras.layers.Normalization()
        ours.adapt(data_of())
        theirs.adapt(data_of())
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-5, atol=1e-5)


def test_normalization_adapt_pydataset_matches_keras(tf, rng):
    x = (rng.normal(size=(17, 2)) * 2 - 1).astype("float32")

    def make(base):
        class Data(base):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return x[i * 5:(i + 1) * 5], np.zeros((len(x[i * 5:(i + 1) * 5]),))
        return Data()

    ours, theirs = L.Normalization(), tf.keras.layers.Normalization()
    ours.adapt(make(fk.utils.PyDataset))
    theirs.adapt(make(tf.keras.utils.PyDataset))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mean,variance,axis", [(3., 2., -1), ([1., 2., 3.], [4., 5., 6.], -1),
                                                ([[1., 2., 3.]] * 4, [[4., 5., 6.]] * 4, (1, 2))])
def test_normalization_given_stats_matches_keras(tf, rng, mean, variance, axis):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    ours = L.Normalization(axis=axis, mean=mean, variance=variance)
    theirs = tf.keras.layers.Normalization(axis=axis, mean=mean, variance=variance)
    np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-6)
    assert ours.weights == [] and theirs.weights == []
    oc, tc = ours.get_config(), theirs.get_config()
    for k in ("axis", "invert", "mean", "variance"):
        assert oc[k] == tc[k], k


def test_normalization_config_matches_keras(tf):
    oc, tc = L.Normalization().get_config(), tf.keras.layers.Normalization().get_config()
    for k in ("axis", "invert", "mean", "variance"):
        assert oc[k] == tc[k], k


def test_normalization_errors(tf):
    with pytest.raises(ValueError, match="variance"):
        L.Normalization(mean=1.)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1., 2.], variance=[1.])
    with pytest.raises(ValueError, match="rank of `mean`"):
        L.Normalization(axis=None, mean=[1., 2.], variance=[1., 1.])
    with pytest.raises(ValueError, match="axis"):
        L.Normalization(axis=3).adapt(np.ones((2, 3), "float32"))
    layer = L.Normalization()
    layer.adapt(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="empty iterable"):
        L.Normalization().adapt([])
    with pytest.raises(TypeError, match="Unsupported data type"):
        L.Normalization().adapt(3)
    with pytest.raises(ValueError, match="build"):
        L.Normalization().call(np.ones((2, 3), "float32"))


def test_normalization_in_model_saved_and_loaded(tf, rng, tmp_path):
    x = (rng.normal(size=(20, 3)) * 3 + 1).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    inp = L.Input((3,))
    model = fk.Model(inp, L.Dense(2)(norm(L.Rescaling(2.0, 1.0)(inp))))
    expected = _np(model.predict(x, verbose=0))
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = fk.models.load_model(path)
    np.testing.assert_allclose(_np(again.predict(x, verbose=0)), expected, rtol=1e-6)
    # tf.keras reads the file: the same mean/variance weights and outputs
    theirs = tf.keras.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for a, b in zip(again.layers[2].get_weights(), theirs.layers[2].get_weights()):
        np.testing.assert_allclose(a, b)


def test_normalization_reads_keras_file(tf, rng, tmp_path):
    x = (rng.normal(size=(20, 4)) * 2 + 5).astype("float32")
    norm = tf.keras.layers.Normalization()
    norm.adapt(x)
    inp = tf.keras.Input((4,))
    theirs = tf.keras.Model(inp, tf.keras.layers.Dense(1)(norm(inp)))
    path = str(tmp_path / "t.keras")
    theirs.save(path)
    ours = fk.models.load_model(path)
    np.testing.assert_allclose(_np(ours.predict(x, verbose=0)), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
