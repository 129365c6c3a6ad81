"""keras.applications, part 1: VGG16/19, ResNet50/101/152 (and the V2s), DenseNet121/169/201
against tf.keras (Keras 3): parameter counts, layer names and order, output shapes, the
predictions on the same weights (set_weights, a Keras 3 .weights.h5 file and a Keras 2
HDF5 weights file passed as `weights=path`), imagenet_utils (preprocess_input in every
mode and layout, decode_predictions from a local class index, the input-shape checks and
their messages), the refusal of weights="imagenet", and Keras 2 HDF5 weights files read by
Model.load_weights, hostile ones included."""
import json
import warnings

import numpy as np
import pytest

import fastkeras as fk
from fastkeras.saving import FileFormatError

h5py = pytest.importorskip("h5py")

SMALL = (32, 32, 3)


@pytest.fixture(scope="module")
def keras(tf):
    return tf.keras


def _fresh(keras):
    """Both libraries' auto-naming counters reset, so unnamed layers get the same names."""
    keras.backend.clear_session()
    fk.backend.clear_session()


def _pair(keras, family, name, **kwargs):
    _fresh(keras)
    ref = getattr(keras.applications, name)(weights=None, **kwargs)
    ours = getattr(getattr(fk.applications, family), name)(weights=None, **kwargs)
    return ref, ours


def _assert_same_structure(ref, ours):
    assert [l.name for l in ours.layers] == [l.name for l in ref.layers]
    assert [type(l).__name__ for l in ours.layers] == [type(l).__name__ for l in ref.layers]
    assert ours.count_params() == ref.count_params()
    assert sum(int(np.prod(w.shape)) for w in ours.trainable_weights) == \
        sum(int(np.prod(w.shape)) for w in ref.trainable_weights)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert tuple(ours.output_shape) == tuple(ref.output_shape)
    assert ours.name == ref.name


# full-size builds: counts, names, shapes (ResNet50, ResNet50V2 and DenseNet121 are compared
# in the prediction tests below; the heads are the same code across each family)
STRUCTURES = [
    ("vgg16", "VGG16", dict(include_top=False, pooling="avg")),
    ("vgg19", "VGG19", dict(include_top=True, input_shape=SMALL, classes=10)),
    ("resnet", "ResNet152", dict(include_top=False, pooling="avg")),
    ("densenet", "DenseNet169", dict(include_top=False, pooling="avg")),
    ("densenet", "DenseNet201", dict(include_top=False, pooling="max")),
]


@pytest.mark.parametrize("family,name,kwargs", STRUCTURES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for _, n, kw in STRUCTURES])
def test_structure_matches_tf_keras(keras, family, name, kwargs):
    ref, ours = _pair(keras, family, name, **kwargs)
    _assert_same_structure(ref, ours)


def _randomised(ref, rng):
    """Reference weights with non-trivial batch-norm statistics."""
    out = []
    for w, v in zip(ref.get_weights(), ref.weights):
        if w.ndim == 1:
            w = w + rng.normal(0, 0.1, w.shape).astype(w.dtype)
        if "moving_variance" in v.path:
            w = np.abs(w) + 0.5
        out.append(w)
    return out


def _save_legacy_h5(ref, path):
    """The layout of Keras' downloadable weights files, written by Keras' own writer."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, ref)


PREDICTIONS = [
    ("vgg16", "VGG16", dict(include_top=False, input_shape=SMALL), "both"),
    ("resnet", "ResNet50", dict(include_top=True, input_shape=SMALL, classes=7,
                                classifier_activation=None), False),
    ("resnet_v2", "ResNet50V2", dict(include_top=False, input_shape=SMALL, pooling="avg"),
     False),
    ("densenet", "DenseNet121", dict(include_top=True, input_shape=(40, 40, 3),
                                     classes=7), "h5"),
]


@pytest.mark.parametrize("family,name,kwargs,files", PREDICTIONS,
                         ids=[p[1] for p in PREDICTIONS])
def test_predictions_match_tf_keras_on_the_same_weights(keras, tmp_path, rng, family, name,
                                                        kwargs, files):
    ref, ours = _pair(keras, family, name, **kwargs)
    _assert_same_structure(ref, ours)
    ref.set_weights(_randomised(ref, rng))
    ours.set_weights(ref.get_weights())
    shape = kwargs["input_shape"]
    x = rng.uniform(0, 255, (2,) + shape).astype("float32")
    x = getattr(fk.applications, family).preprocess_input(x)
    want = np.asarray(ref(x, training=False))  # eager: tracing predict takes longer
    tol = dict(rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, **tol)
    if not files:
        return
    # weights=<path>: Keras 2's HDF5 layout (Keras' ImageNet files); Keras 3's .weights.h5
    _save_legacy_h5(ref, tmp_path / "ref.h5")
    builder = getattr(getattr(fk.applications, family), name)
    loaded = builder(weights=str(tmp_path / "ref.h5"), **kwargs)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, **tol)
    if files != "both":
        return
    ref.save_weights(tmp_path / "ref.weights.h5")
    ours.set_weights([np.zeros_like(w) for w in ours.get_weights()])
    ours.load_weights(tmp_path / "ref.weights.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, **tol)


def test_blocks_in_training_mode_match_keras(keras, rng, tmp_path):
    """DenseNet's dense and transition blocks and ResNet's v1 / v2 residual blocks in
    training mode (BatchNormalization on batch statistics, ZeroPadding2D, Concatenate,
    AveragePooling2D, Add, the strided 1x1 max-pool), built from each library's block
    functions on the same input."""
    from keras.src.applications import densenet as kdn, resnet as krn

    from fastkeras.applications import densenet as fdn, resnet as frn

    def blocks(lib, dn, rn):
        inp = lib.Input((9, 9, 16))
        x = dn.dense_block(inp, 2, name="conv2")
        x = dn.transition_block(x, 0.5, name="pool2")
        y = rn.residual_block_v1(inp, 4, stride=2, name="v1")
        y = rn.residual_block_v1(y, 4, conv_shortcut=False, name="v1b")
        z = rn.stack_residual_blocks_v2(inp, 4, 2, name="v2")
        return lib.Model(inp, [x, y, z])

    _fresh(keras)
    ref = blocks(keras, kdn, krn)
    ours = blocks(fk, fdn, frn)
    assert [l.name for l in ours.layers] == [l.name for l in ref.layers]
    ref.set_weights(_randomised(ref, rng))
    ours.set_weights(ref.get_weights())
    x = rng.uniform(-1, 1, (4, 9, 9, 16)).astype("float32")
    for training in (True, False):
        for got, want in zip(ours(x, training=training), ref(x, training=training)):
            want = np.asarray(want)
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4,
                                       atol=1e-5 * float(np.abs(want).max()))
    # the same graph through a .keras file
    ours.save(tmp_path / "blocks.keras")
    back = fk.models.load_model(tmp_path / "blocks.keras")
    assert [l.name for l in back.layers] == [l.name for l in ours.layers]
    for got, want in zip(back.predict(x, verbose=0), ours.predict(x, verbose=0)):
        np.testing.assert_array_equal(got, want)


def test_include_top_softmax_and_logits(rng):
    fk.backend.clear_session()
    logits = fk.applications.ResNet50(weights=None, input_shape=SMALL, classes=5,
                                      classifier_activation=None)
    soft = fk.applications.ResNet50(weights=None, input_shape=SMALL, classes=5)
    soft.set_weights(logits.get_weights())
    x = rng.uniform(-1, 1, (3,) + SMALL).astype("float32")
    z = logits.predict(x, verbose=0)
    p = soft.predict(x, verbose=0)
    assert not np.allclose(z.sum(axis=1), 1.0)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


def test_input_tensor_keeps_the_layers_before_it(keras, rng):
    _fresh(keras)
    ti = keras.Input(SMALL)
    ref = keras.applications.VGG19(weights=None, include_top=False, pooling="max",
                                   input_tensor=keras.layers.Rescaling(1 / 255.)(ti))
    fi = fk.Input(SMALL)
    ours = fk.applications.VGG19(weights=None, include_top=False, pooling="max",
                                 input_tensor=fk.layers.Rescaling(1 / 255.)(fi))
    assert ours.inputs[0] is fi
    _assert_same_structure(ref, ours)
    ours.set_weights(ref.get_weights())
    x = rng.uniform(0, 255, (2,) + SMALL).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(ref(x)),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="input_tensor"):
        fk.applications.VGG16(weights=None, include_top=False, input_tensor=np.zeros(SMALL))


def test_loading_a_keras_file_reads_each_layer_name_once(tmp_path, monkeypatch):
    """Finding each layer's group scanned every sibling's name (quadratic: a 175-layer
    ResNet50 took 12 s to load); the names are now read once per folder."""
    from fastkeras.saving import hdf5_guard

    inp = fk.Input((3,))
    x = inp
    for i in range(30):
        x = fk.layers.Dense(3, name=f"d{i}")(x)
    model = fk.Model(inp, x)
    model.save(tmp_path / "m.keras")
    calls = []
    real = hdf5_guard.CheckedFile.text_attr

    def counting(self, obj, key, where):
        calls.append(where)
        return real(self, obj, key, where)

    monkeypatch.setattr(hdf5_guard.CheckedFile, "text_attr", counting)
    back = fk.models.load_model(tmp_path / "m.keras")
    assert len([c for c in calls if c.endswith("/vars")]) <= 31
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- weights argument -------------------------------------------------------------------

BUILDERS = [("vgg16", "VGG16"), ("vgg19", "VGG19"), ("resnet", "ResNet50"),
            ("resnet", "ResNet101"), ("resnet", "ResNet152"), ("resnet_v2", "ResNet50V2"),
            ("densenet", "DenseNet121"), ("densenet", "DenseNet169"),
            ("densenet", "DenseNet201")]


@pytest.mark.parametrize("family,name", BUILDERS, ids=[b[1] for b in BUILDERS])
def test_default_imagenet_weights_are_refused_clearly(family, name):
    builder = getattr(getattr(fk.applications, family), name)
    assert getattr(fk.applications, name) is builder
    with pytest.raises(ValueError, match=r"never downloads.*local weights file") as info:
        builder()
    assert "weights_tf_dim_ordering_tf_kernels.h5" in str(info.value)
    with pytest.raises(ValueError, match="_notop.h5"):
        builder(include_top=False, input_shape=SMALL)


def test_bad_weights_argument_message_matches_keras(keras, tmp_path):
    missing = str(tmp_path / "nowhere.h5")
    with pytest.raises(ValueError) as theirs:
        keras.applications.VGG16(weights=missing)
    with pytest.raises(ValueError) as ours:
        fk.applications.VGG16(weights=missing)
    assert str(ours.value) == str(theirs.value)


def test_load_application_weights_helper(tmp_path):
    from fastkeras.applications.imagenet_utils import load_application_weights

    fk.backend.clear_session()
    a = fk.applications.VGG16(weights=None, include_top=False, input_shape=SMALL)
    b = fk.applications.VGG16(weights=None, include_top=False, input_shape=SMALL)
    before = [w.copy() for w in b.get_weights()]
    assert load_application_weights(b, None) is b
    for w, v in zip(b.get_weights(), before):
        np.testing.assert_array_equal(w, v)
    with pytest.raises(ValueError, match="never downloads"):
        load_application_weights(b, "imagenet")
    a.save_weights(tmp_path / "a.weights.h5")
    load_application_weights(b, tmp_path / "a.weights.h5")
    for w, v in zip(b.get_weights(), a.get_weights()):
        np.testing.assert_array_equal(w, v)


# --- input shape checks -----------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(include_top=False, input_shape=(16, 16, 3)),
    dict(include_top=False, input_shape=(32, 3)),
    dict(include_top=True, input_shape=(None, None, 3)),
    dict(include_top=False, input_shape=(31, 64, 3)),
], ids=["too-small", "rank-2", "top-not-static", "one-side-small"])
@pytest.mark.parametrize("name", ["VGG16", "ResNet50", "DenseNet121"])
def test_input_shape_errors_match_keras(keras, name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(keras.applications, name)(weights=None, **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(fk.applications, name)(weights=None, **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_obtain_input_shape_matches_keras(keras):
    from keras.src.applications import imagenet_utils as kiu

    from fastkeras.applications import imagenet_utils as fiu

    cases = [(None, 224, 32, "channels_last", True, None),
             (None, 224, 32, "channels_last", False, None),
             (None, 224, 32, "channels_first", False, None),
             ((64, 80, 3), 224, 32, "channels_last", False, None),
             ((3, 64, 80), 224, 32, "channels_first", False, None),
             (None, 224, 32, "channels_last", True, "imagenet"),
             ((224, 224, 3), 224, 32, "channels_last", True, "imagenet"),
             ((100, 100, 3), 224, 32, "channels_last", False, "imagenet")]
    for case in cases:
        assert tuple(fiu.obtain_input_shape(*case)) == tuple(kiu.obtain_input_shape(*case))
    for bad in [((100, 100, 3), 224, 32, "channels_last", True, "imagenet"),
                ((100, 100, 4), 224, 32, "channels_last", False, "imagenet"),
                ((4, 100, 100), 224, 32, "channels_first", False, "imagenet"),
                ((3, 10, 100), 224, 32, "channels_first", False, None)]:
        with pytest.raises(ValueError) as theirs:
            kiu.obtain_input_shape(*bad)
        with pytest.raises(ValueError) as ours:
            fiu.obtain_input_shape(*bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        fiu.obtain_input_shape((64, 64, 5), 224, 32, "channels_last", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fiu.obtain_input_shape((64, 64, 1), 224, 32, "channels_last", False)


def test_classifier_activation_with_pretrained_weights_is_checked(keras, tmp_path):
    fk.backend.clear_session()
    small = fk.applications.VGG16(weights=None, include_top=True, input_shape=SMALL, classes=3)
    small.save_weights(tmp_path / "v.weights.h5")
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations"):
        fk.applications.VGG16(weights=str(tmp_path / "v.weights.h5"), input_shape=SMALL,
                              classes=3, classifier_activation="relu")
    fk.applications.VGG16(weights=str(tmp_path / "v.weights.h5"), input_shape=SMALL,
                          classes=3, classifier_activation=None)


# --- preprocess_input / decode_predictions ----------------------------------------------

@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(2, 5, 4, 3), (5, 4, 3)], ids=["4d", "3d"])
def test_preprocess_input_numpy_matches_keras(keras, rng, mode, data_format, shape):
    from keras.src.applications import imagenet_utils as kiu

    if data_format == "channels_first":
        shape = shape[:-3] + (3,) + shape[-3:-1]
    for dtype in ("float32", "float64", "uint8", "int32"):
        x = rng.uniform(0, 255, shape).astype(dtype)
        theirs_in, ours_in = x.copy(), x.copy()
        theirs = kiu.preprocess_input(theirs_in, data_format=data_format, mode=mode)
        ours = fk.applications.imagenet_utils.preprocess_input(ours_in, data_format=data_format,
                                                               mode=mode)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)
        # a float array is written over as Keras writes it
        np.testing.assert_allclose(ours_in, theirs_in, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_input_tensors_match_keras(tf, keras, rng, mode, data_format):
    from keras.src.applications import imagenet_utils as kiu

    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    for dtype in ("float32", "float64"):
        x = rng.uniform(0, 255, shape).astype(dtype)
        theirs = np.asarray(kiu.preprocess_input(tf.constant(x), data_format=data_format,
                                                 mode=mode))
        t = fk.convert_to_tensor(x)
        ours = fk.applications.imagenet_utils.preprocess_input(t, data_format=data_format,
                                                               mode=mode)
        assert isinstance(ours, fk.Tensor)
        assert np.asarray(ours).dtype == np.dtype(dtype)
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(np.asarray(t), x)  # a tensor is not changed
    # integer tensors become floatx (TensorFlow refuses to divide them by a float)
    xi = rng.integers(0, 256, shape).astype("int32")
    ours = fk.applications.imagenet_utils.preprocess_input(fk.convert_to_tensor(xi),
                                                           data_format=data_format, mode=mode)
    want = kiu.preprocess_input(xi.astype("float32"), data_format=data_format, mode=mode)
    assert np.asarray(ours).dtype == np.float32
    np.testing.assert_allclose(np.asarray(ours), want, rtol=1e-6, atol=1e-5)


def test_preprocess_input_in_a_functional_model(rng):
    inp = fk.Input((6, 5, 3))
    model = fk.Model(inp, fk.applications.densenet.preprocess_input(inp))
    x = rng.uniform(0, 255, (2, 6, 5, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               fk.applications.densenet.preprocess_input(x.copy()), rtol=1e-6)


def test_family_preprocess_input_and_errors_match_keras(keras, rng):
    x = rng.uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    for module in ("vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "densenet"):
        theirs = getattr(keras.applications, module).preprocess_input(x.copy())
        ours = getattr(fk.applications, module).preprocess_input(x.copy())
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5, err_msg=module)
    for kwargs in (dict(mode="pytorch"), dict(data_format="channels_middle")):
        with pytest.raises(ValueError) as theirs:
            keras.applications.imagenet_utils.preprocess_input(x.copy(), **kwargs)
        with pytest.raises(ValueError) as ours:
            fk.applications.imagenet_utils.preprocess_input(x.copy(), **kwargs)
        assert str(ours.value) == str(theirs.value)


def _class_index():
    return {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}


def test_decode_predictions_from_a_local_class_index(keras, tmp_path, rng, monkeypatch):
    from keras.src.applications import imagenet_utils as kiu

    from fastkeras.applications import imagenet_utils as fiu

    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(_class_index()))
    monkeypatch.setattr(kiu, "CLASS_INDEX", _class_index())
    preds = rng.uniform(size=(3, 1000)).astype("float32")
    fiu.set_class_index_path(path)
    try:
        for top in (1, 5):
            ours = fk.applications.resnet50.decode_predictions(preds, top=top)
            theirs = keras.applications.resnet50.decode_predictions(preds, top=top)
            assert ours == theirs
        with pytest.raises(ValueError) as theirs:
            kiu.decode_predictions(preds[:, :10])
        with pytest.raises(ValueError) as ours:
            fiu.decode_predictions(preds[:, :10])
        assert str(ours.value) == str(theirs.value)
        path.write_text(json.dumps({"0": ["a", "b"]}))
        fiu.set_class_index_path(path)
        with pytest.raises(ValueError, match="not an ImageNet class index"):
            fiu.decode_predictions(preds)
        fiu.set_class_index_path(tmp_path / "none.json")
        with pytest.raises(ValueError, match="never downloads"):
            fiu.decode_predictions(preds)
    finally:
        fiu.set_class_index_path(None)
    # Keras' cache location is where it looks by default
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "imagenet_class_index.json").write_text(
        json.dumps(_class_index()))
    assert fiu.decode_predictions(preds, top=1)[0][0][:2] == tuple(
        _class_index()[str(int(preds[0].argmax()))])
    fiu.set_class_index_path(None)


def test_package_attributes():
    apps = fk.applications
    for module in ("imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2",
                   "densenet"):
        assert getattr(apps, module).__name__ == f"fastkeras.applications.{module}"
    assert apps.resnet50.ResNet50 is apps.resnet.ResNet50 is apps.ResNet50
    assert apps.resnet50.preprocess_input is apps.resnet.preprocess_input
    assert {"VGG16", "ResNet152V2", "DenseNet201", "resnet50"} <= set(dir(apps))
    with pytest.raises(AttributeError):
        apps.NoSuchNet


# --- Keras 2 HDF5 weights files -----------------------------------------------------------

def _small(lib, names=("d1", "bn", "d2")):
    inp = lib.Input((4,))
    x = lib.layers.Dense(3, name=names[0])(inp)
    x = lib.layers.BatchNormalization(name=names[1])(x)
    x = lib.layers.Dropout(0.1)(x)
    return lib.Model(inp, lib.layers.Dense(2, name=names[2])(x))


def _random_ref(keras, rng):
    ref = _small(keras)
    ref.set_weights([rng.normal(size=w.shape).astype("float32") + (
        2.0 if "variance" in w.path else 0.0) for w in ref.weights])
    return ref


def test_keras2_weights_file_by_layer_order(keras, tmp_path, rng):
    ref = _random_ref(keras, rng)
    _save_legacy_h5(ref, tmp_path / "w.h5")
    x = rng.normal(size=(5, 4)).astype("float32")
    # names may differ: Keras matches the layers that hold weights by their order
    for names in (("d1", "bn", "d2"), ("a", "b", "c")):
        ours = _small(fk, names)
        ours.load_weights(tmp_path / "w.h5")
        np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
    # a whole-model file (model.save("m.h5")): its model_weights group
    ref.save(tmp_path / "m.h5")
    ours = _small(fk)
    ours.load_weights(tmp_path / "m.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def _write_layout(path, layers, split_names=False, root_attrs=True):
    """A Keras 2 weights file written with h5py: layers is [(name, [(weight, array)])]."""
    with h5py.File(path, "w") as f:
        names = np.array([n.encode() for n, _ in layers])
        if split_names:  # Keras splits attributes over HDF5's 64 KB header limit
            f.attrs["layer_names0"] = names[:2]
            f.attrs["layer_names1"] = names[2:]
        elif root_attrs:
            f.attrs["layer_names"] = names
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in weights])
            for w, value in weights:
                g.create_dataset(f"{name}/{w}:0", data=value)


def _layers_of(ref):
    return [("input_1", [])] + [
        (l.name, [(v.name, np.asarray(v)) for v in l.trainable_weights + l.non_trainable_weights])
        for l in ref.layers if l.weights] + [("dropout", [])]


def test_hand_written_keras2_layout(keras, tmp_path, rng):
    ref = _random_ref(keras, rng)
    x = rng.normal(size=(5, 4)).astype("float32")
    for split in (False, True):
        _write_layout(tmp_path / "h.h5", _layers_of(ref), split_names=split)
        ours = _small(fk)
        ours.load_weights(tmp_path / "h.h5")
        np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)


def _refused(path, match):
    model = _small(fk)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(FileFormatError, match=match) as info:
        model.load_weights(path)
    for w, v in zip(model.get_weights(), before):  # nothing was assigned
        np.testing.assert_array_equal(w, v)
    return str(info.value)


def test_hostile_keras2_weights_files(keras, tmp_path, rng):
    ref = _random_ref(keras, rng)
    good = _layers_of(ref)
    # a wrong shape, in the last layer (the first ones must not be assigned either)
    bad = [(n, [(w, v if n != "d2" or w != "kernel" else np.zeros((3, 5), "float32"))
                for w, v in ws]) for n, ws in good]
    _write_layout(tmp_path / "shape.h5", bad)
    message = _refused(tmp_path / "shape.h5", r"shape mismatch")
    assert "'d2'" in message and "kernel" in message and "(3, 2)" in message
    # a layer missing: the count differs, the message names what is missing
    _write_layout(tmp_path / "missing.h5", [l for l in good if l[0] != "d2"])
    message = _refused(tmp_path / "missing.h5", r"layer count mismatch")
    assert "d2" in message
    # a listed layer without its group
    _write_layout(tmp_path / "nogroup.h5", good)
    with h5py.File(tmp_path / "nogroup.h5", "a") as f:
        del f["bn"]
    _refused(tmp_path / "nogroup.h5", r"'bn' is listed in layer_names but the file has no")
    # weight_names naming a dataset that is not there
    _write_layout(tmp_path / "nodata.h5", good)
    with h5py.File(tmp_path / "nodata.h5", "a") as f:
        del f["bn/bn/gamma:0"]
    _refused(tmp_path / "nodata.h5", r"no dataset 'bn/gamma:0'")
    # a weight count that differs
    fewer = [(n, ws[:1] if n == "bn" else ws) for n, ws in good]
    _write_layout(tmp_path / "count.h5", fewer)
    _refused(tmp_path / "count.h5", r"expects 4 weight\(s\), the file holds 1")
    # an external link in place of a weight: the guard refuses the file before reading it
    np.save(tmp_path / "x.npy", np.zeros(3))
    _write_layout(tmp_path / "link.h5", good)
    with h5py.File(tmp_path / "link.h5", "a") as f:
        del f["d1/d1/bias:0"]
        f["d1/d1/bias:0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
    _refused(tmp_path / "link.h5", r"ExternalLink")
    # text where numbers belong
    _write_layout(tmp_path / "text.h5", good)
    with h5py.File(tmp_path / "text.h5", "a") as f:
        del f["d1/d1/bias:0"]
        f["d1/d1/bias:0"] = np.array([b"a", b"b", b"c"])
    _refused(tmp_path / "text.h5", r"not numbers")
    # neither layout
    with h5py.File(tmp_path / "neither.h5", "w") as f:
        f.create_group("something")
    _refused(tmp_path / "neither.h5", r"not a \.weights\.h5 file")


def test_skip_mismatch_with_a_keras2_file(keras, tmp_path, rng):
    """The use Keras documents: a pretrained file's top into a model with other classes."""
    ref = _random_ref(keras, rng)
    _save_legacy_h5(ref, tmp_path / "w.h5")
    inp = fk.Input((4,))
    x = fk.layers.Dense(3, name="d1")(inp)
    x = fk.layers.BatchNormalization(name="bn")(x)
    ours = fk.Model(inp, fk.layers.Dense(5, name="d2")(x))
    with pytest.raises(FileFormatError, match="shape mismatch"):
        ours.load_weights(tmp_path / "w.h5")
    head = [w.copy() for w in ours.get_layer("d2").get_weights()]
    with pytest.warns(UserWarning, match="Skipping loading weights for layer #2"):
        ours.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    for layer in ("d1", "bn"):
        for got, want in zip(ours.get_layer(layer).get_weights(),
                             ref.get_layer(layer).get_weights()):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(ours.get_layer("d2").get_weights(), head):
        np.testing.assert_array_equal(got, want)
