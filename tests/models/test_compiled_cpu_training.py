"""Compiled training on the CPU: fit / evaluate / predict / train_on_batch of a model the
plan covers run through fastkeras.device.plan on HostOps by default; run_eagerly=True (or
jit_compile=False) runs the autodiff tape. Both give the same numbers: float64 to 1e-10,
float32 to 1e-5 (relative), for every covered layer, loss, optimizer option, regularizer,
sample / class weight and callback interaction; what the plan does not cover runs the tape.
"""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers, optimizers
from fastkeras import config
from fastkeras.device.plan import DevicePlan

from _plan_cases import LOSSES, OPTIMIZERS, assert_same_training


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _floatx(dtype):
    old = config.floatx()
    config.set_floatx(np.dtype(dtype).name)
    return old


def _run_both(dtype, build, x, y, loss="sparse_categorical_crossentropy",
              optimizer=lambda: optimizers.Adam(0.01), metrics=("accuracy",), epochs=3,
              calls=None, **fit_kw):
    """[(history, model, extra)] of the tape (run_eagerly=True) and of the compiled plan:
    build() under floatx=dtype with the same seed, compiled and fitted alike; calls(model)
    adds what else the test runs (evaluate, predict, ...)."""
    out = []
    for eager in (True, False):
        old = _floatx(dtype)
        try:
            fk.utils.set_random_seed(0)
            model = build()
            model.compile(optimizer=optimizer(), loss=loss() if callable(loss) else loss,
                          metrics=list(metrics), run_eagerly=eager)
            assert model.uses_compiled_plan() is not eager
            kw = {"batch_size": 16, "epochs": epochs, "shuffle": False, "verbose": 0, **fit_kw}
            hist = model.fit(x, y, **kw)
            extra = calls(model) if calls else None
        finally:
            config.set_floatx(old)
        out.append((hist.history, model, extra))
    (_, tape_model, _), (_, plan_model, _) = out
    assert "cpu" not in tape_model._device_plans
    assert isinstance(plan_model._device_plans.get("cpu"), DevicePlan)  # the plan really ran
    return out


def _assert_same(res, dtype):
    (ht, mt, et), (hp, mp, ep) = res
    assert_same_training((ht, mt), (hp, mp), _tol(dtype))
    if et is not None:
        for a, b in zip(_flat(et), _flat(ep)):
            np.testing.assert_allclose(np.asarray(b, np.float64), np.asarray(a, np.float64),
                                       **_tol(dtype))


def _flat(v):
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in _flat(v[k])]
    if isinstance(v, (list, tuple)):
        return [x for e in v for x in _flat(e)]
    return [v]


def _data(dtype, n=50, shape=(12,), classes=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n,) + shape).astype(dtype), rng.integers(0, classes, size=n)


def _mlp(out_act="softmax", extra=(), out=4, **dense_kw):
    return lambda: fk.Sequential([layers.Input((12,)),
                                  layers.Dense(16, activation="relu", **dense_kw), *extra,
                                  layers.Dense(out, activation=out_act)])


DTYPES = [np.float32, np.float64]



@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_every_optimizer_option_matches_the_tape(dtype, opt):
    x, y = _data(dtype)
    res = _run_both(dtype, _mlp(), x, y, optimizer=OPTIMIZERS[opt])
    _assert_same(res, dtype)




@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_every_covered_loss_matches_the_tape(dtype, case):
    spec, out_act, target = LOSSES[case]
    x, y = _data(dtype)
    if target == "onehot":
        y = np.eye(4, dtype=dtype)[y]
    elif target == "regression":
        y = np.random.default_rng(3).normal(size=(len(x), 4)).astype(dtype)
    res = _run_both(dtype, _mlp(out_act), x, y, loss=spec,
                    metrics=["mae"] if target == "regression" else ["accuracy"],
                    calls=lambda m: (m.evaluate(x, y, verbose=0),
                                     m.predict(x, batch_size=7, verbose=0)))
    _assert_same(res, dtype)


def _dense_acts():
    return [layers.Activation("tanh"), layers.ReLU(), layers.LeakyReLU(0.3), layers.ELU(0.7),
            layers.Activation("gelu"), layers.Activation("sigmoid"), layers.Dropout(0.25)]


LAYER_MODELS = {
    "activations_dropout": lambda: fk.Sequential([
        layers.Input((12,)), layers.Dense(16), *_dense_acts(), layers.Dense(4),
        layers.Softmax()]),
    "batchnorm": lambda: fk.Sequential([
        # no bias before the normalization: its gradient is rounding noise, which Adam scales up
        layers.Input((12,)), layers.Dense(16, use_bias=False),
        layers.BatchNormalization(momentum=0.8),
        layers.Activation("relu"), layers.Dense(4, activation="softmax")]),
    "conv1d": lambda: fk.Sequential([
        layers.Input((10, 3)), layers.Conv1D(5, 3, padding="same", activation="relu"),
        layers.MaxPooling1D(2), layers.Conv1D(4, 2, strides=2), layers.GlobalAveragePooling1D(),
        layers.Dense(4, activation="softmax")]),
    "conv2d": lambda: fk.Sequential([
        layers.Input((8, 8, 2)), layers.Conv2D(6, 3, activation="relu"),
        layers.BatchNormalization(center=False), layers.AveragePooling2D(2), layers.Flatten(),
        layers.Dense(4, activation="softmax")]),
    "conv2d_dilated_global_max": lambda: fk.Sequential([
        layers.Input((9, 9, 1)), layers.Conv2D(4, 3, dilation_rate=2, padding="same",
                                               activation="tanh"),
        layers.MaxPooling2D(3, strides=2, padding="same"), layers.GlobalMaxPooling2D(),
        layers.Dense(4, activation="softmax")]),
    "conv3d": lambda: fk.Sequential([
        layers.Input((4, 4, 4, 1)), layers.Conv3D(3, 2, activation="relu"),
        layers.AveragePooling3D(1), layers.Flatten(), layers.Dense(4, activation="softmax")]),
    "functional_frozen": lambda: _functional_frozen(),
}


def _functional_frozen():
    i = fk.Input((12,))
    h = layers.Dense(16, activation="relu", name="frozen")(i)
    h = layers.Dense(8, activation="tanh")(h)
    m = fk.Model(i, layers.Dense(4, activation="softmax")(h))
    m.get_layer("frozen").trainable = False
    return m


INPUT_SHAPES = {"conv1d": (10, 3), "conv2d": (8, 8, 2), "conv2d_dilated_global_max": (9, 9, 1),
                "conv3d": (4, 4, 4, 1)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(LAYER_MODELS))
def test_every_covered_layer_matches_the_tape(dtype, case):
    x, y = _data(dtype, n=40, shape=INPUT_SHAPES.get(case, (12,)))
    xv, yv = _data(dtype, n=12, shape=INPUT_SHAPES.get(case, (12,)), seed=9)
    res = _run_both(dtype, LAYER_MODELS[case], x, y, validation_data=(xv, yv),
                    calls=lambda m: (m.evaluate(xv, yv, verbose=0, return_dict=True),
                                     m.predict(xv, verbose=0),
                                     [w for layer in m.layers for w in layer.get_weights()]))
    _assert_same(res, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_regularizers_sample_and_class_weights_match_the_tape(dtype):
    x, y = _data(dtype, n=45)
    sw = np.random.default_rng(5).uniform(0.2, 2.0, size=len(x))
    reg = _mlp(kernel_regularizer=fk.regularizers.L1L2(0.01, 0.02),
               bias_regularizer=fk.regularizers.L2(0.1))
    for kw in ({"sample_weight": sw}, {"class_weight": {0: 0.5, 1: 2.0, 2: 1.0, 3: 1.5}},
               {"validation_split": 0.2}):
        res = _run_both(dtype, reg, x, y, optimizer=lambda: optimizers.SGD(0.1),
                        calls=lambda m: m.evaluate(x, y, sample_weight=sw, verbose=0), **kw)
        _assert_same(res, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_on_batch_methods_and_1d_regression_targets_match_the_tape(dtype):
    x, _ = _data(dtype, n=30)
    y = np.random.default_rng(4).normal(size=len(x)).astype(dtype)  # 1-D y, output (n, 1)

    def calls(m):
        out = [m.train_on_batch(x[:10], y[:10], return_dict=True),
               m.test_on_batch(x[10:20], y[10:20]),
               m.predict_on_batch(x[20:])]
        return out

    res = _run_both(dtype, _mlp("linear", out=1), x, y, loss="mse", metrics=["mae"],
                    calls=calls)
    _assert_same(res, dtype)


class _Interact(fk.callbacks.Callback):
    """Reads and writes the weights between batches and changes the learning rate."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            w = self.model.get_weights()
            w[0] = w[0] * 0.5
            self.model.set_weights(w)
        self.seen.append(self.model.layers[0].kernel.numpy().copy())

    def on_epoch_end(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.model.optimizer.learning_rate * 0.5


@pytest.mark.parametrize("dtype", DTYPES)
def test_callbacks_see_and_set_the_weights_between_batches(dtype):
    x, y = _data(dtype)
    cbs = []

    def fit_kw():
        cb = _Interact()
        cbs.append(cb)
        return cb

    res = []
    for eager in (True, False):
        old = _floatx(dtype)
        try:
            fk.utils.set_random_seed(0)
            m = _mlp()()
            m.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      run_eagerly=eager)
            cb = fit_kw()
            h = m.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                      callbacks=[cb, fk.callbacks.EarlyStopping("loss", patience=0)])
        finally:
            config.set_floatx(old)
        res.append((h.history, m, cb.seen))
    _assert_same(res, dtype)
    assert len(cbs[0].seen) == len(cbs[1].seen) > 3


def test_what_the_plan_does_not_cover_runs_the_tape():
    x, y = _data(np.float32)
    cases = {
        "constraint": (_mlp(kernel_constraint="non_neg"), "sparse_categorical_crossentropy",
                       "adam"),
        "huber": (_mlp("linear"), "huber", "adam"),
        "clipnorm": (_mlp(), "sparse_categorical_crossentropy",
                     optimizers.Adam(clipnorm=1.0)),
        "embedding": (lambda: fk.Sequential([layers.Input((12,), dtype="int32"),
                                             layers.Embedding(10, 3), layers.Flatten(),
                                             layers.Dense(4, activation="softmax")]),
                      "sparse_categorical_crossentropy", "adam"),
    }
    for name, (build, loss, opt) in cases.items():
        m = build()
        m.compile(optimizer=opt, loss=loss)
        assert not m.uses_compiled_plan(), name
        xin = np.abs(x * 3).astype("int32") % 10 if name == "embedding" else x
        yin = x[:, :4] if name == "huber" else y
        h = m.fit(xin, yin, epochs=1, verbose=0)
        assert np.isfinite(h.history["loss"][0]), name
    m = _mlp()()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    assert not m.uses_compiled_plan()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert m.uses_compiled_plan() and m.uses_compiled_plan("test") and \
        m.uses_compiled_plan("predict")

    class Own(fk.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    own = Own([layers.Input((12,)), layers.Dense(4)])
    own.compile(optimizer="sgd", loss="mse")
    assert not own.uses_compiled_plan() and own.uses_compiled_plan("predict")
    with pytest.raises(ValueError, match="kind"):
        own.uses_compiled_plan("fit")


def test_bad_batches_raise_what_the_tape_raises():
    x, y = _data(np.float32)
    for eager in (True, False):
        m = _mlp()()
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=eager)
        with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 12"):
            m.fit(x[:, :5], y, verbose=0)
        with pytest.raises(ValueError, match="label"):
            m.fit(x, y + 10, verbose=0)
        with pytest.raises(ValueError, match="NaN"):
            m.fit(np.full_like(x, np.nan), y, verbose=0)
