"""Training with the weights on a device (compile(device="cuda") / config.set_device).

Without a GPU the plan runs its primitives on the host (HostOps, the CPU kernels): these
tests then check the plan's logic (forward, loss, backward, optimizer state, the fit /
evaluate / predict plumbing, callbacks) against the ordinary tape-based fit, step for
step. Where a GPU exists the same tests run the real CudaOps, and the primitives are
compared one by one with the host's.
"""
import warnings

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import config, layers, losses, optimizers
from fastkeras import device as dp
from fastkeras.device import plan as plan_module

from _plan_cases import LOSSES, OPTIMIZERS, assert_same_training

info = fk.build_info()
has_device = info["cuda_compiled"] and info["cuda_device_count"] > 0


@pytest.fixture
def cuda_plan(monkeypatch):
    """device='cuda' runs the plan: on the GPU where there is one, else on HostOps."""
    if not has_device:
        monkeypatch.setattr(fk.cuda, "is_available", lambda: True)
        monkeypatch.setattr(plan_module, "ops_for", lambda device: dp.HostOps(False))
    yield
    config.set_device("cpu") if has_device else None


def _floatx(dtype):
    old = config.floatx()
    config.set_floatx(np.dtype(dtype).name)
    return old


def _mlp(dtype, seed=0, acts=("relu", "tanh"), out=4, out_act="softmax", dropout=0.0,
         extra=()):
    fk.utils.set_random_seed(seed)
    old = _floatx(dtype)
    try:
        stack = [layers.Input((3, 4)), layers.Flatten(),
                 layers.Dense(16, activation=acts[0])]
        if dropout:
            stack.append(layers.Dropout(dropout, seed=seed + 7))
        stack += [layers.Dense(8), layers.Activation(acts[1]), *extra,
                  layers.Dense(out, activation=out_act)]
        return fk.Sequential(stack)
    finally:
        config.set_floatx(old)


def _data(dtype, n=50, classes=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, 4)).astype(dtype)
    y = rng.integers(0, classes, size=n)
    return x, y


def _tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _fit_both(dtype, build, loss, x, y, optimizer=lambda: optimizers.Adam(0.01),
              metrics=("accuracy",), weighted_metrics=None, **fit_kw):
    """[(history, model)] of the CPU path and of the device plan: build() (seeded inside,
    under floatx=dtype) compiled and fitted alike; loss a name or a zero-argument factory
    (a Loss made under the right floatx)."""
    out = []
    for device in ("cpu", "cuda"):
        old = _floatx(dtype)
        try:
            model = build()
            model.compile(optimizer=optimizer(), loss=loss if isinstance(loss, str) else loss(),
                          metrics=list(metrics), weighted_metrics=weighted_metrics,
                          device=device, run_eagerly=device == "cpu")  # the tape's numbers
            fit_kw = {"batch_size": 16, "epochs": 3, "shuffle": False, **fit_kw}
            hist = model.fit(x, y, verbose=0, **fit_kw)
        finally:
            config.set_floatx(old)
        out.append((hist.history, model))
    return out


def _assert_same(cpu, dev, dtype):
    (hc, mc), (hd, md) = cpu, dev
    assert set(md._device_plans) == {"cuda"} and "cpu" not in mc._device_plans  # plan vs tape
    assert_same_training(cpu, dev, _tol(dtype))




@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_fit_on_the_device_matches_the_cpu_for_every_optimizer(cuda_plan, dtype, opt):
    res = _fit_both(dtype, lambda: _mlp(dtype), "sparse_categorical_crossentropy",
                    *_data(dtype), optimizer=OPTIMIZERS[opt])
    _assert_same(*res, dtype)
    assert res[1][0]["loss"][-1] < res[1][0]["loss"][0] or opt in ("adadelta", "lion")




@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_fit_on_the_device_matches_the_cpu_for_every_loss(cuda_plan, dtype, case):
    spec, out_act, target = LOSSES[case]
    x, y = _data(dtype)
    if target == "onehot":
        y = np.eye(4, dtype=dtype)[y]
    elif target == "regression":
        y = np.random.default_rng(3).normal(size=(len(x), 4)).astype(dtype)
    res = _fit_both(dtype, lambda: _mlp(dtype, out_act=out_act), spec, x, y,
                    metrics=["mae"] if target == "regression" else ["accuracy"])
    _assert_same(*res, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_activation_layers_weights_and_validation_match_the_cpu(cuda_plan, dtype):
    x, y = _data(dtype, n=61)
    xv, yv = _data(dtype, n=20, seed=9)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, size=len(x))

    def build():
        extra = [layers.LeakyReLU(0.3), layers.Dropout(0.25, seed=3), layers.ELU(0.7)]
        return _mlp(dtype, acts=("gelu", "silu"), dropout=0.3, extra=extra)

    res = _fit_both(dtype, build, "sparse_categorical_crossentropy", x, y,
                    optimizer=lambda: "adam", weighted_metrics=["accuracy"], sample_weight=sw,
                    class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.0}, shuffle=True,
                    validation_data=(xv, yv))
    _assert_same(*res, dtype)
    (hc, mc), (hd, md) = res
    assert "val_loss" in hd and "weighted_accuracy" in hd
    np.testing.assert_allclose(md.predict(xv, verbose=0), mc.predict(xv, verbose=0),
                               **_tol(dtype))
    np.testing.assert_allclose(md.evaluate(xv, yv, verbose=0), mc.evaluate(xv, yv, verbose=0),
                               **_tol(dtype))


CONV_MODELS = {
    "conv2d": ((8, 8, 2), lambda: [
        layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, padding="same", groups=2), layers.Activation("tanh"),
        layers.Dropout(0.2, seed=11), layers.AveragePooling2D(2, padding="same"),
        layers.Flatten(), layers.Dense(4, activation="softmax")]),
    "conv1d": ((12, 3), lambda: [
        layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="gelu"),
        layers.AveragePooling1D(2), layers.Conv1D(5, 2, strides=2),
        layers.MaxPooling1D(2, strides=1, padding="same"), layers.GlobalAveragePooling1D(),
        layers.Dense(4)]),
    "conv1d_text": ((20, 3), lambda: [  # the text-CNN pattern; ReLU zeros make max ties
        layers.Conv1D(6, 3, activation="relu"), layers.GlobalMaxPooling1D(),
        layers.Dense(4, activation="softmax")]),
    "conv2d_gmax": ((5, 5, 2), lambda: [
        layers.Conv2D(3, 2, activation="relu6"), layers.GlobalMaxPooling2D(keepdims=True),
        layers.Flatten(), layers.Dense(4, activation="softmax")]),
    "conv3d": ((4, 5, 6, 1), lambda: [
        layers.Conv3D(3, 2, activation="elu"), layers.AveragePooling3D(2),
        layers.GlobalAveragePooling3D(keepdims=True), layers.Flatten(),
        layers.Dense(4, activation="softmax")]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("frozen", [False, True])
def test_batch_normalization_on_the_device_matches_the_cpu(cuda_plan, dtype, frozen):
    rng = np.random.default_rng(12)
    x = (rng.normal(size=(45, 6, 6, 2)) * 3 + 1).astype(dtype)
    y = rng.integers(0, 4, size=45)

    def build():
        fk.utils.set_random_seed(5)
        model = fk.Sequential([
            layers.Input((6, 6, 2)), layers.Conv2D(4, 3, use_bias=False),
            layers.BatchNormalization(momentum=0.9, name="bn1"), layers.ReLU(),
            layers.Flatten(), layers.Dense(8, use_bias=False),  # BN removes a bias
            layers.BatchNormalization(center=False, epsilon=0.01, gamma_regularizer="l2"),
            layers.Activation("tanh"),
            layers.BatchNormalization(scale=False, name="bn3"),
            layers.Dense(4, activation="softmax")])
        moved = np.random.default_rng(13)  # statistics and scales away from 0 / 1
        model.set_weights([w + moved.uniform(0.1, 0.5, size=w.shape).astype(dtype)
                           if "variance" in w.name or "gamma" in w.name else w
                           for w in model.weights])
        if frozen:
            model.get_layer("bn1").trainable = False
            model.get_layer("bn3").trainable = False
        return model

    res = _fit_both(dtype, build, "sparse_categorical_crossentropy", x, y,
                    validation_data=(x[:11], y[:11]))
    _assert_same(*res, dtype)
    for wc, wd in zip(res[0][1].non_trainable_weights, res[1][1].non_trainable_weights):
        np.testing.assert_allclose(wd.numpy(), wc.numpy(), **_tol(dtype))  # moving stats


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l1_l2_regularizers_on_the_device_match_the_cpu(cuda_plan, dtype):
    x, y = _data(dtype, n=40)

    def build():
        fk.utils.set_random_seed(5)
        model = fk.Sequential([
            layers.Input((3, 4, 1)),
            layers.Conv2D(3, 2, kernel_regularizer=fk.regularizers.L2(0.02),
                          bias_regularizer="l1"),
            layers.Flatten(),
            layers.Dense(8, activation="relu", kernel_regularizer="l1_l2", name="frozen"),
            layers.Dense(4, activation="softmax",
                         kernel_regularizer=fk.regularizers.L1L2(l1=0.003, l2=0.01))])
        model.get_layer("frozen").trainable = False  # its penalty still counts
        return model

    res = _fit_both(dtype, build, "sparse_categorical_crossentropy", x[..., None], y,
                    optimizer=lambda: optimizers.SGD(0.1, momentum=0.5), metrics=(),
                    batch_size=8, validation_data=(x[:10, ..., None], y[:10]))
    _assert_same(*res, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CONV_MODELS))
def test_conv_models_on_the_device_match_the_cpu(cuda_plan, dtype, case):
    shape, stack = CONV_MODELS[case]
    rng = np.random.default_rng(6)
    x = rng.normal(size=(37,) + shape).astype(dtype)
    y = rng.integers(0, 4, size=37)

    def build():
        fk.utils.set_random_seed(2)
        return fk.Sequential([layers.Input(shape)] + stack())

    loss = "sparse_categorical_crossentropy" if case != "conv1d" else \
        (lambda: losses.SparseCategoricalCrossentropy(from_logits=True))
    res = _fit_both(dtype, build, loss, x, y, batch_size=8, epochs=2,
                    validation_data=(x[:9], y[:9]))
    _assert_same(*res, dtype)
    np.testing.assert_allclose(res[1][1].predict(x, verbose=0), res[0][1].predict(x, verbose=0),
                               **_tol(dtype))


def test_functional_model_frozen_layer_and_on_batch_methods(cuda_plan):
    def build():
        fk.utils.set_random_seed(4)
        inp = fk.Input((12,))
        h = layers.Dense(10, activation="relu", name="frozen")(inp)
        h = layers.Dense(6, activation="selu")(h)
        out = layers.Softmax()(layers.Dense(3)(h))
        m = fk.Model(inp, out)
        m.get_layer("frozen").trainable = False
        return m

    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    models = []
    for device in ("cpu", "cuda"):
        m = build()
        m.compile(optimizer=optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], device=device, run_eagerly=device == "cpu")
        frozen = m.get_layer("frozen").get_weights()
        r1 = m.train_on_batch(x[:20], y[:20], return_dict=True)
        r2 = m.train_on_batch(x[20:], y[20:], return_dict=True)
        t = m.test_on_batch(x, y, return_dict=True)
        p = m.predict_on_batch(x)
        for a, b in zip(frozen, m.get_layer("frozen").get_weights()):
            np.testing.assert_array_equal(a, b)  # not trained, on either path
        models.append((r1, r2, t, p, m.get_weights()))
    (c1, c2, ct, cp, cw), (d1, d2, dt, dpred, dw) = models
    for a, b in ((c1, d1), (c2, d2), (ct, dt)):
        for k in a:
            np.testing.assert_allclose(b[k], a[k], rtol=2e-5)
    np.testing.assert_allclose(dpred, cp, rtol=2e-5, atol=1e-7)
    for a, b in zip(cw, dw):
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=1e-7)


def test_callbacks_see_and_set_the_host_weights(cuda_plan):
    x, y = _data(np.float32, n=64)
    seen = []

    class Watch(fk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])
            if epoch == 1:  # a host-side change the device must pick up
                ws = self.model.get_weights()
                self.model.set_weights([w * 0.5 for w in ws])

    res = []
    for device in ("cpu", "cuda"):
        model = _mlp(np.float32)
        model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9),
                      loss="sparse_categorical_crossentropy", device=device,
                      run_eagerly=device == "cpu")
        seen.clear()
        cbs = [Watch(), fk.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5),
               fk.callbacks.EarlyStopping(monitor="loss", patience=0,
                                          restore_best_weights=True)]
        h = model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0, callbacks=cbs)
        res.append((h.history, model, [s for s in seen]))
    (hc, mc, sc), (hd, md, sd) = res
    assert len(sc) == len(sd) >= 2
    for a, b in zip(sc, sd):  # the weights each epoch end saw
        for wa, wb in zip(a, b):
            np.testing.assert_allclose(wb, wa, rtol=2e-4, atol=2e-5)
    _assert_same((hc, mc), (hd, md), np.float32)


def test_set_weights_between_fits_and_set_device(cuda_plan):
    x, y = _data(np.float32)
    model = _mlp(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    config.set_device("cuda")
    try:
        assert model.device == "cuda"
        model.fit(x, y, epochs=1, verbose=0)
        zeros = [np.zeros_like(w) for w in model.get_weights()]
        model.set_weights(zeros)
        np.testing.assert_array_equal(model.predict(x, verbose=0), np.full((50, 4), 0.25))
        assert config.get_device() == "cuda"
    finally:
        config.set_device("cpu")
    assert model.device == "cpu"


def test_under_set_device_other_models_run_on_the_cpu_with_a_warning(cuda_plan):
    def build():
        fk.utils.set_random_seed(1)
        return fk.Sequential([layers.Input((5, 3)), layers.LSTM(4, name="lstm"),
                              layers.Dense(2)])

    x = np.random.default_rng(0).normal(size=(12, 5, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(12, 2)).astype(np.float32)
    cpu = build()
    cpu.compile(optimizer="sgd", loss="mse")
    cpu.fit(x, y, epochs=2, verbose=0)
    want = cpu.predict(x, verbose=0)
    config.set_device("cuda")
    try:
        m = build()
        m.compile(optimizer="sgd", loss="mse")
        with pytest.warns(UserWarning, match="runs on the CPU: .*'lstm' \\(LSTM\\)"):
            m.fit(x, y, epochs=2, verbose=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # said once per model and reason
            p = m.predict(x, verbose=0)
        np.testing.assert_allclose(p, want, rtol=1e-6)
        strict = build()
        strict.compile(optimizer="sgd", loss="mse", device="cuda")  # asked for: refused
        with pytest.raises(ValueError, match="'lstm'"):
            strict.fit(x, y, verbose=0)
    finally:
        config.set_device("cpu")


def _refusal(build, loss="sparse_categorical_crossentropy", opt="adam", match=""):
    m = build()
    m.compile(optimizer=opt, loss=loss, device="cuda")
    x = np.zeros((4,) + tuple(m.inputs[0].shape[1:]), np.float32)
    before = [w.copy() for w in m.get_weights()]
    with pytest.raises(ValueError, match=match):
        m.fit(x, np.zeros(4, np.int64), verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_what_the_device_cannot_train_is_refused_naming_it(cuda_plan):
    def spatial(layer, shape=(8, 8, 1)):
        return lambda: fk.Sequential([layers.Input(shape), layer, layers.Flatten(),
                                      layers.Dense(2)])

    _refusal(spatial(layers.Conv2DTranspose(2, 3, name="up")), match="'up'.*Conv2DTranspose")
    _refusal(spatial(layers.DepthwiseConv2D(3)), match="DepthwiseConv2D")
    _refusal(spatial(layers.Conv2D(2, 3, data_format="channels_first"), (1, 8, 8)),
             match="channels_first")
    _refusal(spatial(layers.MaxPooling3D(2), (4, 4, 4, 1)), match="3-D max pooling")
    _refusal(spatial(layers.ZeroPadding2D(1)), match="ZeroPadding2D.*has no fast path")
    _refusal(spatial(layers.BatchNormalization(axis=1)), match="another axis than the last")
    _refusal(lambda: fk.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(2, 3)]),
             match="per-sample shape")
    class Custom(fk.regularizers.Regularizer):
        def __call__(self, x):
            return fk.ops.sum(x)

    reg = lambda: fk.Sequential([layers.Input((4,)),  # noqa: E731
                                 layers.Dense(2, kernel_regularizer=Custom())])
    _refusal(reg, match="kernel_regularizer other than L1")
    con = lambda: fk.Sequential([layers.Input((4,)),  # noqa: E731
                                 layers.Dense(2, bias_constraint="non_neg")])
    _refusal(con, match="bias_constraint")
    dense3d = lambda: fk.Sequential([layers.Input((3, 4)), layers.Dense(2)])  # noqa: E731
    _refusal(dense3d, match=r"shape \(3, 4\): flatten them first")
    mixed = lambda: fk.Sequential([layers.Input((4,)), layers.Dense(3),  # noqa: E731
                                   layers.Activation("relu", dtype="float64"),
                                   layers.Dense(2)])
    _refusal(mixed, match="computes in float64")
    mlp = lambda: fk.Sequential([layers.Input((4,)), layers.Dense(2)])  # noqa: E731
    _refusal(mlp, loss="huber", match="'huber'")
    _refusal(mlp, loss=lambda t, p: fk.ops.mean(p), match="not one of them")
    _refusal(mlp, opt=optimizers.Adam(clipnorm=1.0), match="clipnorm")
    _refusal(mlp, opt=optimizers.SGD(use_ema=True), match="use_ema")
    _refusal(mlp, loss=losses.SparseCategoricalCrossentropy(ignore_class=0),
             match="ignore_class")

    class Custom(fk.Model):
        def train_step(self, data):
            return super().train_step(data)

    inp = fk.Input((4,))
    c = Custom(inp, layers.Dense(2)(inp))
    c.compile(optimizer="sgd", loss="mse", device="cuda")
    with pytest.raises(ValueError, match="own train_step"):
        c.fit(np.zeros((2, 4)), np.zeros((2, 2)), verbose=0)
    two = fk.Input((4,)), fk.Input((4,))
    branchy = fk.Model(list(two), layers.Dense(1)(layers.Concatenate()(list(two))))
    branchy.compile(optimizer="sgd", loss="mse", device="cuda")
    with pytest.raises(ValueError, match="one chain"):
        branchy.predict([np.zeros((2, 4))] * 2, verbose=0)


def test_bad_batches_on_the_device_are_python_errors(cuda_plan):
    model = _mlp(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cuda")
    x, y = _data(np.float32, n=8)
    with pytest.raises(ValueError, match="label"):
        model.fit(x, y + 10, verbose=0)
    with pytest.raises(ValueError, match=r"per-sample shape \(5,\), the model expects"):
        model.predict(np.zeros((3, 5)), verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full_like(x, np.nan), y, verbose=0)
    with pytest.raises(ValueError, match="label"):
        model.fit(x, y.astype(float) + 0.5 * np.nan, verbose=0)


def test_device_names_are_checked():
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        config.set_device("tpu")
    with pytest.raises(TypeError, match="string"):
        config.set_device(0)
    config.set_device("/CPU:0")
    assert config.get_device() == "cpu"
    m = fk.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        m.compile(loss="mse", device="npu")


def test_gemm_backend_choice():
    with pytest.raises(ValueError, match="'cublas' or 'tiled'"):
        fk.cuda.gemm_backend("mkl")
    assert fk.cuda.gemm_backend() in ("cublas", "tiled")
    if not info["cuda_compiled"]:
        assert fk.cuda.gemm_backend("cublas") == "tiled"  # nothing to load in a CPU build


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_cuda_without_a_device_is_a_clear_error():
    expected = "no CUDA device available"
    with pytest.raises(RuntimeError, match=expected):
        config.set_device("cuda")
    assert config.get_device() == "cpu"
    m = fk.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(RuntimeError, match=expected):
        m.compile(loss="mse", device="gpu")
    with pytest.raises(RuntimeError, match=expected):
        dp.CudaOps()


# ---------------------------------------------------------------- the primitives, on a GPU
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_primitives_match_the_host(monkeypatch, dtype):
    """On a GPU: every CUDA primitive against the host's. Elsewhere the same calls run on
    the emulated device (CudaOps' marshalling, and this test itself, are checked)."""
    rng = np.random.default_rng(0)
    h = dp.HostOps()
    c = dp.CudaOps() if has_device else _emulated()[1]
    if not has_device:
        monkeypatch.setattr(fk.cuda, "gemm_backend", lambda name=None: "tiled")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)

    def both(*arrays):
        return [a.astype(dtype) for a in arrays], [c.upload(a.astype(dtype)) for a in arrays]

    backends = ["tiled"] + (["cublas"] if fk.cuda.gemm_backend("cublas") == "cublas" else [])
    for backend, ta, tb in [(be, ta, tb) for be in backends for ta in (0, 1) for tb in (0, 1)]:
        fk.cuda.gemm_backend(backend)
        for (m, n, k) in ((1, 1, 1), (37, 19, 53), (130, 65, 0), (64, 300, 17)):
            a = rng.normal(size=(k, m) if ta else (m, k))
            b = rng.normal(size=(n, k) if tb else (k, n))
            y0 = rng.normal(size=(m, n))
            (ha, hb, hy), (da, db, dy) = both(a, b, y0)
            for beta in (0.0, 0.5):
                hy2, dy2 = hy.copy(), c.upload(hy)
                h.gemm(ha, hb, hy2, ta, tb, beta)
                c.gemm(da, db, dy2, ta, tb, beta)
                np.testing.assert_allclose(c.download(dy2), hy2, **tol,
                                           err_msg=f"{backend} ta={ta} tb={tb} beta={beta}")
    fk.cuda.gemm_backend(backends[-1])
    from fastkeras._kernels import elementwise

    z = rng.normal(size=(33, 70)) * 3
    b = rng.normal(size=70)
    g = rng.normal(size=(33, 70))
    for kind in list(elementwise.KINDS.values()) + [dp.LINEAR.code, dp.SOFTMAX.code]:
        (hz, hb, hg), (dz, dbias, dg) = both(z, b, g)
        hy, dy = np.empty_like(hz), c.empty(hz.shape, dtype)
        h.bias_act(hz, hb, hy, kind, 0.3)
        c.bias_act(dz, dbias, dy, kind, 0.3)
        np.testing.assert_allclose(c.download(dz), hz, **tol)
        np.testing.assert_allclose(c.download(dy), hy, **tol)
        hd, dd = np.empty_like(hz), c.empty(hz.shape, dtype)
        h.act_bwd(kind, 0.3, hz, hy, hg, hd)
        c.act_bwd(kind, 0.3, dz, dy, dg, dd)
        np.testing.assert_allclose(c.download(dd), hd, **tol)
    (hg,), (dg,) = both(g)
    hs, ds = np.empty(70, dtype), c.empty((70,), dtype)
    h.col_sum(hg, hs)
    c.col_sum(dg, ds)
    np.testing.assert_allclose(c.download(ds), hs, **tol)
    (hw, hgr), (dw_, dgr) = both(z, g)
    hv, dv = np.empty(1, dtype), c.empty((1,), dtype)
    h.regularize(hw, hgr, 0.01, 0.02, hv)
    c.regularize(dw_, dgr, 0.01, 0.02, dv)
    np.testing.assert_allclose(c.download(dgr), hgr, **tol)
    np.testing.assert_allclose(c.download(dv), hv, **tol)
    (hp, ht, hr), (dpp, dt, dr) = both(g, z, rng.uniform(size=33))
    for rs in (None, True):
        hl, dl = np.empty(33, dtype), c.empty((33,), dtype)
        hgr, dgr = np.empty_like(hp), c.empty(hp.shape, dtype)
        h.mse(hp, ht, hr if rs else None, 0.25, hgr, hl)
        c.mse(dpp, dt, dr if rs else None, 0.25, dgr, dl)
        np.testing.assert_allclose(c.download(dl), hl, **tol)
        np.testing.assert_allclose(c.download(dgr), hgr, **tol)
    labels = rng.integers(0, 70, size=33)
    hl, dl = np.empty(33, dtype), c.empty((33,), dtype)
    hgr, dgr = np.empty_like(hp), c.empty(hp.shape, dtype)
    h.xent(True, hp, labels, hr, (True, 0.1, 1e-7, None, 0.5), hgr, hl)
    c.xent(True, dpp, c.upload(labels), dr, (True, 0.1, 1e-7, None, 0.5), dgr, dl)
    np.testing.assert_allclose(c.download(dl), hl, **tol)
    np.testing.assert_allclose(c.download(dgr), hgr, **tol)
    with pytest.raises(ValueError, match="device buffer"):
        c.gemm(da, db, c.empty((1, 1), dtype))
    from fastkeras.ops import convolution as conv_ops

    x = rng.normal(size=(3, 9, 7, 4))
    w = rng.normal(size=(3, 3, 2, 6))  # groups=2
    bias = rng.normal(size=6)
    geom, out = conv_ops.conv_geometry(3, (9, 7), 4, w.shape, (2, 1), "same", (1, 1))
    gy = rng.normal(size=(3,) + out + (6,))
    (hx, hw, hbias, hgy), (dx, dw, dbias, dgy) = both(x, w, bias, gy)
    for which, args, size in ((0, (hx, hw, hbias), gy.size), (1, (hgy, hw, None), x.size),
                              (2, (hx, hgy, None), w.size)):
        hy, dyy = np.empty(size, dtype), c.empty((size,), dtype)
        hdb, ddb = (np.empty(6, dtype), c.empty((6,), dtype)) if which == 2 else (None, None)
        dargs = {0: (dx, dw, dbias), 1: (dgy, dw, None), 2: (dx, dgy, None)}[which]
        h.conv(which, geom, *args, hy, hdb)
        c.conv(which, geom, *dargs, dyy, ddb)
        np.testing.assert_allclose(c.download(dyy), hy, **tol, err_msg=f"conv {which}")
        if which == 2:
            np.testing.assert_allclose(c.download(ddb), hdb, **tol)
    # global max pooling with many ties: the gradient shared as the tape's ops.max shares it
    xt = rng.integers(0, 3, size=(4, 7, 5)).astype(dtype)
    gt = rng.normal(size=(4, 5)).astype(dtype)
    v = fk.Variable(xt)
    with fk.GradientTape() as tape:
        ref = fk.ops.max(v, axis=1)
    want = tape.gradient(ref, v, output_gradients=gt)
    (hxt, hgt), (dxt, dgt) = both(xt, gt)
    hm, dm = np.empty((4, 5), dtype), c.empty((4, 5), dtype)
    h.global_max(0, hxt, None, None, hm)
    c.global_max(0, dxt, None, None, dm)
    np.testing.assert_array_equal(c.download(dm), np.asarray(ref))
    np.testing.assert_array_equal(hm, np.asarray(ref))
    hd, dd = np.empty_like(hxt), c.empty(xt.shape, dtype)
    h.global_max(1, hxt, hm, hgt, hd)
    c.global_max(1, dxt, dm, dgt, dd)
    np.testing.assert_allclose(hd, np.asarray(want), **tol)
    np.testing.assert_allclose(c.download(dd), np.asarray(want), **tol)
    for kind in range(4):  # batch normalization: training / inference, forward / backward
        (hx2, hg2, hgam, hbeta, hst, hmv), (dx2, dg2, dgam, dbeta, dst, dmv) = both(
            z, g, b[:70] + 1, b[:70] * 0.5, np.abs(np.concatenate([b, b])[:140]) + 0.1,
            np.abs(np.concatenate([b, b])[:140]) + 0.2)
        hy, dyy = np.empty((33, 70), dtype), c.empty((33, 70), dtype)
        hz, dz_ = np.empty(140, dtype), c.empty((140,), dtype)
        args_h = {0: (hx2, hgam, hbeta, None, hy, hz, hmv), 1: (hx2, hgam, hbeta, hst, hy, None,
                                                                None),
                  2: (hx2, hgam, hg2, hst, hy, hz, None), 3: (None, hgam, hg2, hst, hy, None,
                                                               None)}[kind]
        args_d = {0: (dx2, dgam, dbeta, None, dyy, dz_, dmv), 1: (dx2, dgam, dbeta, dst, dyy,
                                                                   None, None),
                  2: (dx2, dgam, dg2, dst, dyy, dz_, None), 3: (None, dgam, dg2, dst, dyy, None,
                                                                 None)}[kind]
        h.batchnorm(kind, *args_h, 1e-3, 0.9)
        c.batchnorm(kind, *args_d, 1e-3, 0.9)
        np.testing.assert_allclose(c.download(dyy), hy, **tol, err_msg=f"batchnorm {kind}")
        if kind in (0, 2):
            np.testing.assert_allclose(c.download(dz_), hz, **tol)
        if kind == 0:
            np.testing.assert_allclose(c.download(dmv), hmv, **tol)
    pgeom, pout = conv_ops.pool_geometry(3, (9, 7), 4, (2, 3), (2, 2), "same")
    py = rng.normal(size=(3,) + pout + (4,))
    (hpy,), (dpy,) = both(py)
    for is_max in (True, False):
        hy, dyy = np.empty(py.size, dtype), c.empty((py.size,), dtype)
        ha = np.empty(py.size, np.uint8) if is_max else None
        da_ = c.empty((py.size,), np.uint8) if is_max else None
        h.pool(0 if is_max else 2, pgeom, hx, hy, ha)
        c.pool(0 if is_max else 2, pgeom, dx, dyy, da_)
        np.testing.assert_allclose(c.download(dyy), hy, **tol)
        hgx, dgx = np.empty(x.size, dtype), c.empty((x.size,), dtype)
        h.pool(1 if is_max else 3, pgeom, hpy, hgx, ha)
        c.pool(1 if is_max else 3, pgeom, dpy, dgx, da_)
        np.testing.assert_allclose(c.download(dgx), hgx, **tol)


# ------------------------------------------- CudaOps' marshalling, on an emulated device
class _Memory:
    """Device memory emulated by NumPy arrays keyed by fake addresses, and a reading of
    device_ops.h's contract written independently of HostOps: CudaOps (the sizes,
    pointers and flags it passes to the C entry point) runs the whole plan on it."""

    def __init__(self):
        self.arrays, self.next, self.calls = {}, 4096, []
        mem = self

        class DeviceArray:
            def __init__(self, shape, dtype="float32"):
                self.shape, self.dtype = tuple(shape), np.dtype(dtype)
                self._ptr = mem.alloc(np.full(self.shape, np.nan if self.dtype.kind == "f"
                                              else 77, self.dtype))

            @classmethod
            def from_host(cls, a):
                out = cls(a.shape, a.dtype)
                mem.arrays[out._ptr][...] = a
                return out

        class Core:
            @staticmethod
            def cuda_copy(ptr, host, to_host):
                dev = mem.resolve(ptr, host.size, host.dtype)
                if to_host:
                    host.reshape(-1)[...] = dev
                else:
                    dev[...] = host.reshape(-1)

        self.DeviceArray = DeviceArray
        self._core = lambda: Core
        self.to_host = lambda a: mem.resolve(a._ptr, int(np.prod(a.shape)),
                                             a.dtype).reshape(a.shape).copy()

    def alloc(self, arr):
        ptr = self.next
        self.arrays[ptr] = arr
        self.next += (arr.nbytes // 4096 + 2) * 4096
        return ptr

    def resolve(self, p, count, dtype):
        """`count` elements of `dtype` at address p (inside some allocation)."""
        for base, arr in self.arrays.items():
            if base <= p < base + max(arr.nbytes, 1):
                assert arr.dtype == np.dtype(dtype), (arr.dtype, dtype)
                off = (p - base) // arr.dtype.itemsize
                flat = arr.reshape(-1)
                assert off + count <= flat.size, "read past an allocation"
                return flat[off:off + count]
        raise AssertionError(f"no allocation at {p:#x}")

    def optimizer_step(self, args, params, grads, slots):
        from fastkeras._kernels import optim as _ko

        get = lambda lst: [None if a is None else self.resolve(  # noqa: E731
            a._ptr, int(np.prod(a.shape)), a.dtype).reshape(a.shape) for a in lst]
        _ko.step(args, get(params), get(grads), [get(s) for s in slots], None, None, 1)

    def run(self, op, f64, m, n, k=0, a=0, b=0, c=0, d=0, y=0, z=0, w=0, kind=-1, ta=False,
            tb=False, alpha=0.0, beta=0.0, xent=None, conv=None, pool=None):
        self.calls.append(op)
        dt = np.float64 if f64 else np.float32
        M = lambda p, shape, kind_=dt: None if not p else self.resolve(  # noqa: E731
            p, int(np.prod(shape)), kind_).reshape(shape)
        if op == "gemm":
            A = M(a, (k, m) if ta else (m, k))
            B = M(b, (n, k) if tb else (k, n))
            Y = M(y, (m, n))
            prod = (A.T if ta else A) @ (B.T if tb else B)
            Y[...] = prod if beta == 0 else prod + dt(beta) * Y
        elif op == "bias_act":
            Z, Y = M(z, (m, n)), M(y, (m, n))
            if b:
                Z += M(b, (n,))
            dp.HostOps().bias_act(Z, None, Y if y != z else Z, kind, alpha)
        elif op == "act_bwd":
            dp.HostOps().act_bwd(kind, alpha, M(a, (m, n)), M(b, (m, n)), M(c, (m, n)),
                                 M(y, (m, n)))
        elif op == "col_sum":
            M(y, (n,))[...] = M(a, (m, n)).sum(axis=0)
        elif op == "mul":
            M(y, (m, n))[...] = M(a, (m, n)) * M(b, (m, n))
        elif op == "global_max":
            dp.HostOps().global_max(kind, M(a, (m, k, n)), M(b, (m, n)), M(c, (m, n)),
                                    M(y, (m, n) if kind == 0 else (m, k, n)))
        elif op == "batchnorm":
            dp.HostOps().batchnorm(kind, M(a, (m, n)), M(b, (n,)),
                                   M(c, (n,) if kind <= 1 else (m, n)), M(d, (2 * n,)),
                                   M(y, (m, n)), M(z, (2 * n,)), M(w, (2 * n,)), alpha, beta)
        elif op == "regularize":
            dp.HostOps().regularize(M(a, (n,)), M(y, (n,)), alpha, beta, M(z, (1,)))
        elif op == "gather":
            M(y, (m, n))[...] = M(a, (k, n))[M(b, (m,), np.int64)]
        elif op == "mse":
            d = M(a, (m, n)) - M(b, (m, n))
            M(z, (m,))[...] = np.mean(d * d, axis=1)
            if y:
                rs = M(c, (m,))
                M(y, (m, n))[...] = d * (dt(2) / dt(n) * dt(alpha) *
                                         (rs[:, None] if rs is not None else dt(1)))
        elif op == "conv":
            g = conv
            nx = g["n"] * int(np.prod(g["in"])) * g["cin"]
            ny = g["n"] * int(np.prod(g["out"])) * g["cout"]
            nw = int(np.prod(g["k"])) * g["cin"] // g["groups"] * g["cout"]
            sizes = {0: (nx, nw, ny), 1: (ny, nw, nx), 2: (nx, ny, nw)}[kind]
            A, B, Y = (M(p, (sz,)) for p, sz in zip((a, b, y), sizes))
            dp.HostOps().conv(kind, conv, A, B, M(c, (g["cout"],)), Y, M(z, (g["cout"],)))
        elif op == "pool":
            g = pool
            nx = g["n"] * int(np.prod(g["in"])) * g["c"]
            ny = g["n"] * int(np.prod(g["out"])) * g["c"]
            fwd = kind in (0, 2)
            arg = M(b if kind == 1 else z, (ny,), np.uint8)
            dp.HostOps().pool(kind, pool, M(a, (nx if fwd else ny,)),
                              M(y, (ny if fwd else nx,)), arg)
        else:
            sparse = op == "xent_sparse"
            labels = M(b, (m,), np.int64) if sparse else M(b, (m, n))
            dp.HostOps().xent(sparse, M(a, (m, n)), labels, M(c, (m,)), xent,
                              M(y, (m, n)) if y else None, M(z, (m,)))

    def device_array(self, host):
        """A CuPy-like array in this memory: only __cuda_array_interface__."""
        host = np.ascontiguousarray(host)
        ptr = self.alloc(host.copy())

        class Fake:
            __cuda_array_interface__ = {"shape": host.shape, "typestr": host.dtype.str,
                                        "data": (ptr, False), "version": 3}
        return Fake()


def _emulated(monkeypatch=None, patch_ops=True):
    """(memory, CudaOps over it); with monkeypatch, device='cuda' is allowed and (patch_ops)
    every device plan gets these ops."""
    mem = _Memory()
    ops = dp.CudaOps.__new__(dp.CudaOps)
    ops._cuda, ops._run = mem, mem.run
    if monkeypatch is not None:
        monkeypatch.setattr(fk.cuda, "is_available", lambda: True)
        if patch_ops:
            monkeypatch.setattr(plan_module, "ops_for", lambda d: ops)
    return mem, ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["sparse", "dense", "mse", "conv"])
def test_cuda_ops_marshalling_runs_the_plan_like_the_host(monkeypatch, dtype, loss):
    mem, ops = _emulated(monkeypatch, patch_ops=False)
    x, y = _data(dtype, n=37)
    if loss not in ("sparse", "conv"):
        y = np.eye(4, dtype=dtype)[y]
    if loss == "conv":
        x = x[..., None]
    sw = np.linspace(0.5, 1.5, len(x))
    res = []
    for which in (dp.HostOps(), ops):
        monkeypatch.setattr(plan_module, "ops_for", lambda device, o=which: o)
        old = _floatx(dtype)
        try:
            if loss == "conv":
                fk.utils.set_random_seed(2)
                model = fk.Sequential([layers.Input((3, 4, 1)),
                                       layers.Conv2D(3, 2, padding="same", activation="relu",
                                                     kernel_regularizer="l1_l2"),
                                       layers.BatchNormalization(),
                                       layers.MaxPooling2D(2, strides=1),
                                       layers.Conv2D(2, 2, groups=1), layers.Dropout(0.3),
                                       layers.AveragePooling2D((1, 2)),
                                       layers.GlobalMaxPooling2D(),
                                       layers.Dense(4, activation="softmax")])
            else:
                model = _mlp(dtype, dropout=0.2,
                             out_act="softmax" if loss == "sparse" else "linear")
            spec = {"sparse": "sparse_categorical_crossentropy", "mse": "mse",
                    "conv": "sparse_categorical_crossentropy",
                    "dense": losses.CategoricalCrossentropy(from_logits=True,
                                                            label_smoothing=0.1)}[loss]
            model.compile(optimizer=optimizers.Adam(0.01), loss=spec, device="cuda")
            h = model.fit(x, y, sample_weight=sw, batch_size=8, epochs=2, verbose=0)
            p = model.predict(x, verbose=0)
        finally:
            config.set_floatx(old)
        res.append((h.history["loss"], model.get_weights(), p))
    (lh, wh, ph), (lc, wc, pc) = res
    np.testing.assert_allclose(lc, lh, **_tol(dtype))
    np.testing.assert_allclose(pc, ph, **_tol(dtype))
    for a, b in zip(wh, wc):
        np.testing.assert_allclose(b, a, **_tol(dtype))
    assert {"gemm", "bias_act", "act_bwd", "col_sum", "mul"} <= set(mem.calls)
    if loss == "conv":
        assert {"conv", "pool", "regularize", "batchnorm", "global_max"} <= set(mem.calls)


def test_cuda_ops_refuse_mismatched_buffers():
    mem, ops = _emulated()
    a, b = mem.DeviceArray((3, 4)), mem.DeviceArray((4, 5))
    with pytest.raises(ValueError, match=r"gemm y: device buffer \(3, 4\)"):
        ops.gemm(a, b, mem.DeviceArray((3, 4)))
    with pytest.raises(ValueError, match="gemm b"):
        ops.gemm(a, mem.DeviceArray((5, 4)), mem.DeviceArray((3, 5)))
    with pytest.raises(ValueError, match="float64"):
        ops.mul(a, mem.DeviceArray((3, 4), "float64"), a)
    with pytest.raises(ValueError, match="xent labels"):
        ops.xent(True, a, mem.DeviceArray((3,), "int32"), None, (1, 0, 1e-7, None, 1),
                 None, mem.DeviceArray((3,)))
    assert mem.calls == []


@pytest.mark.parametrize("shuffle", [False, True])
def test_device_inputs_are_used_where_they_are(monkeypatch, shuffle):
    """x already in GPU memory: a device model takes its rows in place (slices) or gathers
    them on the device (shuffled batches), never through the host; a CPU model copies it
    to the host once."""
    mem, ops = _emulated(monkeypatch, patch_ops=False)
    monkeypatch.setattr(fk.cuda, "_core", mem._core)
    x, y = _data(np.float32, n=45)
    res = []
    for device, which in (("cpu", None), ("cuda", ops), ("cuda", dp.HostOps())):
        monkeypatch.setattr(plan_module, "ops_for", lambda d, o=which: o)
        model = _mlp(np.float32, dropout=0.1)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], device=device)
        # the host reference (HostOps) takes the same batches from a NumPy array
        xin = x if isinstance(which, dp.HostOps) else mem.device_array(x)
        copies = []
        real = dp.DeviceInput.to_host
        monkeypatch.setattr(dp.DeviceInput, "to_host",
                            lambda self: copies.append(1) or real(self))
        mem.calls.clear()
        h = model.fit(xin, y, batch_size=16, epochs=2, shuffle=shuffle, verbose=0,
                      validation_split=0.2)
        p = model.predict(xin, batch_size=20, verbose=0)
        e = model.evaluate(xin, y, verbose=0)
        res.append((h.history, p, e, model.get_weights()))
        if device == "cpu":
            assert len(copies) == 3  # fit, predict, evaluate: one copy each
        elif which is ops:
            assert copies == []  # never through the host
            assert ("gather" in mem.calls) == shuffle
    for other in res[1:]:
        for k in res[0][0]:
            np.testing.assert_allclose(other[0][k], res[0][0][k], rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(other[1], res[0][1], rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(other[2], res[0][2], rtol=2e-4, atol=2e-5)
        for a, b in zip(other[3], res[0][3]):
            np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)


def test_device_inputs_are_validated(monkeypatch):
    mem, ops = _emulated(monkeypatch)
    model = _mlp(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cuda")
    x, y = _data(np.float32, n=8)
    with pytest.raises(ValueError, match="holds float64, the model computes in float32"):
        model.predict(mem.device_array(x.astype(np.float64)), verbose=0)
    with pytest.raises(ValueError, match="per-sample shape"):
        model.predict(mem.device_array(x.reshape(8, 12)), verbose=0)
    bad = mem.device_array(x)
    bad.__cuda_array_interface__ = dict(bad.__cuda_array_interface__, strides=(4, 32, 8))
    with pytest.raises(ValueError, match="C-contiguous"):
        model.fit(bad, y, verbose=0)


def test_gpu_inference_of_conv_models_runs_through_the_plan(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    mem, ops = _emulated(monkeypatch)
    shape, stack = CONV_MODELS["conv2d"]
    fk.utils.set_random_seed(3)
    model = fk.Sequential([layers.Input(shape)] + stack())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    slots_before = len(model.optimizer.variables)
    x = np.random.default_rng(4).normal(size=(23,) + shape).astype(np.float32)
    cpu, gpu = model.compile_for_inference(), model.compile_for_inference(device="cuda")
    assert gpu.describe() == ["GPU plan: 8 steps (float32)"]
    assert len(model.optimizer.variables) == slots_before  # inference touches no slots
    np.testing.assert_allclose(gpu(x), cpu(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu(x, batch_size=5), cpu(x), rtol=1e-5, atol=1e-6)
    with ThreadPoolExecutor(4) as pool:  # calls are serialised: every result is whole
        outs = list(pool.map(lambda i: gpu(x[i:i + 7]), range(12)))
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, cpu(x[i:i + 7]), rtol=1e-5, atol=1e-6)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    gpu.refresh()
    np.testing.assert_allclose(gpu(x), model.compile_for_inference()(x), rtol=1e-5, atol=1e-6)


def test_calls_from_several_threads_take_turns_on_the_plan(cuda_plan):
    from concurrent.futures import ThreadPoolExecutor

    model = _mlp(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", device="cuda")
    x, y = _data(np.float32, n=64)
    inputs = [x[i:i + 9 + i % 5] for i in range(24)]
    with ThreadPoolExecutor(6) as pool:
        outs = list(pool.map(lambda a: model.predict(a, batch_size=4, verbose=0), inputs))
    for a, out in zip(inputs, outs):
        np.testing.assert_allclose(out, model.compile_for_inference()(a), rtol=1e-5,
                                   atol=1e-6)
    with ThreadPoolExecutor(2) as pool:  # a fit and predictions at once: each call whole
        fit = pool.submit(model.fit, x, y, epochs=3, batch_size=8, verbose=0)
        preds = [pool.submit(model.predict, x, verbose=0) for _ in range(4)]
        fit.result()
        for p in preds:
            assert p.result().shape == (64, 4) and np.isfinite(p.result()).all()
    np.testing.assert_allclose(model.predict(x, verbose=0), model.compile_for_inference()(x),
                               rtol=1e-5, atol=1e-6)


def test_a_model_that_falls_back_to_the_cpu_copies_device_inputs_once(monkeypatch):
    mem, ops = _emulated(monkeypatch)
    monkeypatch.setattr(fk.cuda, "_core", mem._core)
    x, y = _data(np.float32, n=20)
    config.set_device("cuda")
    try:
        model = _mlp(np.float32)
        model.compile(optimizer="adam", loss="huber")  # not on the device: the CPU trains
        copies = []
        real = dp.DeviceInput.to_host
        monkeypatch.setattr(dp.DeviceInput, "to_host",
                            lambda self: copies.append(1) or real(self))
        with pytest.warns(UserWarning, match="runs on the CPU: .*'huber'"):
            model.fit(mem.device_array(x), np.eye(4, dtype=np.float32)[y], epochs=2,
                      batch_size=8, verbose=0)
        assert copies == [1] and "gemm" not in mem.calls
        p = model.predict(mem.device_array(x), verbose=0)  # inference runs on the device
        assert "gemm" in mem.calls and copies == [1]
        np.testing.assert_allclose(p, model.compile_for_inference()(x), rtol=1e-5, atol=1e-6)
    finally:
        config.set_device("cpu")
