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
