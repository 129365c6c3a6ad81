"""Regularization and extra normalization layers against tf.keras (Keras 3): GaussianNoise,
GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D (identity at inference as tf.keras,
the training noise's statistics and structure as Keras defines them, seeds repeatable),
ActivityRegularization (losses as tf.keras), UnitNormalization and GroupNormalization
(outputs on the same weights, float32 and float64, configs, under fit, float64 gradients
by finite differences), the Wrapper base class; argument errors."""
import math

import numpy as np
import pytest

import fastkeras as fk
from _gradcheck import check  # tests/ is on sys.path (its conftest.py)

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}
NOISE = [("GaussianNoise", (0.3,), (2, 5, 4)), ("GaussianDropout", (0.3,), (2, 5, 4)),
         ("AlphaDropout", (0.3,), (2, 5, 4)), ("SpatialDropout1D", (0.3,), (2, 5, 4)),
         ("SpatialDropout2D", (0.3,), (2, 3, 5, 4)),
         ("SpatialDropout3D", (0.3,), (2, 3, 2, 5, 4))]


def _keras_layers(tf, name):
    """tf.keras.layers, but Keras 3.15's own layers for AlphaDropout (tf.keras exports
    the deprecated legacy class, without `noise_shape` in its config nor rate checks)."""
    if name == "AlphaDropout":
        return pytest.importorskip("keras").layers
    return tf.keras.layers


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,shape", NOISE)
def test_noise_layers_inference_and_config_match_tf_keras(tf, rng, dtype, name, args, shape):
    x = rng.normal(size=shape).astype(dtype)
    f = getattr(fk.layers, name)(*args, seed=3, dtype=dtype)
    t = getattr(_keras_layers(tf, name), name)(*args, seed=3, dtype=dtype)
    for training in (None, False):
        np.testing.assert_array_equal(f(x, training=training).numpy(),
                                      np.asarray(t(x, training=training)))
    fc, tc = f.get_config(), t.get_config()
    # Keras' spatial dropouts write no `trainable`; fastkeras keeps the base keys
    assert set(fc) == set(tc) | ({"trainable"} if name.startswith("Spatial") else set())
    skip = ("dtype", "name", "trainable")
    assert {k: fc[k] for k in fc if k not in skip} == {k: tc[k] for k in tc if k not in skip}
    g = getattr(fk.layers, name).from_config(fc)
    assert g.get_config() == fc
    y = f(x, training=True).numpy()
    assert y.shape == x.shape and y.dtype == np.dtype(dtype)
    assert not np.array_equal(y, x)
    # the same seed gives the same draws
    y2 = getattr(fk.layers, name)(*args, seed=3, dtype=dtype)(x, training=True).numpy()
    np.testing.assert_array_equal(y, y2)


def test_gaussian_noise_and_dropout_statistics(rng):
    x = np.ones((400, 500), "float64")
    n = fk.layers.GaussianNoise(0.2, seed=1)(x, training=True).numpy() - x
    assert abs(n.mean()) < 0.003 and abs(n.std() - 0.2) < 0.003
    rate = 0.3
    d = fk.layers.GaussianDropout(rate, seed=1)(x * 2, training=True).numpy() / 2
    assert abs(d.mean() - 1) < 0.005
    assert abs(d.std() - math.sqrt(rate / (1 - rate))) < 0.005


def test_alpha_dropout_values_and_selu_moments(rng):
    """Keras' definition: dropped entries become a * alpha' + b, kept ones a * x + b,
    alpha' = -alpha * scale of SELU; SELU activations keep mean 0 and variance 1."""
    rate = 0.2
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    ap = -alpha * scale
    a = ((1 - rate) * (1 + rate * ap ** 2)) ** -0.5
    b = -a * ap * rate
    x = rng.normal(size=(300, 400))
    selu = fk.activations.selu(fk.constant(x)).numpy()
    y = fk.layers.AlphaDropout(rate, seed=2, dtype="float64")(selu, training=True).numpy()
    dropped = np.isclose(y, a * ap + b)
    np.testing.assert_allclose(y[~dropped], a * selu[~dropped] + b, rtol=1e-12)
    assert abs(dropped.mean() - rate) < 0.01
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02
    # noise_shape: one draw per (sample, feature), shared over the middle axis
    z = fk.layers.AlphaDropout(0.5, noise_shape=(None, 1, None), seed=1)(
        np.ones((4, 6, 5)), training=True).numpy()
    assert np.all(z == z[:, :1, :])


@pytest.mark.parametrize("name,shape,fmt,axes", [
    ("SpatialDropout1D", (3, 7, 40), None, (1,)),
    ("SpatialDropout2D", (3, 5, 6, 40), "channels_last", (1, 2)),
    ("SpatialDropout2D", (3, 40, 5, 6), "channels_first", (2, 3)),
    ("SpatialDropout3D", (3, 2, 3, 4, 40), "channels_last", (1, 2, 3)),
    ("SpatialDropout3D", (3, 40, 2, 3, 4), "channels_first", (2, 3, 4))])
def test_spatial_dropout_drops_whole_feature_maps(tf, name, shape, fmt, axes):
    kw = {} if fmt is None else {"data_format": fmt}
    layer = getattr(fk.layers, name)(0.5, seed=4, **kw)
    y = layer(np.ones(shape, "float32"), training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and len(np.unique(y)) == 2
    first = y[(slice(None),) + tuple(slice(0, 1) if i in axes else slice(None)
                                     for i in range(1, len(shape)))]
    np.testing.assert_array_equal(y, np.broadcast_to(first, shape))
    if fmt is not None:
        assert layer.get_config()["data_format"] == \
            getattr(tf.keras.layers, name)(0.5, **kw).get_config()["data_format"]
    with pytest.raises(ValueError):
        layer(np.ones(shape[:-1], "float32"))


def test_noise_argument_errors(tf):
    for ours in (True, False):
        for name, arg in (("GaussianNoise", "stddev"), ("GaussianDropout", "rate"),
                          ("AlphaDropout", "rate")):
            lib = fk.layers if ours else _keras_layers(tf, name)
            with pytest.raises(ValueError, match=arg):
                getattr(lib, name)(1.5)
            with pytest.raises(ValueError, match=arg):
                getattr(lib, name)(-0.1)
    with pytest.raises(ValueError, match="rate"):
        fk.layers.SpatialDropout1D(2.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activity_regularization_matches_tf_keras(tf, rng, dtype):
    x = rng.normal(size=(4, 3)).astype(dtype)
    f = fk.layers.ActivityRegularization(l1=0.01, l2=0.02, dtype=dtype)
    t = tf.keras.layers.ActivityRegularization(l1=0.01, l2=0.02, dtype=dtype)
    np.testing.assert_array_equal(f(x).numpy(), x)
    t(x)
    assert len(f.losses) == len(t.losses) == 1
    np.testing.assert_allclose(float(f.losses[0].numpy()), float(np.asarray(t.losses[0])),
                               rtol=1e-6)
    assert f.get_config().keys() == t.get_config().keys()
    assert (f.get_config()["l1"], f.get_config()["l2"]) == (0.01, 0.02)
    g = fk.layers.ActivityRegularization.from_config(f.get_config())
    g(x)
    np.testing.assert_allclose(float(g.losses[0].numpy()), float(f.losses[0].numpy()))


# ---- UnitNormalization / GroupNormalization ---------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [-1, 1, [1, 2], (0, 2)])
def test_unit_normalization_matches_tf_keras(tf, rng, dtype, axis):
    x = rng.normal(size=(3, 4, 5)).astype(dtype)
    x[0, 0] = 0
    f = fk.layers.UnitNormalization(axis=axis, dtype=dtype)
    t = tf.keras.layers.UnitNormalization(axis=axis, dtype=dtype)
    np.testing.assert_allclose(f(x).numpy(), np.asarray(t(x)), **TOL[dtype])
    assert f.get_config() == {**t.get_config(), "dtype": f.get_config()["dtype"]}


def test_unit_normalization_errors_and_gradients(tf, rng):
    for lib in (fk.layers, tf.keras.layers):
        with pytest.raises(TypeError, match="axis"):
            lib.UnitNormalization(axis="x")
        with pytest.raises(ValueError, match="out of bounds"):
            lib.UnitNormalization(axis=3).compute_output_shape((2, 3))
    layer = fk.layers.UnitNormalization(axis=[1, 2], dtype="float64")
    check(layer, rng.normal(size=(2, 3, 4)))


GN = [dict(groups=2), dict(groups=-1), dict(groups=1, epsilon=1e-5),
      dict(groups=3, axis=1), dict(groups=2, center=False), dict(groups=2, scale=False)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", GN)
def test_group_normalization_matches_tf_keras(tf, rng, dtype, kwargs):
    shape = (2, 6, 5, 4) if kwargs.get("axis") != 1 else (2, 6, 5)
    x = (rng.normal(size=shape) * 3 + 1).astype(dtype)
    f = fk.layers.GroupNormalization(dtype=dtype, **kwargs)
    t = tf.keras.layers.GroupNormalization(dtype=dtype, **kwargs)
    f.build(shape)
    t.build(shape)
    assert [w.shape for w in f.weights] == [tuple(w.shape) for w in t.weights]
    assert [w.name for w in f.weights] == [w.name for w in t.weights]
    wts = [rng.normal(size=w.shape).astype(dtype) for w in t.get_weights()]
    t.set_weights(wts)
    f.set_weights(wts)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f(x).numpy(), np.asarray(t(x)), **tol)
    assert f.get_config() == {**t.get_config(), "dtype": f.get_config()["dtype"]}


def test_group_normalization_errors_and_gradients(tf, rng):
    for lib in (fk.layers, tf.keras.layers):
        with pytest.raises(ValueError, match="groups"):
            lib.GroupNormalization(groups=0)
        with pytest.raises(ValueError, match="cannot be more than"):
            lib.GroupNormalization(groups=8).build((None, 4))
        with pytest.raises(ValueError, match="multiple"):
            lib.GroupNormalization(groups=3).build((None, 4))
        with pytest.raises(ValueError, match="defined"):
            lib.GroupNormalization(groups=2).build((None, None))
    layer = fk.layers.GroupNormalization(groups=2, dtype="float64")
    layer.build((None, 3, 4))
    layer.set_weights([rng.normal(size=4), rng.normal(size=4)])
    check(layer, rng.normal(size=(2, 3, 4)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_normalization_under_fit(tf, rng, dtype):
    def build(lib, L, M, Input):
        i = Input((4, 6), dtype=dtype)
        h = L.GroupNormalization(groups=3, dtype=dtype)(i)
        h = L.UnitNormalization(dtype=dtype)(h)
        h = L.GaussianNoise(0.0, dtype=dtype)(h)
        h = L.Flatten(dtype=dtype)(h)
        return M(i, L.Dense(1, dtype=dtype)(h))

    tm = build(tf, tf.keras.layers, tf.keras.Model, tf.keras.Input)
    fm = build(fk, fk.layers, fk.Model, fk.Input)
    fm.set_weights(tm.get_weights())
    x = rng.normal(size=(8, 4, 6)).astype(dtype)
    y = rng.normal(size=(8, 1)).astype(dtype)
    for m, lib in ((tm, tf.keras), (fm, fk)):
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        m.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    # tf.keras' compiled (graph) GroupNormalization in float64 is ~1e-7 off its own eager
    # result (which the layer test above matches to 1e-10), hence the float64 tolerance
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-6, atol=1e-7)
    for a, b in zip(fm.get_weights(), tm.get_weights()):
        np.testing.assert_allclose(a, b, **tol)


# ---- Wrapper ----------------------------------------------------------------------------

class _Twice(fk.layers.Wrapper):
    def call(self, inputs):
        return fk.ops.multiply(self.layer(inputs), 2.0)


def test_wrapper_base_class(tf, rng):
    w = _Twice(fk.layers.Dense(3, name="inner"), name="twice")
    x = rng.normal(size=(2, 4)).astype("float32")
    y = w(x)
    assert w.layer.built and len(w.weights) == 2
    np.testing.assert_allclose(y.numpy(), 2 * w.layer(x).numpy(), rtol=1e-6)
    c = w.get_config()
    tc = tf.keras.layers.Wrapper(tf.keras.layers.Dense(3, name="inner"),
                                 name="twice").get_config()
    assert set(c) == set(tc) and c["layer"]["class_name"] == tc["layer"]["class_name"]
    w2 = _Twice.from_config(c)
    assert isinstance(w2.layer, fk.layers.Dense) and w2.layer.units == 3
    built = fk.layers.Wrapper(fk.layers.Dense(2))
    built.build((None, 5))
    assert built.layer.built and built.layer.kernel.shape == (5, 2)
    for lib in (fk.layers, tf.keras.layers):
        with pytest.raises(ValueError, match="Wrapper"):
            lib.Wrapper("dense")
