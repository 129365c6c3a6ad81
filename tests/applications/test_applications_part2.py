"""keras.applications MobileNet, MobileNetV2, EfficientNetB0..B7 against tf.keras: layer
names, classes and order, weight paths and shapes, parameter counts, output shapes;
predictions after transferring weights (set_weights, .weights.h5 and Keras 2 .h5 files);
a training step; the argument errors; preprocess_input."""
import hashlib
import os
import re

import numpy as np
import pytest

import fastkeras as fk

# layers Keras names automatically (their numbering depends on what was built before)
_AUTO = re.compile(r"^(input_layer|global_average_pooling2d|global_max_pooling2d|rescaling|"
                   r"normalization)(_\d+)?$")


def _plain(name):
    return _AUTO.sub(r"\1", name)


def _structure(model):
    layers = [(_plain(layer.name), type(layer).__name__.replace("Functional", "Model"))
              for layer in model.layers]
    weights = []
    for w in model.weights:
        owner, _, leaf = w.path.rpartition("/")
        weights.append((f"{_plain(owner)}/{leaf}", tuple(int(d) for d in w.shape)))
    return layers, weights


def _facts(model):
    """(name, parameters, trainable parameters, layers, digest of the layer names and
    classes and of the weight paths and shapes)."""
    digest = hashlib.sha256(repr(_structure(model)).encode()).hexdigest()[:16]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return (model.name, model.count_params(), trainable, len(model.layers), digest)


def _both(tf, family, **kwargs):
    ours = getattr(fk.applications, family)(weights=None, **kwargs)
    theirs = getattr(tf.keras.applications, family)(weights=None, **kwargs)
    return ours, theirs


STRUCTURE_CASES = [
    ("MobileNet", {}),
    ("MobileNet", dict(include_top=False, input_shape=(64, 64, 3), alpha=0.5, pooling="avg")),
    ("MobileNet", dict(include_top=False, input_shape=(96, 128, 3), alpha=0.25,
                       depth_multiplier=2, pooling="max")),
    ("MobileNet", dict(input_shape=(160, 160, 3), alpha=0.75, classes=10, dropout=0.3,
                       classifier_activation=None)),
    ("MobileNetV2", {}),
    ("MobileNetV2", dict(include_top=False, input_shape=(64, 64, 3), alpha=0.35,
                         pooling="max")),
    ("MobileNetV2", dict(include_top=False, input_shape=(33, 47, 3), alpha=1.3,
                         name="mine")),
    ("MobileNetV2", dict(input_shape=(96, 96, 3), alpha=0.75, classes=5)),
    ("EfficientNetB0", {}),
    ("EfficientNetB0", dict(include_top=False, input_shape=(33, 47, 3), pooling="avg")),
    ("EfficientNetB0", dict(input_shape=(64, 64, 3), classes=7, name="b0_small")),
]


@pytest.mark.parametrize("family,kwargs", STRUCTURE_CASES,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(STRUCTURE_CASES)])
def test_structure_matches_tf(tf, family, kwargs):
    ours, theirs = _both(tf, family, **kwargs)
    assert ours.name == theirs.name
    layers, weights = _structure(ours)
    tf_layers, tf_weights = _structure(theirs)
    assert layers == tf_layers
    assert weights == tf_weights
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert tuple(ours.output_shape) == tuple(theirs.output_shape)
    assert tuple(ours.input_shape) == tuple(theirs.input_shape)
    for mine, other in zip(ours.layers, theirs.layers):
        if type(mine).__name__ in ("Dropout", "ReLU", "ZeroPadding2D", "DepthwiseConv2D",
                                   "Activation", "Reshape"):
            c, t = mine.get_config(), other.get_config()
            for key in ("rate", "noise_shape", "max_value", "padding", "strides",
                        "depth_multiplier", "activation", "target_shape"):
                if key in t:
                    a, b = c[key], t[key]
                    if isinstance(b, tuple):  # fastkeras' Reshape writes a list
                        a = tuple(a)
                    assert a == b, (mine.name, key)


# Recorded from tf.keras 3.15 with _facts (weights=None, input_shape=(32, 32, 3),
# include_top=True): building all seven in TensorFlow takes ~50 s on the CI machines, so
# the suite compares with these and rebuilds B1 in tf.keras to check the recording
# (FASTKERAS_APPLICATIONS_FULL=1 rebuilds all seven).
EFFICIENTNET_FACTS = {
    "B1": ("efficientnetb1", 7856239, 7794184, 342, "c98ed8d4ff2b96c2"),
    "B2": ("efficientnetb2", 9177569, 9109994, 342, "c2561bfb228a5e3c"),
    "B3": ("efficientnetb3", 12320535, 12233232, 387, "4f3c8cf11b6261be"),
    "B4": ("efficientnetb4", 19466823, 19341616, 477, "eaad4a388682fec3"),
    "B5": ("efficientnetb5", 30562527, 30389784, 579, "5fc13ca2b66c8249"),
    "B6": ("efficientnetb6", 43265143, 43040704, 669, "24405cb277316d09"),
    "B7": ("efficientnetb7", 66658687, 66347960, 816, "bc72730c21b4aef3"),
}


@pytest.fixture
def zero_truncated_normal(monkeypatch):
    """Structure-only builds skip drawing ~60M truncated normals (the values are not
    looked at)."""
    from fastkeras import initializers

    monkeypatch.setattr(initializers, "_truncated_normal",
                        lambda gen, shape, mean, stddev: np.zeros(shape))


@pytest.mark.parametrize("variant", sorted(EFFICIENTNET_FACTS))
def test_efficientnet_b1_to_b7_structure(variant, zero_truncated_normal):
    model = getattr(fk.applications, f"EfficientNet{variant}")(weights=None,
                                                                input_shape=(32, 32, 3))
    assert _facts(model) == EFFICIENTNET_FACTS[variant]
    assert model.output_shape == (None, 1000)


_LIVE = sorted(EFFICIENTNET_FACTS) if os.environ.get("FASTKERAS_APPLICATIONS_FULL") \
    else ["B1"]


@pytest.mark.parametrize("variant", _LIVE)
def test_efficientnet_recorded_facts_and_drop_connect(tf, variant, zero_truncated_normal):
    """The recorded facts are tf.keras'; the drop-connect Dropout layers' rates (growing
    with the block index), their noise_shape (None, 1, 1, 1) and the classifier's
    Dropout are tf.keras'."""
    name = f"EfficientNet{variant}"
    theirs = getattr(tf.keras.applications, name)(weights=None, input_shape=(32, 32, 3))
    assert _facts(theirs) == EFFICIENTNET_FACTS[variant]
    ours = getattr(fk.applications, name)(weights=None, input_shape=(32, 32, 3))
    mine = {l.name: l.get_config() for l in ours.layers if type(l).__name__ == "Dropout"}
    other = {l.name: l.get_config() for l in theirs.layers if type(l).__name__ == "Dropout"}
    assert sorted(mine) == sorted(other) and len(mine) > 10
    for key, config in mine.items():
        assert config["rate"] == pytest.approx(other[key]["rate"], rel=1e-12)
        assert tuple(config["noise_shape"] or ()) == tuple(other[key]["noise_shape"] or ())
    assert mine["top_dropout"]["rate"] == other["top_dropout"]["rate"]


# ---------------------------------------------------------------- numerical parity

def _perturbed(model, rng):
    """Model weights moved away from their initial values (batch-norm statistics and
    the EfficientNet stem's mean / variance included), so every weight matters."""
    values = []
    for w, v in zip(model.weights, model.get_weights()):
        leaf = w.path.rpartition("/")[2]
        if "variance" in leaf:
            v = rng.uniform(0.5, 1.5, v.shape)
        elif leaf == "gamma":
            v = rng.uniform(0.8, 1.2, v.shape)
        elif leaf != "count":
            v = v + rng.normal(0.0, 0.05, v.shape)
        values.append(np.asarray(v, dtype=w.dtype if leaf == "count" else "float32"))
    return values


def _finalize(tf_model):
    # tf.keras' Normalization reads its mean / variance variables into constants at build
    # and on load_own_variables only: after set_weights it keeps using the old values
    # until finalize_state(). fastkeras' Normalization uses the variables themselves.
    for layer in tf_model.layers:
        if type(layer).__name__ == "Normalization":
            layer.finalize_state()


def _images(rng, shape, family):
    x = rng.uniform(0, 255, (2,) + shape).astype("float32")
    # MobileNets take preprocessed images; EfficientNet preprocesses itself
    return x / 127.5 - 1.0 if family.startswith("MobileNet") else x


def _close(ours, theirs, rtol=1e-4):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-6)
    assert float(np.abs(ours - theirs).max()) <= rtol * scale


PARITY_CASES = [
    ("MobileNet", dict(include_top=False, input_shape=(32, 32, 3), alpha=0.5)),
    ("MobileNet", dict(include_top=True, input_shape=(32, 32, 3), alpha=0.25, classes=6)),
    ("MobileNetV2", dict(include_top=False, input_shape=(64, 64, 3), alpha=0.35,
                         pooling="avg")),
    ("MobileNetV2", dict(include_top=True, input_shape=(32, 32, 3), alpha=0.5, classes=7)),
    ("EfficientNetB0", dict(include_top=False, input_shape=(64, 64, 3))),
]


@pytest.mark.parametrize("family,kwargs", PARITY_CASES,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(PARITY_CASES)])
def test_predictions_match_tf_after_set_weights(tf, family, kwargs):
    rng = np.random.default_rng(1)
    ours, theirs = _both(tf, family, **kwargs)
    theirs.set_weights(_perturbed(theirs, rng))
    _finalize(theirs)
    ours.set_weights(theirs.get_weights())
    x = _images(rng, kwargs["input_shape"], family)
    expected = theirs(x, training=False).numpy()  # eager: no graph tracing
    predicted = np.asarray(ours.predict(x, verbose=0))
    _close(predicted, expected)
    _close(ours(x, training=False), expected)
    if kwargs["include_top"]:
        np.testing.assert_allclose(predicted.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("family,kwargs,formats", [
    ("MobileNet", dict(include_top=False, input_shape=(32, 32, 3), alpha=0.5,
                       pooling="max"), ("keras3", "keras2")),
    ("MobileNetV2", dict(include_top=True, input_shape=(32, 32, 3), alpha=0.35, classes=4),
     ("keras3",)),
    ("EfficientNetB0", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"),
     ("keras2",)),
])
def test_weights_path_loads_tf_keras_files(tf, tmp_path, family, kwargs, formats):
    """weights=<path> of a tf.keras .weights.h5 file, and of a Keras 2 HDF5 weights file
    (the format of Keras' downloadable ImageNet files), gives tf.keras' predictions."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    rng = np.random.default_rng(2)
    theirs = getattr(tf.keras.applications, family)(weights=None, **kwargs)
    theirs.set_weights(_perturbed(theirs, rng))
    _finalize(theirs)
    files = {"keras3": str(tmp_path / "model.weights.h5"), "keras2": str(tmp_path / "k2.h5")}
    if "keras3" in formats:
        theirs.save_weights(files["keras3"])
    if "keras2" in formats:
        with h5py.File(files["keras2"], "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    x = _images(rng, kwargs["input_shape"], family)
    expected = theirs(x, training=False).numpy()
    for weights in (files[f] for f in formats):
        ours = getattr(fk.applications, family)(weights=weights, **kwargs)
        _close(ours.predict(x, verbose=0), expected)


@pytest.fixture
def float64(tf):
    """Both libraries build float64 models: the gradient comparisons below are exact
    there (in float32, batch norm over 4 samples at 1x1 resolution amplifies rounding
    to ~1% of the largest gradient, in both libraries alike)."""
    previous = (fk.config.floatx(), tf.keras.config.floatx(),
                tf.keras.config.dtype_policy().name)
    fk.config.set_floatx("float64")
    tf.keras.config.set_floatx("float64")
    tf.keras.config.set_dtype_policy("float64")
    yield
    fk.config.set_floatx(previous[0])
    tf.keras.config.set_floatx(previous[1])
    tf.keras.config.set_dtype_policy(previous[2])


def _gradients_match(tf, ours, theirs, x, y, rng):
    theirs.set_weights([v.astype("float64") if v.dtype.kind == "f" else v
                        for v in _perturbed(theirs, rng)])
    _finalize(theirs)
    ours.set_weights(theirs.get_weights())
    with fk.GradientTape() as tape:
        loss = fk.ops.mean(fk.losses.sparse_categorical_crossentropy(y, ours(x, training=True)))
    g_ours = tape.gradient(loss, ours.trainable_weights)
    with tf.GradientTape() as tape:  # eager, as fastkeras
        tf_loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
            y, theirs(x, training=True)))
    g_theirs = [g.numpy() for g in tape.gradient(tf_loss, theirs.trainable_weights)]
    assert float(np.asarray(loss)) == pytest.approx(float(tf_loss), rel=1e-10)
    assert len(g_ours) == len(g_theirs)
    scale = max(float(np.abs(g).max()) for g in g_theirs)
    for w, a, b in zip(theirs.trainable_weights, g_ours, g_theirs):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-7, atol=1e-10 * scale,
                                   err_msg=w.path)
    # the training-mode call moved the batch-norm statistics alike
    for w, a, b in zip(theirs.weights, ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=w.path)


def test_mobilenet_v2_gradients_match_tf(tf, float64):
    """Gradients and batch-norm updates in training mode (ReLU6, depthwise convolutions,
    the correct_pad paddings, the residual adds) of a small MobileNetV2."""
    rng = np.random.default_rng(3)
    ours, theirs = _both(tf, "MobileNetV2", include_top=True, input_shape=(32, 32, 3),
                         alpha=0.35, classes=3)
    x = rng.uniform(-1, 1, (4, 32, 32, 3))
    _gradients_match(tf, ours, theirs, x, np.array([0, 1, 2, 1]), rng)


def _small_efficientnet(module, **kwargs):
    """Keras' EfficientNet builder with two stages (three blocks, one with a skip)."""
    blocks = [dict(kernel_size=3, repeats=1, filters_in=32, filters_out=16, expand_ratio=1,
                   id_skip=True, strides=1, se_ratio=0.25),
              dict(kernel_size=5, repeats=2, filters_in=16, filters_out=24, expand_ratio=6,
                   id_skip=True, strides=2, se_ratio=0.25)]
    args = dict(width_coefficient=0.5, depth_coefficient=1.0, default_size=32,
                blocks_args=blocks, weights=None, input_shape=(32, 32, 3), classes=3)
    args.update(kwargs)
    return module.EfficientNet(**args)


def test_efficientnet_gradients_match_tf(tf, float64):
    """Gradients through the stem (Rescaling, Normalization), swish, squeeze-excite
    (GlobalAveragePooling2D, Reshape, sigmoid, Multiply) and the skip add."""
    from keras.src.applications import efficientnet as tf_efficientnet

    from fastkeras.applications import efficientnet

    ours = _small_efficientnet(efficientnet, dropout_rate=0.0, drop_connect_rate=0.0)
    theirs = _small_efficientnet(tf_efficientnet, dropout_rate=0.0, drop_connect_rate=0.0)
    assert _structure(ours) == _structure(theirs)
    # tf.keras' Rescaling converts its Python-float scale to a float32 tensor before the
    # cast to float64 (1/255 rounded to float32); ours keeps 1/255 exact: given the same
    # number, everything after it is compared at float64 precision
    ours.layers[1].scale = float(np.float32(1.0 / 255.0))
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 255, (3, 32, 32, 3))
    _gradients_match(tf, ours, theirs, x, np.array([0, 2, 1]), rng)


def test_drop_connect_drops_whole_samples():
    """In training, each drop-connect Dropout keeps or zeroes a whole sample."""
    model = fk.applications.EfficientNetB0(weights=None, include_top=False,
                                           input_shape=(32, 32, 3))
    layer = model.get_layer("block6d_drop")
    assert layer.noise_shape == (None, 1, 1, 1)
    x = np.ones((64, 2, 2, 8), "float32")
    out = np.asarray(layer(x, training=True)).reshape(64, -1)
    per_sample = np.unique(out, axis=1)
    assert per_sample.shape == (64, 1)
    values = per_sample.ravel()
    scaled = np.isclose(values, 1 / (1 - layer.rate), rtol=1e-6)
    assert np.all(scaled | (values == 0)) and scaled.any() and not scaled.all()
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


# ---------------------------------------------------------------- saving, input_tensor

def test_keras_file_round_trip_and_tf_interop(tf, tmp_path):
    """.keras files of an EfficientNet (the Rescaling / Normalization stem and its
    statistics, squeeze-excite, drop-connect) go both ways between the libraries."""
    from keras.src.applications import efficientnet as tf_efficientnet

    from fastkeras.applications import efficientnet

    ours = _small_efficientnet(efficientnet, include_top=False, pooling="avg")
    rng = np.random.default_rng(5)
    ours.set_weights(_perturbed(ours, rng))
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = np.asarray(ours.predict(x, verbose=0))
    path = str(tmp_path / "ours.keras")
    ours.save(path)
    _close(fk.models.load_model(path).predict(x, verbose=0), expected)
    _close(tf.keras.models.load_model(path)(x, training=False).numpy(), expected)
    theirs = _small_efficientnet(tf_efficientnet, classes=4)
    theirs.set_weights(_perturbed(theirs, rng))
    tf_path = str(tmp_path / "theirs.keras")
    theirs.save(tf_path)  # saving finalizes nothing: reload to get the stem's statistics
    theirs = tf.keras.models.load_model(tf_path)
    _close(fk.models.load_model(tf_path).predict(x, verbose=0),
           theirs(x, training=False).numpy())


@pytest.mark.parametrize("family", ["MobileNet", "MobileNetV2", "EfficientNetB0"])
def test_input_tensor_keeps_preceding_layers(family):
    inputs = fk.Input((40, 40, 3))
    x = fk.layers.Rescaling(2.0, name="before")(inputs)
    model = getattr(fk.applications, family)(weights=None, include_top=False,
                                             input_tensor=x, pooling="avg")
    assert model.inputs[0] is inputs
    assert model.get_layer("before") is not None
    assert model.output_shape[0] is None and len(model.output_shape) == 2


# ---------------------------------------------------------------- argument errors

FAMILIES = ["MobileNet", "MobileNetV2", "EfficientNetB0", "EfficientNetB7"]


@pytest.mark.parametrize("family", FAMILIES)
def test_imagenet_weights_refused(family):
    builder = getattr(fk.applications, family)
    with pytest.raises(ValueError, match="never downloads"):
        builder()
    with pytest.raises(ValueError, match="never downloads"):
        builder(weights="imagenet", include_top=False, input_shape=(64, 64, 3))


@pytest.mark.parametrize("family", FAMILIES[:3])
def test_bad_arguments(family, tmp_path):
    builder = getattr(fk.applications, family)
    with pytest.raises(ValueError, match="weights"):
        builder(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="at least 32x32"):
        builder(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="static"):
        builder(weights=None, include_top=True, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="three integers"):
        builder(weights=None, include_top=False, input_shape=(64, 64))
    with pytest.raises(ValueError, match="input_tensor"):
        builder(weights=None, include_top=False, input_tensor=np.zeros((1, 32, 32, 3)))
    # with weights to load, the classifier must be softmax or None (Keras' rule)
    model = builder(weights=None, include_top=True, input_shape=(32, 32, 3), classes=2)
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with pytest.raises(ValueError, match="classifier_activation"):
        builder(weights=path, include_top=True, input_shape=(32, 32, 3), classes=2,
                classifier_activation="relu")
    loaded = builder(weights=path, include_top=True, input_shape=(32, 32, 3), classes=2,
                     classifier_activation=None)
    assert loaded.layers[-1].get_config()["activation"] == "linear"


def test_mobilenet_v2_input_tensor_shape_mismatch():
    with pytest.raises(ValueError, match=r"input_tensor.shape\[2\] must equal"):
        fk.applications.MobileNetV2(weights=None, include_top=False,
                                    input_tensor=fk.Input((64, 64, 3)),
                                    input_shape=(64, 48, 3))
    # a square input tensor of a size Keras has weights for names the model after it
    model = fk.applications.MobileNetV2(weights=None, input_tensor=fk.Input((96, 96, 3)),
                                        alpha=0.5, classes=3)
    assert model.name == "mobilenetv2_0.50_96"


def test_efficientnet_repeats_must_be_positive():
    from fastkeras.applications import efficientnet

    blocks = [dict(efficientnet.DEFAULT_BLOCKS_ARGS[0], repeats=0)]
    with pytest.raises(ValueError, match="repeats"):
        efficientnet.EfficientNet(1.0, 1.0, 32, blocks_args=blocks, weights=None,
                                  include_top=False, input_shape=(32, 32, 3))


# ---------------------------------------------------------------- module functions

def test_preprocess_input_and_module_names(tf):
    from fastkeras.applications import efficientnet, mobilenet, mobilenet_v2

    rng = np.random.default_rng(6)
    x = rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    for ours, theirs in ((mobilenet, tf.keras.applications.mobilenet),
                         (mobilenet_v2, tf.keras.applications.mobilenet_v2)):
        np.testing.assert_allclose(ours.preprocess_input(x.copy()),
                                   theirs.preprocess_input(x.copy()), rtol=1e-6)
        np.testing.assert_allclose(ours.preprocess_input(x.astype("uint8")),
                                   theirs.preprocess_input(x.astype("uint8")), rtol=1e-6)
    assert efficientnet.preprocess_input(x) is x
    assert fk.applications.efficientnet.EfficientNetB3 is fk.applications.EfficientNetB3
    assert fk.applications.mobilenet.MobileNet is fk.applications.MobileNet
    assert fk.applications.mobilenet_v2.MobileNetV2 is fk.applications.MobileNetV2
    assert fk.applications.EfficientNetB5.__name__ == "EfficientNetB5"
    import inspect
    for name in ("MobileNet", "MobileNetV2", "EfficientNetB0", "EfficientNetB6"):
        ours = inspect.signature(getattr(fk.applications, name)).parameters
        theirs = inspect.signature(getattr(tf.keras.applications, name)).parameters
        assert list(ours) == list(theirs)
        assert all(ours[p].default == theirs[p].default for p in ours)
    for module in (mobilenet, mobilenet_v2, efficientnet):
        with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
            module.decode_predictions(np.zeros((2, 10)))


# ---------------------------------------------------------------- layers these need

@pytest.mark.parametrize("shape,kwargs", [
    ((9, 8, 3), dict(kernel_size=3)),
    ((9, 8, 3), dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2)),
    ((10, 11, 4), dict(kernel_size=(3, 5), dilation_rate=2, depth_multiplier=3)),
    ((None, None, 3), dict(kernel_size=3, strides=2)),
    ((4, 9, 7), dict(kernel_size=2, strides=(1, 3), data_format="channels_first")),
])
def test_depthwise_conv2d_symbolic_shapes_match_tf(tf, shape, kwargs):
    """DepthwiseConv2D gives its output shape without running the convolution on
    dummy batches (compute_output_shape); the shapes are tf.keras'."""
    ours = fk.layers.DepthwiseConv2D(**kwargs)
    theirs = tf.keras.layers.DepthwiseConv2D(**kwargs)
    assert ours(fk.Input(shape)).shape == tuple(theirs(tf.keras.Input(shape)).shape)
    assert ours.compute_output_shape((5,) + shape) == theirs.compute_output_shape((5,) + shape)
    with pytest.raises(ValueError, match="larger than the input"):
        fk.layers.DepthwiseConv2D(5)(fk.Input((4, 4, 2)))
    one_d = fk.layers.DepthwiseConv1D(3, depth_multiplier=2, padding="causal")
    assert one_d(fk.Input((10, 4))).shape == (None, 10, 8)
