"""Image preprocessing / augmentation layers against tf.keras (Keras 3) on the same inputs.

Deterministic layers (Resizing, CenterCrop, RandomCrop at inference or when the crop is
fixed) are compared number for number; the random layers are compared where a factor fixes
the transform (a (c, c) range draws c), and otherwise tested by invariants, ranges and seeds
(fastkeras' random numbers are not TensorFlow's)."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers as L
from fastkeras import ops

import _gradcheck  # tests/ is on sys.path (its conftest.py)

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
AFFINE_INTERP = ("bilinear", "nearest")


def _np(x):
    return np.asarray(x)


def _images(rng, shape=(2, 7, 5, 3), dtype="float32"):
    return (rng.random(shape) * 255).astype(dtype)


def _close(ours, theirs, dtype="float32"):
    theirs = np.asarray(theirs)
    assert _np(ours).shape == theirs.shape
    assert str(_np(ours).dtype) == str(theirs.dtype)
    if np.dtype(dtype).kind in "iu":
        # both round a float32 resize; a value within 1e-4 of .5 may round apart
        assert np.max(np.abs(_np(ours).astype(np.int64) - theirs.astype(np.int64))) <= 1
    else:
        np.testing.assert_allclose(_np(ours), theirs, rtol=1e-5, atol=1e-4)


def _weighted_gradcheck(layer_fn, x, seed=0):
    """Finite differences in float64 of sum(r * f(x)) with random weights r (a plain sum
    would check only the column sums of a linear map)."""
    r = np.random.default_rng(seed).normal(size=_np(layer_fn(fk.constant(x))).shape)
    _gradcheck.check(lambda v: ops.multiply(layer_fn(v), r), x, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- Resizing
RESIZE_CASES = [((2, 7, 5, 3), (4, 3)), ((2, 7, 5, 3), (13, 11)), ((1, 6, 6, 2), (6, 6)),
                ((2, 16, 9, 1), (5, 12)), ((1, 3, 4, 2), (1, 1))]


RESIZE_METHODS = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"]


@pytest.mark.parametrize("interpolation", RESIZE_METHODS)
@pytest.mark.parametrize("shape,size", RESIZE_CASES)
def test_resizing_matches_keras(tf, rng, interpolation, shape, size):
    x = _images(rng, shape)
    for antialias in (False, True):
        ours = L.Resizing(*size, interpolation=interpolation, antialias=antialias)(x)
        theirs = tf.keras.layers.Resizing(*size, interpolation=interpolation,
                                          antialias=antialias)(x)
        _close(ours, theirs)


@pytest.mark.parametrize("interpolation", RESIZE_METHODS)
@pytest.mark.parametrize("option", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
@pytest.mark.parametrize("shape,size", [((2, 9, 5, 3), (4, 6)), ((1, 5, 12, 2), (8, 7)),
                                        ((1, 8, 8, 1), (3, 5))])
def test_resizing_aspect_ratio_matches_keras(tf, rng, interpolation, option, shape, size):
    x = _images(rng, shape)
    kw = {option: True, "fill_value": 7.5}
    ours = L.Resizing(*size, interpolation=interpolation, **kw)(x)
    theirs = tf.keras.layers.Resizing(*size, interpolation=interpolation, **kw)(x)
    _close(ours, theirs)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float64"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3"])
def test_resizing_dtypes_match_keras(tf, rng, dtype, interpolation):
    x = _images(rng, (2, 6, 7, 3), dtype)
    ours = L.Resizing(9, 4, interpolation=interpolation)(x)
    theirs = tf.keras.layers.Resizing(9, 4, interpolation=interpolation)(x)
    _close(ours, theirs, dtype)  # ints keep their dtype (rounded, saturated); floats: float32
    ours64 = L.Resizing(9, 4, interpolation=interpolation, dtype="float64")(x)
    theirs64 = tf.keras.layers.Resizing(9, 4, interpolation=interpolation, dtype="float64")(x)
    _close(ours64, theirs64, dtype)


def test_resizing_channels_first_and_unbatched(tf, rng):
    x = _images(rng, (2, 3, 7, 5))
    for kw in ({}, {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True}):
        ours = L.Resizing(4, 9, data_format="channels_first", **kw)(x)
        theirs = tf.keras.layers.Resizing(4, 9, data_format="channels_first", **kw)(x)
        _close(ours, theirs)
    _close(L.Resizing(4, 9, interpolation="area")(x[0]),
           tf.keras.layers.Resizing(4, 9, interpolation="area")(x[0]))


@pytest.mark.parametrize("interpolation", RESIZE_METHODS)
def test_resizing_gradient(rng, interpolation):
    x = rng.normal(size=(2, 5, 4, 2))
    for size, kw in (((3, 7), {}), ((4, 4), {"crop_to_aspect_ratio": True}),
                     ((6, 3), {"pad_to_aspect_ratio": True}), ((2, 3), {"antialias": True})):
        layer = L.Resizing(*size, interpolation=interpolation, dtype="float64", **kw)
        _weighted_gradcheck(layer, x)


# ---------------------------------------------------------------- CenterCrop
@pytest.mark.parametrize("shape,size", [((2, 9, 7, 3), (4, 3)), ((2, 9, 7, 3), (9, 7)),
                                        ((2, 5, 4, 3), (8, 6)), ((1, 10, 4, 2), (6, 6)),
                                        ((1, 4, 10, 2), (3, 12))])
def test_center_crop_matches_keras(tf, rng, shape, size):
    x = _images(rng, shape)
    _close(L.CenterCrop(*size)(x), tf.keras.layers.CenterCrop(*size)(x))
    _close(L.CenterCrop(*size)(x[0]), tf.keras.layers.CenterCrop(*size)(x[0]))
    xc = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _close(L.CenterCrop(*size, data_format="channels_first")(xc),
           tf.keras.layers.CenterCrop(*size, data_format="channels_first")(xc))


def test_center_crop_dtype_and_gradient(tf, rng):
    x = _images(rng, (2, 6, 5, 3), "uint8")
    ours, theirs = L.CenterCrop(3, 3)(x), tf.keras.layers.CenterCrop(3, 3)(x)
    _close(ours, theirs)  # uint8 in, float32 out, as Keras
    xf = rng.normal(size=(2, 6, 5, 2))
    _weighted_gradcheck(L.CenterCrop(3, 4, dtype="float64"), xf)
    _weighted_gradcheck(L.CenterCrop(8, 7, dtype="float64"), xf)  # the resize branch


# ---------------------------------------------------------------- RandomCrop
def test_random_crop_inference_is_identity_as_keras(tf, rng):
    for dtype in ("float32", "float64", "uint8"):
        x = _images(rng, (2, 9, 8, 3), dtype)
        ours = L.RandomCrop(4, 5, seed=1)(x, training=False)
        theirs = tf.keras.layers.RandomCrop(4, 5, seed=1)(x, training=False)
        _close(ours, theirs, dtype)


@pytest.mark.parametrize("shape,size", [((2, 4, 9, 3), (4, 5)), ((2, 6, 5, 3), (8, 7)),
                                        ((1, 5, 8, 2), (4, 8)), ((1, 6, 6, 1), (6, 6))])
def test_random_crop_fixed_cases_match_keras(tf, rng, shape, size):
    # not larger on both sides: Keras' deterministic aspect-ratio crop, then a resize
    x = _images(rng, shape)
    _close(L.RandomCrop(*size, seed=3)(x, training=True),
           tf.keras.layers.RandomCrop(*size, seed=3)(x, training=True))


def test_random_crop_training_takes_a_window(rng):
    x = _images(rng, (3, 10, 9, 2))
    layer = L.RandomCrop(4, 5, seed=7)
    starts = set()
    for _ in range(30):
        y = _np(layer(x, training=True))
        assert y.shape == (3, 4, 5, 2) and y.dtype == np.float32
        found = [(i, j) for i in range(7) for j in range(5)
                 if np.array_equal(x[:, i:i + 4, j:j + 5], y)]
        assert len(found) == 1  # one offset for the whole batch, as Keras
        starts.add(found[0])
    assert len(starts) > 5  # the offsets vary over draws
    again = L.RandomCrop(4, 5, seed=7)
    first = _np(L.RandomCrop(4, 5, seed=7)(x, training=True))
    np.testing.assert_array_equal(_np(again(x, training=True)), first)
    xc = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    assert _np(L.RandomCrop(4, 5, data_format="channels_first")(xc)).shape == (3, 2, 4, 5)
    _weighted_gradcheck(lambda v: L.RandomCrop(4, 5, seed=2, dtype="float64")(v),
                        rng.normal(size=(2, 6, 7, 2)))


# ---------------------------------------------------------------- RandomFlip
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_invariants(tf, rng, mode):
    x = _images(rng, (16, 5, 4, 3))
    layer = L.RandomFlip(mode, seed=11)
    _close(layer(x, training=False), tf.keras.layers.RandomFlip(mode)(x, training=False))
    axes = {"horizontal": (1,), "vertical": (0,), "horizontal_and_vertical": (0, 1)}[mode]
    seen = set()
    for _ in range(3):
        y = _np(layer(x, training=True))
        for a, b in zip(x, y):
            same, flipped = np.array_equal(a, b), np.array_equal(np.flip(a, axes), b)
            assert same or flipped
            seen.add(flipped)
        # tf.keras' outputs obey the same rule
        t = tf.keras.layers.RandomFlip(mode)(x, training=True).numpy()
        assert all(np.array_equal(a, b) or np.array_equal(np.flip(a, axes), b)
                   for a, b in zip(x, t))
    assert seen == {True, False}
    y1 = _np(layer(x[0], training=True))
    assert y1.shape == x[0].shape
    _weighted_gradcheck(lambda v: L.RandomFlip(mode, seed=5, dtype="float64")(v),
                        rng.normal(size=(4, 3, 4, 2)))


def test_random_flip_probability_and_channels_first(rng):
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(1, 2, 3, 4)  # channels_first
    layer = L.RandomFlip("horizontal", seed=0, data_format="channels_first")
    flips = [not np.array_equal(_np(layer(x, training=True)), x) for _ in range(400)]
    assert 0.42 < np.mean(flips) < 0.58
    y = _np(L.RandomFlip("vertical", data_format="channels_first")(np.repeat(x, 40, 0)))
    for b in y:
        assert np.array_equal(b, x[0]) or np.array_equal(b, x[0, :, ::-1, :])


# ---------------------------------------------------------------- affine layers
def _tf_layer(tf, cls, *args, **kw):
    return getattr(tf.keras.layers, cls)(*args, **kw)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", AFFINE_INTERP)
@pytest.mark.parametrize("factor", [(0.25, 0.25), (0.1, 0.1), (-0.3, -0.3)])
def test_random_rotation_fixed_angle_matches_keras(tf, rng, fill_mode, interpolation, factor):
    x = _images(rng, (2, 7, 5, 3))
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    ours = L.RandomRotation(factor, seed=1, **kw)(x, training=True)
    theirs = tf.keras.layers.RandomRotation(factor, seed=1, **kw)(x, training=True)
    _close(ours, theirs)


def test_random_rotation_quarter_turn_is_exact(rng):
    x = _images(rng, (2, 6, 6, 3))
    y = _np(L.RandomRotation((0.25, 0.25), interpolation="nearest")(x, training=True))
    np.testing.assert_array_equal(y, np.rot90(x, k=1, axes=(1, 2)))
    yb = _np(L.RandomRotation((0.25, 0.25))(x, training=True))
    np.testing.assert_allclose(yb, np.rot90(x, k=1, axes=(1, 2)), atol=1e-3)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", AFFINE_INTERP)
@pytest.mark.parametrize("factors", [((0.3, 0.3), None), ((-0.4, -0.4), (0.5, 0.5)),
                                     ((0.6, 0.6), (-0.2, -0.2))])
def test_random_zoom_fixed_matches_keras(tf, rng, fill_mode, interpolation, factors):
    x = _images(rng, (2, 8, 6, 2))
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=-1.0)
    ours = L.RandomZoom(*factors, seed=2, **kw)(x, training=True)
    theirs = tf.keras.layers.RandomZoom(*factors, seed=2, **kw)(x, training=True)
    _close(ours, theirs)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", AFFINE_INTERP)
@pytest.mark.parametrize("factors", [((0.2, 0.2), (-0.3, -0.3)), ((-0.55, -0.55), (0.45, 0.45)),
                                     ((1.0, 1.0), (0.0, 0.0)), ((0.13, 0.13), (0.71, 0.71))])
def test_random_translation_fixed_matches_keras(tf, rng, fill_mode, interpolation, factors):
    x = _images(rng, (2, 7, 6, 3))
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=2.0)
    ours = L.RandomTranslation(*factors, seed=3, **kw)(x, training=True)
    theirs = tf.keras.layers.RandomTranslation(*factors, seed=3, **kw)(x, training=True)
    _close(ours, theirs)


@pytest.mark.parametrize("cls,args", [("RandomRotation", ((0.15, 0.15),)),
                                      ("RandomZoom", ((0.3, 0.3), (-0.2, -0.2))),
                                      ("RandomTranslation", ((0.2, 0.2), (0.1, 0.1)))])
def test_affine_channels_first_unbatched_and_dtypes(tf, rng, cls, args):
    x = _images(rng, (2, 3, 7, 6))
    kw = dict(data_format="channels_first", fill_mode="constant")
    _close(getattr(L, cls)(*args, **kw)(x, training=True),
           _tf_layer(tf, cls, *args, **kw)(x, training=True))
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    _close(getattr(L, cls)(*args)(xl[0], training=True),
           _tf_layer(tf, cls, *args)(xl[0], training=True))
    x8 = xl.astype("uint8")  # integer images come out in the compute dtype, as Keras
    _close(getattr(L, cls)(*args)(x8, training=True), _tf_layer(tf, cls, *args)(x8, training=True))
    _close(getattr(L, cls)(*args, dtype="float64")(xl, training=True),
           _tf_layer(tf, cls, *args, dtype="float64")(xl, training=True), "float64")


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", AFFINE_INTERP)
def test_affine_gradients(rng, fill_mode, interpolation):
    x = rng.normal(size=(2, 5, 4, 2))
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, dtype="float64", seed=4)
    for layer in (L.RandomRotation(0.3, **kw), L.RandomZoom((-0.3, 0.4), **kw),
                  L.RandomTranslation(0.3, 0.4, **kw)):
        state = np.array(layer.generator.state.numpy())

        def f(v, layer=layer, state=state):
            layer.generator.state.assign(state)  # the same draw at every evaluation
            return layer(v, training=True)
        _weighted_gradcheck(f, x)


def test_affine_ranges_seeds_and_draws(rng):
    rot = L.RandomRotation((-0.1, 0.05), seed=9)
    t = np.concatenate([rot._transforms(64, 8, 8) for _ in range(10)])
    angles = np.degrees(np.arctan2(t[:, 3], t[:, 0]))
    assert angles.min() >= -36.01 and angles.max() <= 18.01
    assert angles.min() < -30 and angles.max() > 12  # covers the range
    zoom = L.RandomZoom((-0.5, 0.2), (0.1, 0.3), seed=9)
    t = np.concatenate([zoom._transforms(64, 8, 8) for _ in range(10)])
    assert 0.5 <= t[:, 4].min() and t[:, 4].max() <= 1.2 and t[:, 4].min() < 0.55
    assert 1.1 <= t[:, 0].min() and t[:, 0].max() <= 1.3
    same = L.RandomZoom(0.3, seed=9)._transforms(500, 8, 8)
    np.testing.assert_array_equal(same[:, 0], same[:, 4])  # width_factor None: one zoom
    tr = L.RandomTranslation((0.1, 0.25), -0.5, seed=9)
    t = np.concatenate([tr._transforms(64, 10, 20) for _ in range(10)])
    assert (-t[:, 5]).min() >= 1.0 - 1e-5 and (-t[:, 5]).max() <= 2.5 + 1e-5
    assert (-t[:, 2]).min() >= -10 - 1e-5 and (-t[:, 2]).max() <= 10 + 1e-5
    x = _images(rng, (4, 6, 6, 1))
    for cls, args in (("RandomRotation", (0.2,)), ("RandomZoom", (0.3,)),
                      ("RandomTranslation", (0.3, 0.3))):
        a, b = getattr(L, cls)(*args, seed=5), getattr(L, cls)(*args, seed=5)
        first = _np(a(x, training=True))
        np.testing.assert_array_equal(_np(b(x, training=True)), first)  # a seed repeats
        assert not np.allclose(_np(a(x, training=True)), first)  # a new draw per call


# ---------------------------------------------------------------- contrast / brightness
@pytest.mark.parametrize("value_range", [(0, 255), (0, 100)])
def test_random_contrast_fixed_factor_matches_keras(tf, rng, value_range):
    x = _images(rng, (3, 6, 5, 3)) * (value_range[1] / 255)
    for factor in ((-0.5, 0.5), (0.0, 0.0), (-0.2, 0.2)):
        ours = L.RandomContrast(factor, value_range=value_range)(x, training=True)
        theirs = tf.keras.layers.RandomContrast(factor, value_range=value_range)(x,
                                                                               training=True)
        _close(ours, theirs)
    xc = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _close(L.RandomContrast((-0.5, 0.5), data_format="channels_first")(xc, training=True),
           tf.keras.layers.RandomContrast((-0.5, 0.5), data_format="channels_first")(
               xc, training=True))


def test_random_brightness_fixed_factor_matches_keras(tf, rng):
    x = _images(rng, (3, 6, 5, 3))
    for factor, vr in (((0.1, 0.1), (0, 255)), ((-0.3, -0.3), (0, 255)),
                       ((0.25, 0.25), (255, 0)), ((0.5, 0.5), (-1, 1))):
        xs = x / 255 * (max(vr) - min(vr)) + min(vr)
        ours = L.RandomBrightness(factor, value_range=vr)(xs, training=True)
        theirs = tf.keras.layers.RandomBrightness(factor, value_range=vr)(xs, training=True)
        _close(ours, theirs)
    x8 = x.astype("int32")
    _close(L.RandomBrightness((0.1, 0.1))(x8, training=True),
           tf.keras.layers.RandomBrightness((0.1, 0.1))(x8, training=True), "int32")


def test_color_ranges_and_inference(tf, rng):
    x = 100 + _images(rng, (64, 4, 4, 3)) / 5  # within [100, 151]: no clipping
    b = _np(L.RandomBrightness(0.2, seed=1)(x, training=True)) - x
    delta = b[:, 0, 0, 0]
    np.testing.assert_allclose(b, delta[:, None, None, None] * np.ones_like(b), atol=1e-4)
    assert np.abs(delta).max() <= 0.2 * 255 + 1e-3 and delta.min() < -30 and delta.max() > 30
    c = _np(L.RandomContrast(0.3, seed=1)(x, training=True))
    ratio = c.std(axis=(1, 2)) / x.std(axis=(1, 2))
    assert ratio.min() >= 1 - 1e-4 and ratio.max() <= 1.3 + 1e-4  # Keras: [1 - 0, 1 + 0.3]
    np.testing.assert_allclose(c.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    clipped = _np(L.RandomBrightness((0.9, 0.9), value_range=(0, 1))(x / 255, training=True))
    assert clipped.max() == 1.0
    for layer, theirs in ((L.RandomContrast(0.3), tf.keras.layers.RandomContrast(0.3)),
                          (L.RandomBrightness(0.3), tf.keras.layers.RandomBrightness(0.3))):
        for dtype in ("uint8", "float32"):
            xi = x.astype(dtype)
            _close(layer(xi, training=False), theirs(xi, training=False), dtype)
    xf = rng.normal(size=(2, 3, 4, 2)) * 20 + 120
    _weighted_gradcheck(lambda v: L.RandomContrast(0.4, seed=3, dtype="float64")(v), xf)
    _weighted_gradcheck(lambda v: L.RandomBrightness(0.1, seed=3, dtype="float64")(v), xf)


# ---------------------------------------------------------------- shared behaviour
ALL_LAYERS = [
    ("Resizing", (4, 6), {"interpolation": "area", "crop_to_aspect_ratio": True}),
    ("CenterCrop", (4, 3), {}),
    ("RandomCrop", (4, 3), {"seed": 5}),
    ("RandomFlip", ("horizontal",), {"seed": 5}),
    ("RandomRotation", ((-0.2, 0.3),), {"fill_mode": "constant", "fill_value": 1.0, "seed": 5}),
    ("RandomZoom", (0.2, (0.1, 0.3)), {"interpolation": "nearest", "seed": 5}),
    ("RandomTranslation", (0.1, (-0.2, 0.1)), {"fill_mode": "wrap", "seed": 5}),
    ("RandomContrast", (0.4,), {"value_range": (0, 1), "seed": 5}),
    ("RandomBrightness", ((-0.1, 0.3),), {"value_range": [0, 1], "seed": 5}),
]


@pytest.mark.parametrize("name,args,kw", ALL_LAYERS)
def test_config_keys_and_round_trip(tf, rng, name, args, kw):
    ours, theirs = getattr(L, name)(*args, **kw), _tf_layer(tf, name, *args, **kw)
    c = ours.get_config()
    assert set(c) == set(theirs.get_config())
    for k, v in theirs.get_config().items():
        if k not in ("name", "dtype"):
            assert (list(c[k]) if isinstance(c[k], tuple) else c[k]) == \
                (list(v) if isinstance(v, tuple) else v), k
    again = getattr(L, name).from_config(c)
    assert again.get_config() == c
    _tf_layer(tf, name, *args, **kw).__class__.from_config(
        {k: v for k, v in c.items() if k != "dtype"})  # tf.keras takes our config
    x = _images(rng, (2, 8, 6, 3)) / 255
    y = again(x, training=True)  # (RandomCrop is the identity at inference, as Keras)
    assert _np(y).shape == ours.compute_output_shape(x.shape)


@pytest.mark.parametrize("name,args,kw", ALL_LAYERS[2:])
def test_random_layers_identity_at_inference(tf, rng, name, args, kw):
    x = _images(rng, (3, 8, 6, 3)) / 255
    ours = getattr(L, name)(*args, **kw)
    _close(ours(x, training=False), _tf_layer(tf, name, *args, **kw)(x, training=False))
    np.testing.assert_array_equal(_np(ours(x, training=False)), x)
    assert not np.array_equal(_np(ours(x)), x) or name == "RandomFlip"  # call default: train


def test_symbolic_shapes_and_rank_errors():
    inp = L.Input((8, 6, 3))
    assert tuple(L.Resizing(4, 5)(inp).shape) == (None, 4, 5, 3)
    assert tuple(L.CenterCrop(4, 5)(inp).shape) == (None, 4, 5, 3)
    assert tuple(L.RandomCrop(4, 5)(inp).shape) == (None, 4, 5, 3)
    assert tuple(L.RandomRotation(0.1)(inp).shape) == (None, 8, 6, 3)
    assert tuple(L.Resizing(4, 5, data_format="channels_first").compute_output_shape(
        (None, 3, 8, 6))) == (None, 3, 4, 5)
    for layer in (L.RandomFlip(), L.CenterCrop(2, 2), L.Resizing(2, 2), L.RandomZoom(0.1),
                  L.RandomContrast(0.1), L.RandomCrop(2, 2)):
        with pytest.raises(ValueError, match="rank 3"):
            layer(np.ones((6, 3), "float32"), training=True)


def test_augmentation_in_a_model_fit_and_saved(tf, rng, tmp_path):
    x = _images(rng, (24, 12, 12, 3))
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("float32")
    data_augmentation = fk.Sequential([L.RandomFlip("horizontal", seed=1),
                                       L.RandomRotation(0.1, seed=2),
                                       L.RandomZoom(0.1, seed=3)])
    inp = L.Input((12, 12, 3))
    h = L.Rescaling(1 / 255)(data_augmentation(inp))
    h = L.Conv2D(4, 3, activation="relu")(L.Resizing(10, 10)(h))
    out = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling2D()(h))
    model = fk.Model(inp, out)
    model.compile("adam", "binary_crossentropy")
    rot = data_augmentation.layers[1]
    before = int(rot.generator.state.numpy()[1])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert int(rot.generator.state.numpy()[1]) == before + 6  # one draw per training batch
    pred = _np(model.predict(x, verbose=0))
    assert int(rot.generator.state.numpy()[1]) == before + 6  # inference draws nothing
    # at inference the augmentation is the identity: the model without it agrees
    h2 = L.Rescaling(1 / 255)(inp)
    plain = fk.Model(inp, model.layers[-1](model.layers[-2](model.layers[-3](
        model.layers[-4](h2)))))
    np.testing.assert_allclose(_np(plain.predict(x, verbose=0)), pred, rtol=1e-5)
    path = str(tmp_path / "aug.keras")
    model.save(path)
    again = fk.models.load_model(path)
    np.testing.assert_allclose(_np(again.predict(x, verbose=0)), pred, rtol=1e-6)
    assert [type(la).__name__ for la in again.layers[1].layers] == \
        ["RandomFlip", "RandomRotation", "RandomZoom"]
    theirs = tf.keras.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), pred, rtol=1e-4, atol=1e-6)
    # and the other way: a tf.keras file with image layers loads here
    tpath = str(tmp_path / "tf_aug.keras")
    tin = tf.keras.Input((9, 7, 3))
    tout = tf.keras.layers.Dense(2)(tf.keras.layers.Flatten()(tf.keras.layers.CenterCrop(6, 6)(
        tf.keras.layers.Resizing(8, 8, interpolation="bicubic")(tin))))
    tmodel = tf.keras.Model(tin, tout)
    tmodel.save(tpath)
    xt = _images(rng, (4, 9, 7, 3))
    np.testing.assert_allclose(_np(fk.models.load_model(tpath).predict(xt, verbose=0)),
                               tmodel.predict(xt, verbose=0), rtol=1e-4, atol=1e-3)


def test_tf_keras_file_with_augmentation_is_identity_at_predict(tf, rng, tmp_path):
    tin = tf.keras.Input((8, 6, 3))
    tmodel = tf.keras.Model(tin, tf.keras.layers.RandomRotation(0.2)(tin))
    path = str(tmp_path / "rot.keras")
    tmodel.save(path)
    x = _images(rng, (2, 8, 6, 3))
    np.testing.assert_allclose(_np(fk.models.load_model(path).predict(x, verbose=0)), x)


BAD_ARGUMENTS = [
    (lambda: L.Resizing(0, 4), ValueError, "height"),
    (lambda: L.Resizing(4, 2.5), ValueError, "width"),
    (lambda: L.Resizing(4, 4, interpolation="cubic"), ValueError, "interpolation"),
    (lambda: L.Resizing(4, 4, fill_mode="reflect"), ValueError, "fill_mode"),
    (lambda: L.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     ValueError, "pad_to_aspect_ratio"),
    (lambda: L.CenterCrop(-1, 3), ValueError, "height"),
    (lambda: L.RandomCrop(3, None), ValueError, "width"),
    (lambda: L.RandomFlip("diagonal"), ValueError, "mode"),
    (lambda: L.RandomRotation(1.5), ValueError, "factor"),
    (lambda: L.RandomRotation((0.1, 0.2, 0.3)), ValueError, "factor"),
    (lambda: L.RandomRotation("a"), ValueError, "factor"),
    (lambda: L.RandomRotation(0.1, fill_mode="mirror"), NotImplementedError, "fill_mode"),
    (lambda: L.RandomRotation(0.1, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda: L.RandomRotation(0.1, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: L.RandomRotation(0.1, fill_value="x"), ValueError, "fill_value"),
    (lambda: L.RandomZoom(-1.0), ValueError, "height_factor"),
    (lambda: L.RandomZoom(0.1, (0.1, 1.2)), ValueError, "width_factor"),
    (lambda: L.RandomZoom(0.1, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda: L.RandomTranslation(1.5, 0.1), ValueError, "height_factor"),
    (lambda: L.RandomTranslation(0.1, (0.1,)), ValueError, "width_factor"),
    (lambda: L.RandomTranslation(0.1, 0.1, interpolation="area"), ValueError, "interpolation"),
    (lambda: L.RandomContrast(1.5), ValueError, "factor"),
    (lambda: L.RandomContrast(-0.1), ValueError, "factor"),
    (lambda: L.RandomContrast(0.1, value_range=3), ValueError, "value_range"),
    (lambda: L.RandomBrightness(1.5), ValueError, "factor"),
    (lambda: L.RandomBrightness(0.2, value_range=(0, 1, 2)), ValueError, "value_range"),
    (lambda: L.RandomFlip(data_format="nhwc"), ValueError, "data_format"),
    (lambda: L.RandomFlip(seed=1.5), ValueError, "seed"),
]


@pytest.mark.parametrize("make,error,word", BAD_ARGUMENTS)
def test_bad_arguments(make, error, word):
    with pytest.raises(error, match=word):
        make()
