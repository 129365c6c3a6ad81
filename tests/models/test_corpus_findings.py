"""Findings of the compatibility corpus (issue 19: findings F5, F6,
F9, dict-structured functional configs, explicit symbolic masks), against tf.keras (Keras
3.15) on the same weights:

- F5: a Sequential whose first layer is a built model is built at construction;
- F6: ``layer.build(shape)`` called by hand (or by keyword) marks the layer built and
  records its arguments (``get_build_config``), and such a layer saves and reloads;
- F9: Dense / Embedding configs carry ``quantization_config``; every layer's config keys
  against tf.keras's, with the differences listed;
- functional models with dict inputs / outputs keep their structure through get_config,
  from_config, model_from_json and .keras files;
- a call given ``mask=x._keras_mask`` saves and reloads.
"""
import json
import zipfile

import numpy as np
import pytest

import fastkeras as fk


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)


# ------------------------------------------------------------------ F5: Sequential
def _nested_sequential(lib):
    inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2, name="inner_dense")],
                           name="inner")
    return inner, lib.Sequential([inner, lib.layers.Dense(3, name="head")], name="outer")


def test_sequential_of_a_built_model_is_built_at_construction(tf, rng):
    _, kouter = _nested_sequential(tf.keras)
    _, outer = _nested_sequential(fk)
    assert outer.built == kouter.built is True
    assert len(outer.get_weights()) == len(kouter.get_weights()) == 4
    assert outer.input_shape == tuple(kouter.input_shape)
    assert outer.output_shape == tuple(kouter.output_shape)
    outer.set_weights(kouter.get_weights())
    x = rng.normal(size=(3, 4)).astype("float32")
    _close(outer.predict(x, verbose=0), kouter.predict(x, verbose=0))
    kconfig, config = kouter.get_config(), outer.get_config()
    assert [l["class_name"] for l in config["layers"]] == \
        [l["class_name"] for l in kconfig["layers"]]


def test_sequential_built_by_add_once_it_has_two_layers(tf):
    counts = {}
    for name, lib in (("tf", tf.keras), ("fk", fk)):
        inner, _ = _nested_sequential(lib)
        model = lib.Sequential()
        model.add(inner)
        first = len(model.get_weights())
        model.add(lib.layers.Dense(3))
        counts[name] = (first, len(model.get_weights()))
    assert counts["fk"] == counts["tf"] == (2, 4)


def test_sequential_of_a_multi_input_or_unbuilt_model_waits_for_data(tf):
    counts = {}
    for name, lib in (("tf", tf.keras), ("fk", fk)):
        a, b = lib.Input((3,)), lib.Input((2,))
        two = lib.Model([a, b], lib.layers.Concatenate()([a, b]))
        unbuilt = lib.Sequential([lib.layers.Dense(2)])
        counts[name] = (len(lib.Sequential([two, lib.layers.Dense(3)]).get_weights()),
                        len(lib.Sequential([unbuilt, lib.layers.Dense(3)]).get_weights()))
    assert counts["fk"] == counts["tf"] == (0, 0)


def _transfer_model(lib):
    inputs = lib.Input((8, 8, 3))
    x = lib.layers.Conv2D(4, 3, name="conv")(inputs)
    base = lib.Model(inputs, lib.layers.BatchNormalization(name="bn")(x), name="base")
    base.trainable = False
    return lib.Sequential([base, lib.layers.GlobalAveragePooling2D(name="gap"),
                           lib.layers.Dense(5, name="head")])


def test_transfer_learning_head_is_initialised_at_construction(tf, rng):
    kmodel, model = _transfer_model(tf.keras), _transfer_model(fk)
    assert len(model.weights) == len(kmodel.weights) == 8
    assert len(model.trainable_weights) == len(kmodel.trainable_weights) == 2
    model.set_weights(kmodel.get_weights())
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    _close(model(x), kmodel(x))


# ------------------------------------------------------------------ F6: build by hand
def _hand_built(lib):
    class A(lib.layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

        def call(self, x):
            return lib.ops.matmul(x, self.kernel)

    a = A()
    a.build((None, 4))
    built = a.built
    a.set_weights([np.full((4, 2), 2.0, "float32")])
    return built, a, _np(a(np.ones((1, 4), "float32")))


def test_build_called_by_hand_marks_the_layer_built(tf):
    kbuilt, ka, kout = _hand_built(tf.keras)
    built, a, out = _hand_built(fk)
    assert built == kbuilt is True
    assert len(a.weights) == len(ka.weights) == 1
    _close(out, kout)
    assert a.get_build_config() == ka.get_build_config() == {"input_shape": (None, 4)}


def test_built_in_layer_built_by_hand_keeps_its_weights(tf, rng):
    kd, d = tf.keras.layers.Dense(3), fk.layers.Dense(3)
    kd.build((None, 5))
    d.build((None, 5))
    assert d.built and len(d.weights) == len(kd.weights) == 2
    assert d.get_build_config() == kd.get_build_config()
    d.set_weights(kd.get_weights())
    kernel = d.kernel
    x = rng.normal(size=(2, 5)).astype("float32")
    _close(d(x), kd(x))
    assert d.kernel is kernel and len(d.weights) == 2
    assert fk.layers.Dense(2).get_build_config() is tf.keras.layers.Dense(2).get_build_config()


def _two_argument_build_layer(lib, package):
    @lib.utils.register_keras_serializable(package=package)
    class LayerWithCustomBuild(lib.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, inputs):
            return lib.ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return dict(units=self.units, **super().get_config())

        def build(self, input_shape, layer_init):
            super().build(input_shape)
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer=layer_init, trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer=layer_init,
                                     trainable=True)
            self.layer_init = layer_init

        def get_build_config(self):
            build_config = super().get_build_config()
            build_config.update({"layer_init": self.layer_init})
            return build_config

        def build_from_config(self, config):
            shapes = config.get("shapes_dict", config)
            self.build(shapes["input_shape"], config["layer_init"])

    return LayerWithCustomBuild


def test_build_by_keyword_records_a_shapes_dict(tf):
    results = {}
    for name, lib in (("tf", tf.keras), ("fk", fk)):
        cls = _two_argument_build_layer(lib, f"corpus_f6_dict_{name}")
        layer = cls(units=3)
        layer.build(input_shape=(8,), layer_init="ones")
        results[name] = (layer.built, len(layer.weights), layer.get_build_config())
    assert results["fk"] == results["tf"]
    assert results["fk"][2] == {"shapes_dict": {"input_shape": (8,), "layer_init": "ones"},
                                "layer_init": "ones"}


def _custom_build_round_trip(lib, package, path, x):
    cls = _two_argument_build_layer(lib, package)
    custom = cls(units=4)
    custom.build(input_shape=(8,), layer_init="random_normal")
    model = lib.Sequential([custom, lib.layers.Dense(1, activation="sigmoid")])
    model(x)
    model.save(path)
    restored = lib.models.load_model(path)
    return model, restored


def test_layer_with_extra_build_argument_saves_and_reloads(tf, tmp_path, rng):
    """The customizing-saving guide: build(input_shape, layer_init) called by keyword,
    get_build_config / build_from_config carrying layer_init through the file."""
    x = rng.normal(size=(16, 8)).astype("float32")
    kmodel, krestored = _custom_build_round_trip(tf.keras, "corpus_f6_tf",
                                                 str(tmp_path / "k.keras"), x)
    model, restored = _custom_build_round_trip(fk, "corpus_f6_fk",
                                               str(tmp_path / "f.keras"), x)
    assert restored.layers[0].layer_init == krestored.layers[0].layer_init == "random_normal"
    assert restored.built == krestored.built is True
    assert len(restored.weights) == len(krestored.weights) == 4
    _close(restored(x), model(x))
    with zipfile.ZipFile(tmp_path / "f.keras") as z:
        ours = json.loads(z.read("config.json"))["config"]["layers"]
    with zipfile.ZipFile(tmp_path / "k.keras") as z:
        theirs = json.loads(z.read("config.json"))["config"]["layers"]
    custom = [l["build_config"] for l in ours if l["class_name"] == "LayerWithCustomBuild"]
    kcustom = [l["build_config"] for l in theirs if l["class_name"] == "LayerWithCustomBuild"]
    assert custom == kcustom == [{"shapes_dict": {"input_shape": [8],
                                                  "layer_init": "random_normal"},
                                  "layer_init": "random_normal"}]


# ------------------------------------------------------------------ F9: config keys
def test_dense_and_embedding_configs_carry_quantization_config(tf):
    for cls, args in (("Dense", (3,)), ("Embedding", (10, 3))):
        config = getattr(fk.layers, cls)(*args).get_config()
        kconfig = getattr(tf.keras.layers, cls)(*args).get_config()
        assert "quantization_config" in kconfig
        assert config["quantization_config"] is kconfig["quantization_config"] is None
        revived = getattr(fk.layers, cls).from_config(kconfig)
        assert sorted(revived.get_config()) == sorted(kconfig)


def test_a_quantization_config_is_refused_naming_it():
    config = fk.layers.Dense(3).get_config()
    config["quantization_config"] = {"class_name": "Int8QuantizationConfig", "config": {}}
    with pytest.raises(ValueError, match="quantization_config"):
        fk.layers.Dense.from_config(config)
    with pytest.raises(ValueError, match="quantization_config"):
        fk.layers.Embedding(4, 2, quantization_config="int8")


# arguments for classes that need some (everything else is built with no argument)
_ARGS = {"Dense": (3,), "Activation": ("relu",), "Dropout": (0.5,), "Reshape": ((2, 2),),
         "Permute": ((2, 1),), "RepeatVector": (2,), "Lambda": (lambda x: x,),
         "Embedding": (10, 3), "Dot": (1,), "GRU": (3,), "LSTM": (3,), "SimpleRNN": (3,),
         "DepthwiseConv1D": (3,), "DepthwiseConv2D": (3,), "GRUCell": (3,),
         "LSTMCell": (3,), "SimpleRNNCell": (3,),
         # wrappers: a cell or layer of the library under test (its layers -> arguments)
         "RNN": lambda L: (L.LSTMCell(3),), "StackedRNNCells": lambda L: ([L.GRUCell(2)],),
         "Bidirectional": lambda L: (L.LSTM(3),), "TimeDistributed": lambda L: (L.Dense(2),),
         # attention and regularization layers
         "MultiHeadAttention": (2, 3), "GaussianNoise": (0.1,), "GaussianDropout": (0.1,),
         "AlphaDropout": (0.1,), "SpatialDropout1D": (0.1,), "SpatialDropout2D": (0.1,),
         "SpatialDropout3D": (0.1,), "Wrapper": lambda L: (L.Dense(2),),
         # preprocessing layers
         "Rescaling": (0.5,), "Hashing": (4,), "CategoryEncoding": (3,),
         "Discretization": ([0.0, 1.0],),
         # image preprocessing layers
         "Resizing": (4, 4), "CenterCrop": (4, 4), "RandomCrop": (4, 4),
         "RandomRotation": (0.1,), "RandomZoom": (0.1,), "RandomTranslation": (0.1, 0.1),
         "RandomContrast": (0.1,), "RandomBrightness": (0.1,)}
_POOLS = ("AveragePooling", "AvgPool")
_CONVS = ("Conv", "Convolution", "SeparableConv")
_NOT_LAYER_CLASSES = {"InputLayer"}  # needs a shape; its config is checked by the saving tests

_BASE_KEYS = ["dtype", "name", "trainable"]
# The config keys fastkeras writes and tf.keras does not (+), and those it lacks (-).
_KEY_DIFFERENCES = {
    # Keras' base Layer has no get_config of its own: its auto-config lists the
    # constructor's arguments. A subclass calling super().get_config() gets name /
    # trainable / dtype in both.
    "Layer": ({}, {"activity_regularizer", "autocast"}),
    # tf.keras.layers.AlphaDropout is Keras' deprecated legacy class; fastkeras follows
    # keras.layers.AlphaDropout (3.15), whose config has noise_shape
    "AlphaDropout": ({"noise_shape"}, {}),
    # Keras' spatial dropouts write no `trainable`; fastkeras keeps the base keys
    "SpatialDropout1D": ({"trainable"}, {}), "SpatialDropout2D": ({"trainable"}, {}),
    "SpatialDropout3D": ({"trainable"}, {}),
}


def _layer_classes():
    out = []
    for name in sorted(fk.layers.__all__):
        cls = getattr(fk.layers, name)
        if isinstance(cls, type) and issubclass(cls, fk.layers.Layer) and \
                name not in _NOT_LAYER_CLASSES:
            out.append(name)
    return out


def _args(name):
    if name in _ARGS:
        return _ARGS[name]
    if name.startswith(_POOLS):
        return (2,)
    if name.startswith(_CONVS):
        return (2, 3)
    return ()


@pytest.mark.parametrize("name", _layer_classes())
def test_config_keys_match_tf_keras(tf, name):
    def made(layers):
        args = _args(name)
        return getattr(layers, name)(*(args(layers) if callable(args) else args))

    ours = set(made(fk.layers).get_config())
    theirs = set(made(tf.keras.layers).get_config())
    extra, missing = _KEY_DIFFERENCES.get(name, ({}, {}))
    assert (ours - theirs, theirs - ours) == (set(extra), set(missing))
    assert set(_BASE_KEYS) & theirs <= ours  # Discretization writes no `trainable` in Keras


def test_every_layer_class_is_compared():
    assert len(_layer_classes()) > 70
    assert set(_KEY_DIFFERENCES) <= set(_layer_classes())


# ------------------------------------------------------------------ dict-structured graphs
def _dict_model(lib):
    a = lib.Input((3,), name="a")
    b = lib.Input((2,), name="b")
    x = lib.layers.Dense(2, name="d1")(a)
    y = lib.layers.Dense(1, name="d2")(lib.layers.Concatenate(name="cat")([a, b]))
    return lib.Model({"a": a, "b": b}, {"zb": x, "aa": y}, name="dict_model")


def _dict_data(rng):
    return {"a": rng.normal(size=(4, 3)).astype("float32"),
            "b": rng.normal(size=(4, 2)).astype("float32")}


def test_dict_inputs_and_outputs_are_written_as_keras_writes_them(tf):
    config, kconfig = _dict_model(fk).get_config(), _dict_model(tf.keras).get_config()
    assert config["input_layers"] == kconfig["input_layers"]
    assert config["output_layers"] == kconfig["output_layers"]
    assert list(config["output_layers"]) == ["zb", "aa"]  # the dict's own order


def _reloads(model, path):
    yield "from_config", fk.Model.from_config(model.get_config())
    yield "model_from_json", fk.models.model_from_json(model.to_json())
    model.save(path)
    yield "load_model", fk.models.load_model(path)


def test_dict_model_round_trips_as_a_dict(tf, tmp_path, rng):
    kmodel, model = _dict_model(tf.keras), _dict_model(fk)
    model.set_weights(kmodel.get_weights())
    x = _dict_data(rng)
    expected = kmodel.predict(x, verbose=0)
    for how, restored in _reloads(model, str(tmp_path / "dict.keras")):
        assert isinstance(restored.output, dict) and list(restored.output) == ["zb", "aa"], how
        assert isinstance(restored.input, dict) and list(restored.input) == ["a", "b"], how
        restored.set_weights(model.get_weights())
        got = restored.predict(x, verbose=0)
        assert list(got) == list(expected), how
        for k in expected:
            _close(got[k], expected[k])


def test_dict_model_files_move_both_ways(tf, tmp_path, rng):
    kmodel, model = _dict_model(tf.keras), _dict_model(fk)
    model.set_weights(kmodel.get_weights())
    x = _dict_data(rng)
    expected = kmodel.predict(x, verbose=0)
    model.save(tmp_path / "ours.keras")
    kmodel.save(tmp_path / "theirs.keras")
    by_keras = tf.keras.models.load_model(tmp_path / "ours.keras").predict(x, verbose=0)
    by_us = fk.models.load_model(tmp_path / "theirs.keras").predict(x, verbose=0)
    for got in (by_keras, by_us):
        assert list(got) == ["zb", "aa"]
        for k in expected:
            _close(got[k], expected[k])


@pytest.mark.parametrize("structure", ["tensor", "list", "list_of_one", "tuple", "nested"])
def test_input_and_output_structures_are_written_as_keras_writes_them(tf, structure):
    configs = []
    for lib in (fk, tf.keras):
        a, b = lib.Input((3,), name="p"), lib.Input((2,), name="q")
        x, y = lib.layers.Dense(2, name="e1")(a), lib.layers.Dense(1, name="e2")(b)
        inputs, outputs = {"tensor": (a, x), "list": ([a, b], [x, y]),
                           "list_of_one": ([a], [x]), "tuple": ((a, b), (x, y)),
                           "nested": ([a, b], [[x], {"k": y}])}[structure]
        config = lib.Model(inputs, outputs).get_config()
        configs.append(json.loads(json.dumps([config["input_layers"],
                                              config["output_layers"]])))
    assert configs[0] == configs[1]


# ------------------------------------------------------------------ explicit symbolic masks
def _masked_model(lib, masking):
    L = lib.layers
    if masking:
        inputs = lib.Input((5, 3), name="seq")
        x = L.Masking(0.5, name="masking")(inputs)
    else:
        inputs = lib.Input((5,), dtype="int32", name="seq")
        x = L.Embedding(10, 3, mask_zero=True, name="embedding")(inputs)
    pooled = L.GlobalAveragePooling1D(name="pool")(L.Conv1D(2, 1, name="conv")(x),
                                                   mask=x._keras_mask)  # another tensor's
    last = L.LSTM(2, name="lstm")(x, mask=x._keras_mask)  # its own input's mask
    return lib.Model(inputs, [pooled, last])


def _masked_data(masking, rng):
    if masking:
        x = rng.random((3, 5, 3)).astype("float32")
        x[0, 3:] = 0.5
        x[1, 1:] = 0.5
        return x
    return np.array([[1, 2, 0, 0, 0], [3, 0, 0, 4, 0], [5, 6, 7, 8, 9]])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("masking", [False, True], ids=["embedding", "masking"])
def test_explicit_symbolic_mask_saves_and_reloads(tf, tmp_path, rng, masking):
    kmodel, model = _masked_model(tf.keras, masking), _masked_model(fk, masking)
    model.set_weights(kmodel.get_weights())
    x = _masked_data(masking, rng)
    expected = kmodel.predict(x, verbose=0)
    for g, e in zip(model.predict(x, verbose=0), expected):
        _close(g, e)
    for how, restored in _reloads(model, str(tmp_path / "mask.keras")):
        restored.set_weights(model.get_weights())
        for g, e in zip(restored.predict(x, verbose=0), expected):
            _close(g, e)
    by_keras = tf.keras.models.load_model(tmp_path / "mask.keras").predict(x, verbose=0)
    for g, e in zip(by_keras, expected):
        _close(g, e)
    # the mask of another tensor is recorded as Keras records it: keras.ops nodes
    ops = [(l["class_name"], l["module"]) for l in model.get_config()["layers"]
           if l["module"] == "keras.src.ops.numpy"]
    kops = [(l["class_name"], l["module"]) for l in kmodel.get_config()["layers"]
            if l["module"] == "keras.src.ops.numpy"]
    assert sorted(ops) == sorted(kops)


def test_a_mask_no_config_can_record_is_refused_naming_mask():
    class OwnMask(fk.layers.Layer):
        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return fk.ops.any(x > 0, axis=-1)

    inputs = fk.Input((5, 3))
    x = OwnMask(name="own_mask")(inputs)
    pooled = fk.layers.GlobalAveragePooling1D()(fk.layers.Conv1D(2, 1)(x),
                                                mask=x._keras_mask)
    with pytest.raises(ValueError, match="`mask=`.*'own_mask'"):
        fk.Model(inputs, pooled).get_config()
    # its own input's mask is what the call gets anyway: the config leaves it out
    last = fk.layers.LSTM(2)(x, mask=x._keras_mask)
    model = fk.Model(inputs, last)
    restored = fk.Model.from_config(model.get_config(), custom_objects={"OwnMask": OwnMask})
    restored.set_weights(model.get_weights())
    data = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    _close(restored.predict(data, verbose=0), model.predict(data, verbose=0))
