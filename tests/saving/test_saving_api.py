"""Keras 3's saving API on fastkeras: registration and custom object scopes,
serialize / deserialize_keras_object (Keras 3's layout, compared with tf.keras' own),
clone_model, to_json / model_from_json, compiled .keras files (loss, metrics, optimizer
state) and custom objects, and what a hostile config cannot make fastkeras do."""
import json
import sys
import threading

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import saving

ser, deser = saving.serialize_keras_object, saving.deserialize_keras_object


@pytest.fixture(autouse=True)
def _registry():
    """Each test's registrations are removed afterwards (fastkeras' and Keras')."""
    ours = dict(saving.get_custom_objects())
    from fastkeras.saving import object_registration as reg

    names = dict(reg._GLOBAL_CUSTOM_NAMES)
    theirs = None
    if "keras" in sys.modules:
        from keras.src.saving import object_registration as kreg

        theirs = dict(kreg.GLOBAL_CUSTOM_OBJECTS), dict(kreg.GLOBAL_CUSTOM_NAMES)
    yield
    saving.get_custom_objects().clear()
    saving.get_custom_objects().update(ours)
    reg._GLOBAL_CUSTOM_NAMES.clear()
    reg._GLOBAL_CUSTOM_NAMES.update(names)
    if theirs is not None:
        kreg.GLOBAL_CUSTOM_OBJECTS.clear()
        kreg.GLOBAL_CUSTOM_OBJECTS.update(theirs[0])
        kreg.GLOBAL_CUSTOM_NAMES.clear()
        kreg.GLOBAL_CUSTOM_NAMES.update(theirs[1])


def _data(seed=0, n=32, d=4, k=1):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)).astype("float32"),
            rng.normal(size=(n, k)).astype("float32"))


# ------------------------------------------------------------------------ registration
def test_registration_names_as_keras(tf):
    import keras

    for lib in (fk, keras):
        @lib.saving.register_keras_serializable(package="my_pkg")
        def scaled(x):
            return x * 2.0

        @lib.saving.register_keras_serializable()
        class Thing:
            def __init__(self, value=1):
                self.value = value

            def get_config(self):
                return {"value": self.value}

            @classmethod
            def from_config(cls, config):
                return cls(**config)

        @lib.saving.register_keras_serializable("TestPackage", "CustomName")
        class Other(Thing):
            pass

        assert lib.saving.get_registered_name(scaled) == "my_pkg>scaled"
        assert lib.saving.get_registered_name(Thing) == "Custom>Thing"
        assert lib.saving.get_registered_name(Other) == "TestPackage>CustomName"
        assert lib.saving.get_registered_object("TestPackage>CustomName") is Other
        assert lib.saving.get_custom_objects()["my_pkg>scaled"] is scaled
        assert lib.saving.get_registered_object("nothing>here") is None

        def plain(x):
            return x

        assert lib.saving.get_registered_name(plain) == "plain"
        # Keras' own test: registered instances round-trip without custom_objects
        cfg = lib.saving.serialize_keras_object(Other(5))
        assert cfg["class_name"] == "Other" and cfg["registered_name"] == "TestPackage>CustomName"
        back = lib.saving.deserialize_keras_object(cfg)
        assert isinstance(back, Other) and back.value == 5 and back is not cfg
        fn = lib.saving.deserialize_keras_object(lib.saving.serialize_keras_object(scaled))
        assert fn is scaled
    # get_registered_object looks in custom_objects and module_objects too
    assert fk.saving.get_registered_object("a", custom_objects={"a": 1}) == 1
    assert fk.saving.get_registered_object("b", module_objects={"b": 2}) == 2


def test_registration_refuses_bad_input():
    with pytest.raises(ValueError, match="Cannot register a class that does not have a "
                                         "get_config"):
        @saving.register_keras_serializable("TestPackage", "TestClass")
        class NoConfig:
            pass
    with pytest.raises(TypeError, match="`package` must be a string"):
        saving.register_keras_serializable(package=3)
    with pytest.raises(TypeError, match="`name` must be a string"):
        saving.register_keras_serializable(name=["x"])
    with pytest.raises(TypeError, match="`custom_objects` must be dicts"):
        saving.custom_object_scope(["not", "a", "dict"])
    with pytest.raises(TypeError, match="`custom_objects` must be a dict"):
        deser({"class_name": "Dense", "config": {}}, custom_objects=[1])


def test_custom_object_scope_is_per_thread_and_nests_as_keras():
    def custom_fn(x):
        return x

    class CustomClass:
        pass

    def inside():
        # fastkeras' regularizers.get consults the scope as Keras' does
        assert isinstance(fk.regularizers.get("CustomClass"), CustomClass)
        assert saving.get_registered_object("custom_fn") is custom_fn

    seen = {}
    with saving.custom_object_scope({"CustomClass": CustomClass, "custom_fn": custom_fn}):
        inside()
        t = threading.Thread(target=lambda: seen.update(
            obj=saving.get_registered_object("custom_fn")))
        t.start()
        t.join()
        with fk.utils.custom_object_scope({"other": 1}):  # Keras 3: the inner one replaces
            assert saving.get_registered_object("custom_fn") is None
            assert saving.get_registered_object("other") == 1
        inside()
    assert seen["obj"] is None  # another thread does not see this thread's scope
    assert saving.get_registered_object("custom_fn") is None
    assert fk.utils.CustomObjectScope is saving.CustomObjectScope
    assert fk.utils.register_keras_serializable is saving.register_keras_serializable
    # several dicts (Keras 2's form) merge
    with saving.CustomObjectScope({"a": 1}, {"b": 2}):
        assert saving.get_registered_object("a") == 1
        assert saving.get_registered_object("b") == 2


# ------------------------------------------------------------------ serialize layouts
def _schedules(lib):
    S = lib.optimizers.schedules
    return [S.ExponentialDecay(0.05, 10, 0.96, staircase=True, name="my_ed"),
            S.PiecewiseConstantDecay([10, 20], [1, 2, 3], name="my_pcd"),
            S.PolynomialDecay(0.1, 100, 0.005, power=1.0, cycle=False, name="my_ld"),
            S.InverseTimeDecay(0.05, 10, 0.96, staircase=True, name="my_itd"),
            S.CosineDecay(0.05, 10, alpha=0.1, warmup_target=0.2, warmup_steps=2,
                          name="my_cd"),
            S.CosineDecayRestarts(0.05, 10, alpha=0.1, t_mul=3.0, m_mul=4.0, name="my_cdr"),
            S.ExponentialDecay(0.1, 5, 0.5)]


def test_serialized_layouts_equal_tf_keras(tf):
    import keras as K  # tf.keras is this Keras 3; its losses functions live here

    keras = K
    pairs = [
        (fk.optimizers.Adam(0.01, amsgrad=True), K.optimizers.Adam(0.01, amsgrad=True)),
        (fk.optimizers.SGD(0.5, momentum=0.06, nesterov=True, weight_decay=0.004),
         K.optimizers.SGD(0.5, momentum=0.06, nesterov=True, weight_decay=0.004)),
        (fk.optimizers.RMSprop(0.5, rho=0.8, momentum=0.05, epsilon=1e-6, centered=True),
         K.optimizers.RMSprop(0.5, rho=0.8, momentum=0.05, epsilon=1e-6, centered=True)),
        *zip(_schedules(fk), _schedules(K)),
        (fk.initializers.Ones(), K.initializers.Ones()),
        (fk.regularizers.L2(0.01), K.regularizers.L2(0.01)),
        (fk.activations.relu, K.activations.relu),
        (fk.losses.mean_squared_error, K.losses.mean_squared_error),
        (np.array([0, 1]), np.array([0, 1])),
        (np.array([0.5, 1.0], "float32"), np.array([0.5, 1.0], "float32")),
        (np.float32(1.5), np.float32(1.5)),
        (b"hello", b"hello"),
        (slice(None, 20, 1), slice(None, 20, 1)),
        (["hello", 0, "world", 1.0, True], ["hello", 0, "world", 1.0, True]),
        ({"1": "hello", "2": [True, False]}, {"1": "hello", "2": [True, False]}),
    ]
    for ours, theirs in pairs:
        a, b = ser(ours), keras.saving.serialize_keras_object(theirs)
        if isinstance(b, dict) and isinstance(b.get("config"), dict) and \
                "name" in b["config"] and b.get("module") == "keras.optimizers":
            a["config"].pop("name"), b["config"].pop("name")  # auto names count instances
        assert json.loads(json.dumps(a)) == json.loads(json.dumps(b)), (a, b)
    # objects whose configs differ in detail: the entry's names
    for ours, theirs in [(fk.layers.Dense(2), K.layers.Dense(2)),
                         (fk.losses.MeanSquaredError(), K.losses.MeanSquaredError()),
                         (fk.metrics.AUC(), K.metrics.AUC())]:
        a, b = ser(ours), keras.saving.serialize_keras_object(theirs)
        assert {k: a[k] for k in ("module", "class_name", "registered_name")} == \
            {k: b[k] for k in ("module", "class_name", "registered_name")}

    def plain_fn(x):
        return x

    fk.saving.register_keras_serializable("pkg")(plain_fn)
    keras.saving.register_keras_serializable("pkg")(plain_fn)
    assert ser(plain_fn) == keras.saving.serialize_keras_object(plain_fn) == {
        "module": "builtins", "class_name": "function", "config": "pkg>plain_fn",
        "registered_name": "function"}


def test_tf_keras_entries_deserialize_in_fastkeras(tf):
    import keras

    K = tf.keras
    for theirs, cls in [(K.optimizers.Adam(0.02, beta_1=0.8), fk.optimizers.Adam),
                        (K.optimizers.Adamax(0.5, beta_1=0.8, beta_2=0.95),
                         fk.optimizers.Adamax),
                        (K.losses.MeanSquaredError(), fk.losses.MeanSquaredError),
                        (K.losses.BinaryCrossentropy(from_logits=True),
                         fk.losses.BinaryCrossentropy),
                        (K.metrics.RootMeanSquaredError(), fk.metrics.RootMeanSquaredError),
                        (K.initializers.GlorotUniform(seed=3), fk.initializers.GlorotUniform),
                        (K.regularizers.L1L2(l1=0.1, l2=0.2), fk.regularizers.L1L2)]:
        cfg = json.loads(json.dumps(keras.saving.serialize_keras_object(theirs)))
        obj = deser(cfg)
        assert type(obj) is cls
    for theirs in _schedules(K):
        cfg = json.loads(json.dumps(keras.saving.serialize_keras_object(theirs)))
        obj = deser(cfg)
        assert obj.get_config() == theirs.get_config()
        for step in (0, 3, 17):
            np.testing.assert_allclose(float(obj(step)), float(theirs(step)), rtol=1e-6)
    relu = keras.saving.serialize_keras_object(K.activations.relu)
    assert deser(relu) is fk.activations.relu
    assert deser({"class_name": "function", "module": "builtins", "config": "kl_divergence",
                  "registered_name": "kl_divergence"}) is fk.metrics.kl_divergence


def test_round_trips_of_simple_objects():
    for obj in ["hello", b"hello", np.array([0, 1]), np.array([0.0, 1.0]), np.float32(1.0),
                ["hello", 0, "world", 1.0, True], {"1": "hello", "2": 0, "3": True},
                {"1": "hello", "2": [True, False]}, slice(None, 20, 1), Ellipsis]:
        first = ser(obj)
        again = ser(deser(json.loads(json.dumps(first))))
        assert json.dumps(first) == json.dumps(again)
    t = deser(ser(fk.constant([1.5, 2.5])))
    assert isinstance(t, fk.Tensor) and t.numpy().tolist() == [1.5, 2.5]
    assert deser(ser((1, 2))) == [1, 2]  # JSON has no tuples: Keras returns a list too


def test_custom_function_and_layer_round_trips():
    def custom_fn(x):
        return x ** 2

    class CustomLayer(fk.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    obj = {"activation": custom_fn}
    first = ser(obj)
    assert first["activation"] == {"module": "builtins", "class_name": "function",
                                   "config": "custom_fn", "registered_name": "function"}
    back = deser(json.loads(json.dumps(first)), custom_objects={"custom_fn": custom_fn})
    assert back["activation"] is custom_fn
    with pytest.raises(TypeError, match="Could not locate function 'custom_fn'"):
        deser(first)
    x = np.random.default_rng(0).normal(size=(2, 2)).astype("float32")
    dense = fk.layers.Dense(1, activation=custom_fn)
    y1 = dense(x)
    new = deser(json.loads(json.dumps(ser(dense))), custom_objects={"custom_fn": custom_fn})
    new(x)
    new.set_weights(dense.get_weights())
    np.testing.assert_allclose(new(x).numpy(), y1.numpy(), atol=1e-6)
    layer = CustomLayer(factor=2)
    entry = ser(layer)
    assert entry["registered_name"] == "CustomLayer"
    with pytest.raises(TypeError, match="CustomLayer"):
        deser(json.loads(json.dumps(entry)))
    again = deser(json.loads(json.dumps(entry)), custom_objects={"CustomLayer": CustomLayer})
    assert isinstance(again, CustomLayer) and again.factor == 2
    np.testing.assert_allclose(again(x).numpy(), layer(x).numpy())


def test_registered_objects_resolve_inside_layers():
    @saving.register_keras_serializable(package="acts")
    def halved_relu(x):
        return fk.ops.relu(x) * 0.5

    @saving.register_keras_serializable(package="inits")
    class Fives(fk.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 5.0, dtype or "float32")

        def get_config(self):
            return {}

    dense = fk.layers.Dense(2, activation=halved_relu, kernel_initializer=Fives())
    x = -np.ones((1, 3), "float32")
    dense(x)
    back = deser(json.loads(json.dumps(ser(dense))))
    assert back.activation is halved_relu
    back(x)
    np.testing.assert_array_equal(back.kernel.numpy(), np.full((3, 2), 5.0, "float32"))
    entry = ser(Fives())
    assert entry["registered_name"] == "inits>Fives"
    assert isinstance(fk.initializers.get(entry), Fives)


# ------------------------------------------------------------------------- hostile input
def test_configs_cannot_import_or_run_code():
    before = set(sys.modules)
    hostile = [
        {"module": "antigravity", "class_name": "function", "config": "fly",
         "registered_name": "function"},
        {"module": "this", "class_name": "Thing", "config": {}, "registered_name": "Thing"},
        {"module": "os", "class_name": "function", "config": "system",
         "registered_name": "function"},
        {"module": "builtins", "class_name": "function", "config": "eval",
         "registered_name": "function"},
        {"module": "keras.saving", "class_name": "function", "config": "load_model",
         "registered_name": "function"},
        {"module": "keras.models", "class_name": "load_model", "config": {},
         "registered_name": None},
        {"module": "keras.layers", "class_name": "np", "config": {}, "registered_name": None},
        {"module": "keras.losses", "class_name": "function", "config": "deserialize",
         "registered_name": "function"},
        {"module": "keras.src.saving.saving_lib", "class_name": "function",
         "config": "load_model", "registered_name": "function"},
        {"module": None, "class_name": "Secret", "config": {}, "registered_name": "Secret"},
    ]
    for cfg in hostile:
        with pytest.raises(TypeError, match="Could not locate|Cannot deserialize"):
            deser(cfg)
    assert not {"antigravity", "this"} & (set(sys.modules) - before)
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="lambda"):
            deser({"class_name": "__lambda__", "config": {"value": ["code", None, None]}},
                  safe_mode=safe_mode)
        with pytest.raises(ValueError, match="lambda"):
            deser({"activation": {"class_name": "__lambda__", "config": {}}},
                  safe_mode=safe_mode)
    with saving.SafeModeScope(False):  # the scope decides, as in Keras; still refused
        with pytest.raises(ValueError, match="even with safe_mode=False"):
            deser({"class_name": "__lambda__", "config": {}})
    with pytest.raises(ValueError, match="dtype object"):
        deser({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}})
    with pytest.raises(TypeError, match="Expected 'config' to be a dict"):
        deser({"class_name": "Dense", "module": "keras.layers", "config": [1, 2, 3]})
    with pytest.raises(TypeError, match="Expected 'config' to be a non-null str"):
        deser({"class_name": "function", "config": ["not", "a", "string"]})
    with pytest.raises(TypeError, match="Expected 'config' to be a list or a tuple"):
        deser({"class_name": "__typespec__", "config": "not_a_list_nor_a_tuple"})
    # a built-in claiming a registered name is refused (Keras' rule), not read as built-in
    for bad in ("builtins.eval", "subprocess.Popen", "my_pkg>MyDense"):
        with pytest.raises(ValueError, match="resolved to a Keras built-in"):
            deser({"class_name": "Dense", "module": "keras.layers", "registered_name": bad,
                   "config": {"units": 1}})
    with pytest.raises(ValueError, match="resolved to a Keras built-in"):
        deser({"class_name": "function", "module": "builtins",
               "registered_name": "some_other_name", "config": "relu"})
    for registered in (None, "", "Dense"):
        assert isinstance(deser({"class_name": "Dense", "module": "keras.layers",
                                 "registered_name": registered, "config": {"units": 1}}),
                          fk.layers.Dense)


# ------------------------------------------------------------------------- clone_model
def _functional(lib, seed=0):
    inp = lib.Input((4,), name="x")
    shared = lib.layers.Dense(3, activation="tanh", name="shared")
    a = shared(inp)
    b = shared(lib.layers.Dense(4, name="pre")(inp))
    out = lib.layers.Dense(1, name="head")(lib.layers.concatenate([a, b]))
    return lib.Model(inp, out, name="two_paths")


def test_clone_model_new_weights_same_config(tf):
    K = tf.keras
    x, _ = _data()
    for lib in (fk, K):
        seq = lib.Sequential([lib.Input((4,)), lib.layers.Dense(5, activation="relu"),
                              lib.layers.Dense(2)], name="seq")
        for model in (seq, _functional(lib)):
            clone = lib.models.clone_model(model)
            assert type(clone) is type(model)
            assert [l.name for l in clone.layers] == [l.name for l in model.layers]
            assert all(a is not b for a, b in zip(clone.weights, model.weights))
            assert len(clone.weights) == len(model.weights)  # the shared layer: once
            assert not all(np.array_equal(np.asarray(a), np.asarray(b))
                           for a, b in zip(clone.weights, model.weights))
            clone.set_weights(model.get_weights())
            np.testing.assert_allclose(np.asarray(clone.predict(x, verbose=0)),
                                       np.asarray(model.predict(x, verbose=0)), rtol=1e-6)
            if lib is fk:
                assert json.dumps(clone.get_config()) == json.dumps(model.get_config())
    # new inputs, a clone_function, compiled models
    model = _functional(fk)
    inp = fk.Input((4,), name="fresh")
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        config = layer.get_config()
        if layer.name == "head":
            config["units"] = 2
        return type(layer).from_config(config)

    clone = fk.models.clone_model(model, input_tensors=inp, clone_function=clone_function)
    assert clone.inputs[0] is inp and clone.output_shape == (None, 2)
    assert sorted(seen) == sorted(l.name for l in model.layers[1:])  # once each, not Input
    seq = fk.Sequential([fk.Input((4,)), fk.layers.Dense(2)])
    seq.compile(optimizer=fk.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    seq.fit(x, np.zeros((32, 2), "float32"), epochs=1, verbose=0)
    c = fk.models.clone_model(seq)
    assert c.compiled and c.optimizer is not seq.optimizer
    assert int(c.optimizer.iterations.numpy()) == 0
    assert float(c.optimizer.learning_rate) == pytest.approx(0.01)
    c.fit(x, np.zeros((32, 2), "float32"), epochs=1, verbose=0)
    c2 = fk.models.clone_model(seq, input_tensors=[fk.Input((4,))])
    assert c2.input_shape == (None, 4)


def test_clone_model_bad_input():
    seq = fk.Sequential([fk.Input((4,)), fk.layers.Dense(2)])
    with pytest.raises(TypeError, match="`model` must be a keras Model"):
        fk.models.clone_model(fk.layers.Dense(2))
    with pytest.raises(ValueError, match="`clone_function` argument to be a callable"):
        fk.models.clone_model(seq, clone_function=3)
    with pytest.raises(ValueError, match="`input_tensors` must be a KerasTensor"):
        fk.models.clone_model(seq, input_tensors=np.zeros((1, 4)))
    with pytest.raises(ValueError, match="`input_tensors` must be 1 KerasTensor"):
        fk.models.clone_model(_functional(fk), input_tensors=[fk.Input((4,)), fk.Input((4,))])
    with pytest.raises(TypeError, match="must return a layer"):
        fk.models.clone_model(seq, clone_function=lambda layer: 3)
    with pytest.raises(ValueError, match="unexpected keyword"):
        fk.models.clone_model(seq, cache={})


# ------------------------------------------------------------------ to_json / from_json
def test_to_json_round_trips_and_crosses_libraries(tf):
    import keras

    K = tf.keras
    x, _ = _data()
    for make in (lambda lib: lib.Sequential([lib.Input((4,)), lib.layers.Dense(
            3, activation="relu"), lib.layers.Dense(1)], name="s"), _functional):
        ours, theirs = make(fk), make(K)
        theirs.set_weights(ours.get_weights())
        want = np.asarray(ours.predict(x, verbose=0))
        for text, reader in [(ours.to_json(), fk.models.model_from_json),
                             (theirs.to_json(), fk.models.model_from_json),
                             (ours.to_json(), keras.models.model_from_json)]:
            model = reader(text)
            model.set_weights(ours.get_weights())
            np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), want,
                                       rtol=1e-6, atol=1e-7)
        assert json.loads(ours.to_json())["class_name"] == json.loads(theirs.to_json())[
            "class_name"]
        assert json.loads(ours.to_json(indent=2)) == json.loads(ours.to_json())
    # a compiled model's JSON holds its compile config: the model comes back compiled
    m = fk.Sequential([fk.Input((4,)), fk.layers.Dense(1)])
    m.compile(optimizer=fk.optimizers.SGD(0.1), loss=fk.losses.MeanSquaredError(),
              metrics=["mae"])
    back = fk.models.model_from_json(m.to_json())
    assert back.compiled and isinstance(back.optimizer, fk.optimizers.SGD)
    tk = keras.models.model_from_json(m.to_json())
    assert tk.compiled and isinstance(tk.loss, keras.losses.MeanSquaredError)


def test_model_from_json_refuses_lambdas_and_bad_input(tf):
    import keras

    def double(t):
        return t * 2.0

    inp = fk.Input((3,))
    lam = fk.Model(inp, fk.layers.Lambda(double, name="lam")(inp))
    text = lam.to_json()
    with pytest.raises(ValueError, match="safe_mode=True"):
        fk.models.model_from_json(text, custom_objects={"double": double})
    with saving.SafeModeScope(True):
        with pytest.raises(ValueError, match="safe_mode=True"):
            fk.models.model_from_json(text, custom_objects={"double": double},
                                      safe_mode=False)
    back = fk.models.model_from_json(text, custom_objects={"double": double}, safe_mode=False)
    np.testing.assert_allclose(back.predict(np.ones((1, 3), "float32"), verbose=0), 2.0)
    kin = keras.Input((3,))
    kl = keras.Model(kin, keras.layers.Lambda(lambda t: t * 2.0)(kin))
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="safe_mode|custom_objects"):
            fk.models.model_from_json(kl.to_json(), safe_mode=safe_mode)
    with pytest.raises(TypeError, match="`json_string` must be a str"):
        fk.models.model_from_json({"class_name": "Sequential"})
    with pytest.raises(ValueError, match="not a Keras model config"):
        fk.models.model_from_json("[1, 2]")
    with pytest.raises(ValueError, match="not valid JSON"):
        fk.models.model_from_json("{")
    with pytest.raises(ValueError, match="nests"):
        fk.models.model_from_json("[" * 5000 + "]" * 5000)
    with pytest.raises(ValueError, match="not a model"):
        fk.models.model_from_json(json.dumps(ser(fk.layers.Dense(2))))


# ------------------------------------------------------------------ compiled .keras files
def _trained(lib, loss, metrics, optimizer, x, y, epochs=2):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(6, activation="tanh"),
                            lib.layers.Dense(1)])
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                       for w in model.weights])
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


def test_compiled_keras_file_reloads_compiled_and_resumes(tmp_path):
    x, y = _data()

    def my_loss(y_true, y_pred):
        return fk.ops.mean(fk.ops.square(y_true - y_pred), axis=-1) * 2.0

    @saving.register_keras_serializable(package="metrics")
    def mean_error(y_true, y_pred):
        return fk.ops.mean(y_pred - y_true, axis=-1)

    cases = [
        (fk.losses.MeanSquaredError(), ["mae", fk.metrics.RootMeanSquaredError()],
         lambda: fk.optimizers.Adam(0.01), {}),
        ("huber", [fk.metrics.MeanAbsoluteError(), mean_error],
         lambda: fk.optimizers.SGD(0.05, momentum=0.9), {}),
        (my_loss, ["mse"], lambda: fk.optimizers.RMSprop(
            fk.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)), {"my_loss": my_loss}),
    ]
    for loss, metrics, opt, custom in cases:
        model = _trained(fk, loss, metrics, opt(), x, y)
        path = tmp_path / "m.keras"
        model.save(path)
        back = fk.models.load_model(path, custom_objects=custom)
        assert back.compiled
        assert int(back.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
        assert type(back.optimizer) is type(model.optimizer)
        for a, b in zip(back.optimizer.variables, model.optimizer.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        got = back.evaluate(x, y, verbose=0, return_dict=True)
        want = model.evaluate(x, y, verbose=0, return_dict=True)
        assert list(got) == list(want) and len(want) == 1 + len(metrics)
        np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-6)
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        back.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        for a, b in zip(back.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
        if custom:
            with pytest.raises(ValueError, match="Could not locate function 'my_loss'"):
                fk.models.load_model(path)
            with saving.custom_object_scope(custom):  # a scope does as custom_objects
                assert fk.models.load_model(path).compiled
        back = fk.models.load_model(path, custom_objects=custom, compile=False)
        assert not back.compiled


@pytest.mark.parametrize("direction", ["fk_to_tf", "tf_to_fk"])
def test_compiled_files_cross_libraries(tf, tmp_path, direction):
    import keras

    x, y = _data()
    writer, reader = (fk, keras.saving) if direction == "fk_to_tf" else (keras, fk.models)
    model = _trained(writer, writer.losses.MeanSquaredError(),
                     ["mae", writer.metrics.RootMeanSquaredError()],
                     writer.optimizers.Adam(0.01), x, y)
    path = str(tmp_path / "m.keras")
    model.save(path)
    back = reader.load_model(path)
    assert back.compiled
    assert int(np.asarray(back.optimizer.iterations)) == 8
    got = back.evaluate(x, y, verbose=0, return_dict=True)
    want = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == set(want) == {"loss", "mae", "root_mean_squared_error"}
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)


def test_custom_layers_and_activations_in_files(tmp_path):
    x, y = _data()

    @saving.register_keras_serializable(package="demo")
    class Scale(fk.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, t):
            return t * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    class Shift(Scale):  # not registered
        def call(self, t):
            return t + self.factor

    def soft(t):  # not registered either
        return fk.ops.tanh(t) * 0.5

    model = fk.Sequential([fk.Input((4,)), fk.layers.Dense(3, activation=soft), Scale(3.0),
                           Shift(1.0), fk.layers.Dense(1)])
    path = tmp_path / "c.keras"
    model.save(path)
    config = json.loads(model.to_json())
    assert config["config"]["layers"][2]["registered_name"] == "demo>Scale"
    for missing, custom in [("soft", {"Shift": Shift}), ("Shift", {"soft": soft})]:
        with pytest.raises(ValueError, match=missing):
            fk.models.load_model(path, custom_objects=custom)
    back = fk.models.load_model(path, custom_objects={"Shift": Shift, "soft": soft})
    assert [type(l) for l in back.layers] == [fk.layers.Dense, Scale, Shift, fk.layers.Dense]
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras2_h5_training_config_with_custom_loss_and_metric_objects(tf, tmp_path):
    """tf.keras 2 (tf-keras) names a custom loss by its function name and writes metrics
    as MeanMetricWrapper / class dicts, one list per output: the model loads compiled and
    evaluates as tf-keras does."""
    tf_keras = pytest.importorskip("tf_keras")
    x, y = _data()

    def my_loss(y_true, y_pred):
        return tf_keras.backend.mean(tf_keras.backend.square(y_true - y_pred), axis=-1)

    def fk_loss(y_true, y_pred):
        return fk.ops.mean(fk.ops.square(y_true - y_pred), axis=-1)

    model = _trained(tf_keras, my_loss, ["mae", tf_keras.metrics.RootMeanSquaredError()],
                     tf_keras.optimizers.Adam(0.01), x, y)
    path = str(tmp_path / "k2.h5")
    model.save(path)
    with pytest.raises(ValueError, match="my_loss"):
        fk.models.load_model(path)
    back = fk.models.load_model(path, custom_objects={"my_loss": fk_loss})
    assert back.compiled and int(back.optimizer.iterations.numpy()) == 8
    got = back.evaluate(x, y, verbose=0, return_dict=True)
    want = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == set(want) == {"loss", "mae", "root_mean_squared_error"}
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
