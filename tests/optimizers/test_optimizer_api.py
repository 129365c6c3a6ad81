"""Optimizer API: the documents' printed values, state save/restore, custom subclasses,
configs, legacy arguments and bad input."""
import warnings

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import optimizers


def _minimize_twice(opt, start):
    var = fk.Variable(start)
    loss = lambda: (var ** 2) / 2.0  # noqa: E731  (as the documents write it)
    out = []
    for _ in range(2):
        step_count = opt.minimize(loss, [var]).numpy()
        out.append(var.numpy())
    return out, step_count


def test_seed_adam():
    (a, b), steps = _minimize_twice(optimizers.Adam(learning_rate=0.1), 10.0)
    assert str(a) == "9.9" and str(b) == "9.800028" and steps == 2


def test_seed_rmsprop():
    (a, b), _ = _minimize_twice(optimizers.RMSprop(learning_rate=0.1), 10.0)
    assert str(a) == "9.683772" and str(b) == "9.45788"


def test_seed_sgd():
    (a, b), _ = _minimize_twice(optimizers.SGD(learning_rate=0.1), 1.0)
    assert str(a) == "0.9" and str(b) == "0.81"


def test_seed_sgd_momentum():
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    var = fk.Variable(1.0)
    val0 = var.value()
    loss = lambda: (var ** 2) / 2.0  # noqa: E731
    opt.minimize(loss, [var])
    val1 = var.value()
    assert repr(val1) == "fastkeras.Tensor(0.9, shape=(), dtype=float32)"
    assert str((val0 - val1).numpy()) == "0.100000024"
    opt.minimize(loss, [var])
    val2 = var.value()
    assert repr(val2) == "fastkeras.Tensor(0.71999997, shape=(), dtype=float32)"
    assert str((val1 - val2).numpy()) == "0.18"


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax", "Nadam", "Lion"])
def test_state_save_and_restore_resumes_identically(rng, name):
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    x = rng.normal(size=(6, 3)).astype(np.float32)
    grads = [rng.normal(size=(6, 3)).astype(np.float32) for _ in range(20)]
    v1 = fk.Variable(x)
    o1 = getattr(optimizers, name)(**kwargs)
    for g in grads[:10]:
        o1.apply_gradients([(g, v1)])
    saved_state, saved_value = o1.get_weights(), v1.numpy()
    for g in grads[10:]:
        o1.apply_gradients([(g, v1)])
    v2 = fk.Variable(saved_value)
    o2 = getattr(optimizers, name).from_config(o1.get_config())
    o2.build([v2])
    o2.set_weights(saved_state)
    for g in grads[10:]:
        o2.apply_gradients([(g, v2)])
    assert np.array_equal(v1.numpy(), v2.numpy())
    assert int(o2.iterations.numpy()) == 20


def test_custom_optimizer_subclass_generic_path(rng):
    class MySGD(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, momentum=0.5, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)
            self.momentum = momentum

        def build(self, var_list):
            super().build(var_list)
            self.m = [self.add_variable_from_reference(v, "m") for v in var_list]

        def update_step(self, gradient, variable, learning_rate):
            m = self.m[self._index[id(variable)]]
            m.assign(m * self.momentum - gradient * learning_rate)
            variable.assign_add(m)

    x = rng.normal(size=5).astype(np.float32)
    a, b = fk.Variable(x), fk.Variable(x)
    mine, builtin = MySGD(0.1, 0.5), optimizers.SGD(0.1, momentum=0.5)
    for _ in range(10):
        g = rng.normal(size=5).astype(np.float32)
        mine.apply_gradients([(g, a)])
        builtin.apply_gradients([(g, b)])
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert int(mine.iterations.numpy()) == 10


def test_many_tensors_one_call_and_thread_count_invariance(rng):
    shapes = [(rng.integers(1, 2000),) for _ in range(200)]
    inits = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(3)]
    results = []
    before = fk.config.get_num_threads()
    try:
        for n in (1, 2, 3):
            fk.config.set_num_threads(n)
            vs = [fk.Variable(x) for x in inits]
            opt = optimizers.AdamW(learning_rate=0.01, clipnorm=1.0, use_ema=True)
            for gs in grads:
                opt.apply_gradients(zip(gs, vs))
            results.append([v.numpy() for v in vs])
    finally:
        fk.config.set_num_threads(before)
    for r in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(r, results[0]))


def test_string_lookup_and_config_round_trip():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    opt = optimizers.Adam(learning_rate=optimizers.schedules.CosineDecay(0.1, 100), beta_1=0.8,
                          clipnorm=2.0, amsgrad=True)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(clone, optimizers.Adam)
    assert clone.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'adamz'"):
        optimizers.get("adamz")


def test_learning_rate_is_settable_and_legacy_spellings_warn():
    opt = optimizers.SGD(learning_rate=0.1)
    assert opt.learning_rate == np.float32(0.1)
    opt.learning_rate = 0.05
    assert opt.learning_rate == np.float32(0.05)
    with pytest.warns(DeprecationWarning, match="`lr` is deprecated"):
        old = optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True)
    assert old.learning_rate == np.float32(0.01)
    with pytest.warns(DeprecationWarning) as record:
        decayed = optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    messages = " ".join(str(w.message) for w in record)
    assert "`lr` is deprecated" in messages and "`decay` is deprecated" in messages
    v = fk.Variable(np.ones(3, np.float32))
    for _ in range(3):
        decayed.apply_gradients([(np.ones(3, np.float32), v)])
    np.testing.assert_allclose(float(decayed.learning_rate), 0.01 / (1 + 1e-6 * 3), rtol=1e-6)


def test_bad_input_messages():
    v = fk.Variable(np.zeros((2, 3), np.float32), name="kernel")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="the gradient of variable 'kernel' has shape \\(3, 2\\)"):
        opt.apply_gradients([(np.zeros((3, 2)), v)])
    with pytest.raises(TypeError, match="has dtype <U1; expected a numeric array"):
        optimizers.Adam().apply_gradients([(np.full((2, 3), "a"), v)])
    with pytest.raises(ValueError, match="`learning_rate` must not be NaN"):
        optimizers.SGD(learning_rate=float("nan"))
    with pytest.raises(ValueError, match="`learning_rate` must not be NaN"):
        opt.learning_rate = float("nan")
    with pytest.raises(ValueError, match="`epsilon` must be >= 0"):
        optimizers.Adam(epsilon=-1e-7)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue`"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="`gradient_accumulation_steps` must be an integer >= 2"):
        optimizers.SGD(gradient_accumulation_steps=1)
    with pytest.raises(TypeError, match="Argument\\(s\\) not recognized: \\['betaa'\\]"):
        optimizers.Adam(betaa=0.9)
    with pytest.raises(ValueError, match="Unknown variable 'other'"):
        opt.apply_gradients([(np.zeros((2, 3)), v)])
        opt.apply_gradients([(np.zeros(2), fk.Variable(np.zeros(2), name="other"))])


def test_none_gradient_is_skipped_with_a_warning():
    a, b = fk.Variable(1.0, name="a"), fk.Variable(2.0, name="b")
    opt = optimizers.SGD(learning_rate=0.5)
    with pytest.warns(UserWarning, match="Gradients do not exist for variables \\['b'\\]"):
        opt.apply_gradients([(np.float32(1.0), a), (None, b)])
    assert a.numpy() == np.float32(0.5) and b.numpy() == np.float32(2.0)


def test_empty_and_zero_sized_variables():
    opt = optimizers.Adam()
    v = fk.Variable(np.zeros((0, 4), np.float32))
    opt.apply_gradients([(np.zeros((0, 4), np.float32), v)])
    assert v.shape == (0, 4)


def test_kernel_checks_buffers():
    from fastkeras._kernels import optim as ko

    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="gradient 0 has 3 elements, expected 4"):
        ko.step({"kind": "sgd", "lr": 0.1}, [p], [np.zeros(3, np.float32)], [None, None, None])
    with pytest.raises(TypeError, match="gradient 0 has dtype float64, expected float32"):
        ko.step({"kind": "sgd", "lr": 0.1}, [p], [np.zeros(4)], [None, None, None])
    with pytest.raises(ValueError, match="fk_optim_step: required pointer is NULL"):
        ko.step({"kind": "adam", "lr": 0.1}, [p], [p.copy()], [None, None, None])
    ro = np.zeros(4, np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="parameter 0 must be writable"):
        ko.step({"kind": "sgd", "lr": 0.1}, [ro], [p], [None, None, None])
    with pytest.raises(ValueError, match="fk_optim_step: invalid argument value"):
        ko.step({"kind": "sgd", "lr": float("nan")}, [p], [p.copy()], [None, None, None])


# ------------------------------------------------------------------------------------------
# Keras 3's optimizer API (issue 19): the learning-rate variable, schedules, `variables`,
# and the numbers Keras' own unit tests state (keras/src/optimizers/*_test.py).
# ------------------------------------------------------------------------------------------
def test_learning_rate_behaves_like_keras_variable(tf):
    K = tf.keras
    for lib in (fk, K):
        opt = lib.optimizers.SGD(learning_rate=0.1)
        lr = opt.learning_rate
        assert lr.name == "learning_rate" and lr.path == f"{opt.name}/learning_rate"
        assert str(np.asarray(lr).dtype) == "float32"
        assert float(lr) == float(np.float32(0.1))
        assert lr.numpy() == np.float32(0.1)
        assert lib.ops.convert_to_numpy(lr) == np.float32(0.1)
        assert float(lr * 2.0) == float(np.float32(0.1) * np.float32(2.0))
        assert float(1.0 - lr) == float(np.float32(1.0) - np.float32(0.1))
        lr.assign(0.05)
        assert float(opt.learning_rate) == float(np.float32(0.05))
        opt.learning_rate = 0.01  # assigns the same variable, as Keras does
        assert opt.learning_rate is lr and float(lr) == float(np.float32(0.01))
        assert opt.get_config()["learning_rate"] == float(np.float32(0.01))
        it = opt.iterations
        assert it.name == "iteration" and int(it.numpy()) == 0 and str(it.dtype) == "int64"


def test_schedule_learning_rate_as_keras(tf):
    K = tf.keras
    for lib in (fk, K):
        opt = lib.optimizers.Adam(lib.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5))
        v = lib.Variable(np.ones(3, "float32"), name="v")
        assert len(opt.variables) == 1 and float(opt.learning_rate) == pytest.approx(0.1)
        for _ in range(3):
            opt.apply_gradients([(np.ones(3, "float32"), v)])
        np.testing.assert_allclose(float(opt.learning_rate), 0.1 * 0.5 ** 1.5, rtol=1e-6)
        assert [x.name for x in opt.variables] == ["iteration", "v_momentum", "v_velocity"]
        with pytest.raises(TypeError, match="learning rate is not settable"):
            opt.learning_rate = 0.1
        # replacing a float rate by a schedule drops its variable (Keras' test)
        adam = lib.optimizers.Adam(learning_rate=0.001)
        assert len(adam.variables) == 2
        adam.learning_rate = lib.optimizers.schedules.PolynomialDecay(adam.learning_rate, 4)
        assert len(adam.variables) == 1
        assert float(adam.learning_rate) == pytest.approx(0.001)
    # a callable learning rate (Keras' test_callable_learning_rate)
    v = fk.Variable([[1.0, 2.0], [3.0, 4.0]])
    opt = optimizers.SGD(learning_rate=lambda: 0.1)
    opt.apply_gradients([(np.ones((2, 2), "float32"), v)])
    np.testing.assert_allclose(v.numpy(), [[0.9, 1.9], [2.9, 3.9]], rtol=1e-6)
    assert int(opt.iterations.numpy()) == 1 and len(opt.variables) == 1
    # the legacy `decay=` keeps a settable base rate (tf.keras 2's meaning)
    with pytest.warns(DeprecationWarning):
        decayed = optimizers.SGD(learning_rate=0.1, decay=0.5)
    decayed.learning_rate = 0.2
    np.testing.assert_allclose(float(decayed.learning_rate), 0.2, rtol=1e-6)


VARIABLE_CASES = [("SGD", {"momentum": 0.9}), ("SGD", {}), ("Adam", {"amsgrad": True}),
                  ("AdamW", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
                  ("RMSprop", {}), ("Adagrad", {}), ("Adadelta", {}), ("Adamax", {}),
                  ("Nadam", {}), ("Lion", {}),
                  ("Adam", {"use_ema": True, "gradient_accumulation_steps": 2})]


@pytest.mark.parametrize("name,kwargs", VARIABLE_CASES,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in VARIABLE_CASES])
def test_variables_names_and_order_as_keras(tf, name, kwargs):
    K = tf.keras
    listed = []
    for lib in (fk, K):
        opt = getattr(lib.optimizers, name)(**kwargs)
        a = lib.Variable(np.ones(2, "float32"), name="a")
        b = lib.Variable(np.ones(3, "float32"), name="b")
        opt.build([a, b])
        listed.append([(v.name, tuple(v.shape), str(np.asarray(v).dtype))
                       for v in opt.variables])
        assert all(v.path == f"{opt.name}/{v.name}" for v in opt.variables[:-1])
    ours, theirs = listed
    if name == "Nadam":  # Keras' momentum-schedule product is an unnamed "variable"
        assert ours[-1][0] == "u_product" and theirs[-1][0].startswith("variable")
        ours, theirs = ours[:-1], theirs[:-1]
    assert ours == theirs


def test_optimizer_auto_naming():
    from fastkeras.layers.base import clear_session

    clear_session()
    names = [optimizers.Adam().name, optimizers.Adam().name, optimizers.SGD().name,
             optimizers.SGD().name, optimizers.AdamW().name, optimizers.AdamW().name,
             optimizers.RMSprop().name]
    assert names == ["adam", "adam_1", "sgd", "sgd_1", "adam_w", "adam_w_1", "rm_sprop"]
    assert optimizers.SGD(name="mine").name == "mine"


def _step_once(opt):
    v = fk.Variable([1.0, 2.0, 3.0, 4.0])
    opt.apply_gradients(zip([np.array([1.0, 6.0, 7.0, 2.0], "float32")], [v]))
    return v.numpy()


SINGLE_STEP = {  # Keras' test_single_step of each optimizer (learning_rate=0.5)
    "SGD": [0.5, -1.0, -0.5, 3.0], "Adam": [0.5, 1.5, 2.5, 3.5],
    "RMSprop": [-0.5811, 0.4189, 1.4189, 2.4189], "Adagrad": [0.5233, 1.5007, 2.5005, 3.5061],
    "Adamax": [0.5, 1.5, 2.5, 3.5], "Adadelta": [0.9993, 1.9993, 2.9993, 3.9993],
    "Nadam": [0.4686, 1.4686, 2.4686, 3.4686], "Lion": [0.5, 1.5, 2.5, 3.5],
    "AdamW": [0.4980, 1.4960, 2.494, 3.492],
}


@pytest.mark.parametrize("name", sorted(SINGLE_STEP))
def test_keras_single_step_and_weight_decay(name):
    opt = getattr(optimizers, name)(learning_rate=0.5)
    np.testing.assert_allclose(_step_once(opt), SINGLE_STEP[name], rtol=1e-4, atol=1e-4)
    if name == "SGD":
        assert len(opt.variables) == 2
        assert opt.variables[0].numpy() == 1 and opt.variables[1].numpy() == 0.5
    # test_weight_decay: 2.0 with a zero gradient and weight_decay=0.004 at lr 1.0
    g = np.zeros((), "float32")
    var1, var2, var3 = fk.Variable(2.0), fk.Variable(2.0, name="exclude"), fk.Variable(2.0)
    o1 = getattr(optimizers, name)(learning_rate=1.0, weight_decay=0.004)
    o1.apply_gradients(zip([g], [var1]))
    o2 = getattr(optimizers, name)(learning_rate=1.0, weight_decay=0.004)
    o2.exclude_from_weight_decay(var_names=["exclude"])
    o2.apply_gradients(zip([g, g], [var1, var2]))
    o3 = getattr(optimizers, name)(learning_rate=1.0, weight_decay=0.004)
    o3.exclude_from_weight_decay(var_list=[var3])
    o3.apply_gradients(zip([g, g], [var1, var3]))
    np.testing.assert_almost_equal(var1.numpy(), 1.9760959, decimal=6)
    np.testing.assert_almost_equal(var2.numpy(), 2.0, decimal=6)
    np.testing.assert_almost_equal(var3.numpy(), 2.0, decimal=6)


def _tile(column):
    return np.tile(np.asarray(column)[:, None], (1, 10))


GOLDEN = {  # Keras' test_correctness_with_golden: (constructor kwargs, 5 x 10 values)
    "SGD": ({"nesterov": True}, np.array([
        [0.9999] * 10,
        [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
        [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
        [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
        [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599]])),
    "Adam": ({"amsgrad": True}, _tile([0.999, 0.9982, 0.9974, 0.9965, 0.9955])),
    "RMSprop": ({"centered": True}, _tile([0.9967, 0.9933, 0.9908, 0.9885, 0.9864])),
    "Adagrad": ({"learning_rate": 0.2, "initial_accumulator_value": 0.3, "epsilon": 1e-6},
                np.array([
        [0.9963] * 10,
        [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
        [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
        [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
        [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825]])),
    "Adamax": ({"learning_rate": 0.2, "beta_1": 0.85, "beta_2": 0.95, "epsilon": 1e-6},
               np.array([
        [0.8] * 10,
        [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
        [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
        [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
        [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126]])),
    "Adadelta": ({"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-6},
                 _tile([0.9978, 0.9947, 0.9915, 0.9882, 0.9849])),
    "Nadam": ({"learning_rate": 0.5, "beta_1": 0.5, "beta_2": 0.67, "epsilon": 1e-5}, np.array([
        [0.4281] * 10,
        [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718,
         -0.1717],
        [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085,
         -0.7084],
        [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23,
         -1.2299],
        [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455,
         -1.7454]])),
    "Lion": ({}, _tile([0.999, 0.998, 0.997, 0.996, 0.995])),
    "AdamW": ({"learning_rate": 1.0, "weight_decay": 0.5, "epsilon": 2}, np.array([
        [0.4998] * 10,
        [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
        [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
        [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
        [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113,
         -0.0159]])),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_keras_golden_trajectories(name):
    kwargs, golden = GOLDEN[name]
    opt = getattr(optimizers, name)(**kwargs)
    x = fk.Variable(np.ones(10, "float32"))
    grads = np.linspace(0.1, 1.0, 10).astype("float32")
    opt.apply_gradients(zip([np.full(10, 0.01, "float32")], [x]))
    for row in golden:
        np.testing.assert_allclose(x.numpy(), row, rtol=5e-4, atol=5e-4)
        opt.apply_gradients(zip([grads], [x]))


def test_keras_clipping_cases():
    big = [np.array([100.0, 100.0], "float32")]
    for name in sorted(SINGLE_STEP):
        cls = getattr(optimizers, name)
        np.testing.assert_allclose(cls(clipnorm=1)._clip_gradients(big)[0].numpy(),
                                   [2 ** 0.5 / 2, 2 ** 0.5 / 2], rtol=1e-6)
        np.testing.assert_allclose(cls(clipvalue=1)._clip_gradients(big)[0].numpy(), [1, 1])
    g = np.array([50.0, 100.0], "float32")
    np.testing.assert_allclose(
        optimizers.SGD(global_clipnorm=1)._clip_gradients([g])[0].numpy(),
        g / np.linalg.norm(g), rtol=1e-6)
    opt = optimizers.SGD(learning_rate=1.0, clipnorm=0.1)
    assert opt.clipnorm == 0.1


def test_keras_ema_cases():
    v = fk.Variable([[3.0, 4.0], [5.0, 6.0]])
    g = np.ones((2, 2), "float32")
    opt = optimizers.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.9,
                         ema_overwrite_frequency=3)
    opt.apply_gradients([(g, v)])
    np.testing.assert_allclose(v.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(),
                               [[2.0, 3.0], [4.0, 5.0]])
    opt.apply_gradients([(g, v)])
    np.testing.assert_allclose(v.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(),
                               [[1.9, 2.9], [3.9, 4.9]], rtol=1e-6)
    opt.apply_gradients([(g, v)])
    np.testing.assert_allclose(v.numpy(), [[1.71, 2.71], [3.71, 4.71]], rtol=1e-6)
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(),
                               [[1.71, 2.71], [3.71, 4.71]], rtol=1e-6)
    # Adam's test_ema and test_ema_overwrite_frequency
    opt = optimizers.Adam(learning_rate=1.0, use_ema=True, ema_momentum=0.9)
    var = fk.Variable(np.array([1.0, 2.0], "float32"))
    grads = np.array([0.1, 0.2], "float32")
    opt.apply_gradients([(grads, var)])
    v1 = var.numpy()
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(), v1)
    opt.apply_gradients([(grads, var)])
    v2 = var.numpy()
    expected = 0.9 * v1 + 0.1 * v2
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(), expected,
                               rtol=1e-6)
    opt.finalize_variable_values([var])
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)
    opt = optimizers.Adam(learning_rate=1.0, use_ema=True, ema_momentum=0.9,
                          ema_overwrite_frequency=2)
    plain = optimizers.Adam(learning_rate=1.0)
    var, var_plain = fk.Variable(np.array([1.0, 2.0], "float32")), fk.Variable(
        np.array([1.0, 2.0], "float32"))
    opt.apply_gradients([(grads, var)])
    plain.apply_gradients([(grads, var_plain)])
    v1 = var_plain.numpy()
    np.testing.assert_allclose(var.numpy(), v1)
    opt.apply_gradients([(grads, var)])
    plain.apply_gradients([(grads, var_plain)])
    expected = 0.9 * v1 + 0.1 * var_plain.numpy()
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)


def test_keras_gradient_accumulation_cases():
    v = fk.Variable([[1.0, 2.0], [3.0, 4.0]])
    g = np.ones((2, 2), "float32")
    opt = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=3)
    expect = [([[1.0, 2.0], [3.0, 4.0]], 1.0, 1, 0), ([[1.0, 2.0], [3.0, 4.0]], 2.0, 2, 0),
              ([[0.0, 1.0], [2.0, 3.0]], 0.0, 3, 1), ([[0.0, 1.0], [2.0, 3.0]], 1.0, 4, 1)]
    for value, acc, raw, steps in expect:
        opt.apply_gradients([(g, v)])
        np.testing.assert_allclose(v.numpy(), value)
        np.testing.assert_allclose(opt._accumulated_gradients[0].numpy(), np.full((2, 2), acc))
        assert int(opt._iterations.numpy()) == raw and int(opt.iterations.numpy()) == steps
    rng = np.random.default_rng(0)
    for name in ("adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "lion",
                 "nadam"):
        o1 = optimizers.get({"class_name": name, "config": {"weight_decay": 0.05}})
        o3 = optimizers.get({"class_name": name, "config": {
            "weight_decay": 0.05, "gradient_accumulation_steps": 3}})
        v1, v3 = fk.Variable([[0.9], [0.5]]), fk.Variable([[0.9], [0.5]])
        for _ in range(8):
            g3 = rng.random((3, 2, 1)).astype("float32")
            o1.apply_gradients([(g3.mean(axis=0), v1)])
            for batch in range(3):
                o3.apply_gradients([(g3[batch], v3)])
        np.testing.assert_allclose(v1.numpy(), v3.numpy(), rtol=1e-5, atol=1e-6)


def test_keras_base_optimizer_cases():
    import pickle

    v = fk.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = np.ones((2, 2), "float32")
    opt = optimizers.Adam(learning_rate=1.0)
    assert int(opt.iterations.numpy()) == 0
    opt.apply_gradients([(grads, v)])
    opt.apply_gradients([(grads, v)])
    assert int(opt.iterations.numpy()) == 2
    # empty gradients
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        optimizers.SGD(learning_rate=1.0).apply_gradients([(None, fk.Variable([1.0]))])
    v2 = fk.Variable([[3.0, 4.0], [5.0, 6.0]])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizers.SGD(learning_rate=1.0).apply_gradients([(None, v), (grads, v2)])
    np.testing.assert_allclose(v2.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    # static loss scaling
    w = fk.Variable([[1.0, 2.0], [3.0, 4.0]])
    opt = optimizers.SGD(learning_rate=1.0, loss_scale_factor=1024.0)
    opt.apply_gradients([(np.array([[1.0, 2.0], [3.0, 4.0]], "float32") * 1024.0, w)])
    assert opt.scale_loss(1.0) == 1024.0
    np.testing.assert_allclose(w.numpy(), np.zeros((2, 2)))
    # set_weights needs a built optimizer; takes another optimizer's variables
    x = fk.Variable([[1.0, 2.0], [3.0, 4.0]])
    o1 = optimizers.Adam()
    o1.apply_gradients(zip([np.array([[1.0, 2.0], [3.0, 4.0]], "float32")], [x]))
    o2 = optimizers.Adam()
    with pytest.raises(ValueError, match="You are calling `set_weights\\(\\)` on an optimizer "
                                         "that has not yet been built"):
        o2.set_weights(o1.variables)
    o2.build([x])
    o2.set_weights(o1.variables)
    for a, b in zip(o1.variables, o2.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="has shape \\(2, 2\\) not compatible"):
        o2.set_weights([w.numpy() if w.ndim == 0 else np.zeros(3) for w in o1.variables])
    # constraints, get, pickling
    c = fk.Variable(np.random.default_rng(1).random((2, 2)) - 1.0)
    c.constraint = fk.constraints.NonNeg()
    optimizers.SGD(learning_rate=0.0001).apply_gradients([(np.zeros((2, 2)), c)])
    assert np.min(c.numpy()) == 0.0
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    assert isinstance(optimizers.get("adamw"), optimizers.AdamW)
    assert optimizers.get(None) is None
    with pytest.raises(ValueError):
        optimizers.get("typo")
    for name in ("adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "lion",
                 "nadam"):
        opt = optimizers.get(name)
        assert pickle.loads(pickle.dumps(opt)).get_config() == opt.get_config()
    with pytest.raises(ValueError, match="`momentum` must be a float between \\[0, 1\\]"):
        optimizers.SGD(momentum=-1.0)
    with pytest.raises(ValueError, match="`momentum` must be a float between \\[0, 1\\]"):
        optimizers.SGD(momentum=2.0)


def test_keras_fit_with_lr_schedule():
    """Keras' test_fit_lr_correctness: Adam on an ExponentialDecay through fit."""
    model = fk.Sequential([fk.layers.Dense(2, kernel_initializer="ones",
                                           bias_initializer="ones")])
    opt = optimizers.Adam(learning_rate=optimizers.schedules.ExponentialDecay(
        initial_learning_rate=0.05, decay_steps=1, decay_rate=0.9))
    assert len(opt.variables) == 1 and opt.variables[0].numpy() == 0
    model.compile(optimizer=opt, loss="mse")
    x = np.arange(32).reshape((16, 2))
    history = model.fit(x, x, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert opt.variables[0].numpy() == 4 * 3
    np.testing.assert_allclose(history.history["loss"],
                               [230.79457092285156, 128.30319213867188, 79.33648681640625],
                               rtol=5e-5)


def test_reduce_lr_and_scheduler_callbacks_read_and_set_the_variable():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model = fk.Sequential([fk.Input((3,)), fk.layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    cb = fk.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    model.fit(x, np.zeros((16, 1), "float32"), epochs=3, verbose=0, callbacks=[cb])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.025)  # epochs 2 and 3
    sched = fk.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.1)
    model.fit(x, np.zeros((16, 1), "float32"), epochs=1, verbose=0, callbacks=[sched])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)


# ------------------------------------------------------------------------------ schedules
S = optimizers.schedules


def test_keras_schedule_cases():
    """Every numeric case of Keras' learning_rate_schedule_test.py."""
    close = lambda got, want: np.testing.assert_allclose(float(got), want, rtol=1e-6)  # noqa
    close(S.ExponentialDecay(0.05, 10, 0.96)(5), 0.05 * 0.96 ** 0.5)
    step = fk.Variable(1.0)
    stair = S.ExponentialDecay(0.1, 3, 0.96, staircase=True)
    close(stair(step), 0.1)
    step.assign(2)
    close(stair(step), 0.1)
    step.assign(100)
    close(stair(step), 0.1 * 0.96 ** (100 // 3))
    x = fk.Variable(-999.0)
    pcd = S.PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001])
    for at, want in [(-999, 1.0), (100, 1.0), (105, 0.1), (110, 0.1), (120, 0.01),
                     (999, 0.001)]:
        x.assign(at)
        close(pcd(x), want)
    x64 = fk.Variable(np.int64(0), dtype="int64")
    pcd = S.PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7])
    for at, want in [(0, 0.4), (1, 0.4), (2, 0.5), (3, 0.6), (4, 0.7)]:
        x64.assign(at)
        close(pcd(x64), want)
    lr, end = 0.05, 0.001
    close(S.PolynomialDecay(lr, 10, 0.0)(5), lr * 0.5)
    close(S.PolynomialDecay(lr, 10, end)(10), end)
    close(S.PolynomialDecay(lr, 10, end)(5), (lr + end) * 0.5)
    close(S.PolynomialDecay(lr, 10, end)(15), end)
    close(S.PolynomialDecay(lr, 10, end, cycle=True)(15), (lr - end) * 0.25 + end)
    close(S.PolynomialDecay(lr, 10, 0.0, power=0.5)(5), lr * 0.5 ** 0.5)
    close(S.PolynomialDecay(lr, 10, end, power=0.5)(10), end)
    close(S.PolynomialDecay(lr, 10, end, power=0.5)(5), (lr - end) * 0.5 ** 0.5 + end)
    close(S.PolynomialDecay(lr, 10, end, power=0.5)(15), end)
    close(S.PolynomialDecay(lr, 10, end, power=0.5, cycle=True)(15),
          (lr - end) * 0.25 ** 0.5 + end)
    close(S.PolynomialDecay(0.001, 10, cycle=True)(0), 0.001)
    step = fk.Variable(0.0)
    itd, itd_s = S.InverseTimeDecay(0.1, 10, 0.96), S.InverseTimeDecay(0.1, 10, 0.96,
                                                                          staircase=True)
    for i in range(11):
        close(itd(step), 0.1 / (1 + i / 10 * 0.96))
        close(itd_s(step), 0.1 / (1 + 0.96 * (i // 10)))
        step.assign(step + 1)

    def cosine(step, decay_steps, alpha=0.0):
        step = min(step, decay_steps)
        return (1.0 - alpha) * 0.5 * (1.0 + np.cos(np.pi * step / decay_steps)) + alpha

    for step in range(0, 1500, 250):
        close(S.CosineDecay(1.0, 1000)(step), cosine(step, 1000))
        close(S.CosineDecay(1.0, 1000, 0.1)(step), cosine(step, 1000, 0.1))
        got = S.CosineDecay(np.float64(1.0), 1000)(step)
        assert got.dtype == np.float64
        close(got, cosine(step, 1000))
        np.testing.assert_allclose(float(S.CosineDecay(0.0, 10, warmup_target=10.0,
                                                       warmup_steps=1500)(step)),
                                   step / 1500 * 10.0, rtol=1e-6, atol=1e-6)
    for step in range(0, 3000, 250):
        want = step / 2000 * 10.0 if step < 2001 else 10.0 * cosine(step - 2000, 1000)
        np.testing.assert_allclose(float(S.CosineDecay(0.0, 1000, warmup_target=10.0,
                                                       warmup_steps=2000)(step)),
                                   want, rtol=1e-6, atol=1e-6)

    def restarts(step, decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
        fac = 1.0
        while step >= decay_steps:
            step -= decay_steps
            decay_steps *= t_mul
            fac *= m_mul
        return (1.0 - alpha) * fac * 0.5 * (1.0 + np.cos(np.pi * step / decay_steps)) + alpha

    for step in range(0, 1500, 250):
        close(S.CosineDecayRestarts(1.0, 1000)(step), restarts(step, 1000))
        close(S.CosineDecayRestarts(np.float64(1.0), 1000)(step), restarts(step, 1000))
        close(S.CosineDecayRestarts(1.0, 1000, alpha=0.1)(step), restarts(step, 1000, alpha=0.1))
        close(S.CosineDecayRestarts(1.0, 1000, m_mul=0.9)(step), restarts(step, 1000, m_mul=0.9))
        close(S.CosineDecayRestarts(1.0, 1000, t_mul=1.0)(step), restarts(step, 1000, t_mul=1.0))


SCHEDULE_CASES = [
    ("ExponentialDecay", (0.05, 10, 0.96), {"staircase": True, "name": "my_ed"}),
    ("PiecewiseConstantDecay", ([10, 20], [1.0, 2.0, 3.0]), {"name": "my_pcd"}),
    ("PolynomialDecay", (0.1, 100), {"end_learning_rate": 0.005, "power": 2.0, "cycle": True}),
    ("InverseTimeDecay", (0.05, 10, 0.96), {"staircase": True, "name": "my_itd"}),
    ("CosineDecay", (0.05, 10), {"alpha": 0.1, "warmup_target": 0.2, "warmup_steps": 2}),
    ("CosineDecayRestarts", (0.05, 10), {"alpha": 0.1, "t_mul": 3.0, "m_mul": 0.5}),
]


@pytest.mark.parametrize("name,args,kwargs", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedules_match_tf_keras(tf, name, args, kwargs):
    ours = getattr(S, name)(*args, **kwargs)
    theirs = getattr(tf.keras.optimizers.schedules, name)(*args, **kwargs)
    assert ours.get_config() == theirs.get_config()
    for step in [0, 1, 2, 5, 9, 10, 11, 25, 99, 100, 101, 250, 1000]:
        np.testing.assert_allclose(float(ours(step)), float(theirs(step)), rtol=2e-6,
                                   atol=1e-9, err_msg=f"step {step}")
    # config and serialize round trips (Keras' run_class_serialization_test)
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    entry = S.serialize(ours)
    assert entry == tf.keras.optimizers.schedules.serialize(theirs)
    back = S.deserialize(entry)
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    assert S.deserialize({"class_name": name, "config": ours.get_config()}).get_config() == \
        ours.get_config()
    # an optimizer on the schedule: its config carries the schedule, both ways
    opt = optimizers.SGD(learning_rate=ours)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert clone._learning_rate.get_config() == ours.get_config()
    t_opt = tf.keras.optimizers.SGD.from_config(opt.get_config())
    assert t_opt.learning_rate is not None
    np.testing.assert_allclose(float(t_opt.learning_rate), float(opt.learning_rate),
                               rtol=1e-6)


def test_schedule_bad_input():
    for cls, args, arg in [(S.ExponentialDecay, (0.1, 0, 0.5), "decay_steps"),
                           (S.InverseTimeDecay, (0.1, -1, 0.5), "decay_steps"),
                           (S.PolynomialDecay, (0.1, 0), "decay_steps"),
                           (S.CosineDecay, (0.1, 0), "decay_steps"),
                           (S.CosineDecayRestarts, (0.1, 0), "first_decay_steps")]:
        with pytest.raises(ValueError, match=f"Argument `{arg}` must be > 0"):
            cls(*args)
    with pytest.raises(ValueError, match="The length of boundaries should be 1 less"):
        S.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(TypeError, match="`initial_learning_rate` must be a number"):
        S.ExponentialDecay("0.1", 10, 0.5)
    with pytest.raises(ValueError, match="`decay_rate` must not be NaN"):
        S.ExponentialDecay(0.1, 10, float("nan"))
    with pytest.raises(TypeError, match="`step` must be a number"):
        S.ExponentialDecay(0.1, 10, 0.5)("three")
    with pytest.raises(ValueError, match="`warmup_steps` must be >= 0"):
        S.CosineDecay(0.1, 10, warmup_target=1.0, warmup_steps=-2)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        S.deserialize({"class_name": "Adam", "config": {}})
    with pytest.raises(ValueError, match="must be a dict with a 'class_name'"):
        S.deserialize("ExponentialDecay")
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        S.LearningRateSchedule()(0)
