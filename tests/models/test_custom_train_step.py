"""Custom training code written for Keras 3 runs unchanged: what train_step / test_step /
predict_step receive, compute_loss / compute_metrics / get_metrics_result, model.metrics,
the keras-io guides ("Customizing what happens in fit()", "Writing a training loop from
scratch", the GAN that overrides train_step) and steps_per_epoch on data that runs out.
Each guide runs in tf.keras (Keras 3, tf.GradientTape) and in fastkeras (fk.GradientTape)
from the same initial weights; losses, metrics and weights must agree."""
import warnings

import numpy as np
import pytest

import fastkeras as fk

RTOL, ATOL = 2e-5, 1e-6


@pytest.fixture
def libs(tf):
    """(keras module, GradientTape) for tf.keras and for fastkeras."""
    import keras

    return [(keras, tf.GradientTape), (fk, fk.GradientTape)]


def _same_history(h_ref, h_ours, rtol=RTOL, atol=ATOL):
    assert list(h_ref.history) == list(h_ours.history) or \
        sorted(h_ref.history) == sorted(h_ours.history)
    for k in h_ref.history:
        np.testing.assert_allclose(h_ours.history[k], h_ref.history[k], rtol=rtol, atol=atol,
                                   err_msg=k)
    assert h_ours.epoch == h_ref.epoch


def _same_weights(ref, ours, rtol=RTOL, atol=ATOL):
    for a, b in zip(ref.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)


def _regression_data(seed=0, n=64, d=32):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x[:, :1] * 0.5 + rng.normal(size=(n, 1)) * 0.1).astype("float32")
    return x, y


# ------------------------------------------------------------------ what the steps receive
def _describe(d, top=True):
    """The batch's structure: the outer tuple exactly, inner lists / tuples alike (Keras
    turns lists into tuples), arrays by shape."""
    if isinstance(d, (tuple, list)):
        inner = ", ".join(_describe(v, False) for v in d)
        return f"tuple[{inner}]" if top else f"seq[{inner}]"
    if isinstance(d, dict):
        return "dict{" + ", ".join(f"{k}: {_describe(v, False)}" for k, v in d.items()) + "}"
    return "None" if d is None else f"array{tuple(int(s) for s in d.shape)}"


def _recording_run(K):
    seen = []

    class Recorder(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(1)

        def call(self, x):
            if isinstance(x, (list, tuple)):
                x = x[0]
            if isinstance(x, dict):
                x = x["a"]
            return self.dense(x)

        def train_step(self, data):
            seen.append("train " + _describe(data))
            return {"l": 0.0}

        def test_step(self, data):
            seen.append("test " + _describe(data))
            return {"l": 0.0}

        def predict_step(self, data):
            seen.append("predict " + _describe(data))
            x = data[0] if isinstance(data, tuple) else data
            return self(x)

    m = Recorder()
    m.compile("sgd", "mse", run_eagerly=True)
    x = np.ones((4, 3), np.float32)
    y = np.ones((4, 1), np.float32)
    sw = np.ones(4, np.float32)

    def only_x():
        while True:
            yield (x,)

    def x_and_y():
        while True:
            yield x, y

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.keras: shuffle ignored for generators
        m.fit(x, y, verbose=0)
        m.fit(x, y, sample_weight=sw, verbose=0)
        m.fit(x, verbose=0)
        m.fit([x, x], y, verbose=0)
        m.fit({"a": x}, y, verbose=0)
        m.fit(x, np.array([0, 1, 0, 1]), class_weight={0: 1.0, 1: 2.0}, verbose=0)
        m.fit(only_x(), steps_per_epoch=1, verbose=0)
        m.fit(x_and_y(), steps_per_epoch=1, verbose=0)
        m.fit(x, y, validation_data=(x, y), verbose=0)
        m.evaluate(x, y, verbose=0)
        m.evaluate(x, verbose=0)
        m.predict(x, verbose=0)
        m.predict([x, x], verbose=0)
        m.train_on_batch(x, y)
        m.train_on_batch(x)
        m.test_on_batch(x, y, sample_weight=sw)
        m.predict_on_batch(x)
    return seen


def test_steps_receive_the_batches_keras_packs(libs):
    (tk, _), (ours, _) = libs
    ref, got = _recording_run(tk), _recording_run(ours)
    assert got == ref
    # the cases the brief names, spelled out
    assert got[0] == "train tuple[array(4, 3), array(4, 1)]"  # x, y = data works
    assert got[1] == "train tuple[array(4, 3), array(4, 1), array(4,)]"
    assert got[2] == "train array(4, 3)"  # x alone, not a 1-tuple


def test_unpack_and_pack_helpers():
    from fastkeras.models.data_adapters import pack_x_y_sample_weight as pack
    from fastkeras.models.data_adapters import unpack_x_y_sample_weight as unpack

    x, y, sw = np.zeros(2), np.ones(2), np.full(2, 2.0)
    assert unpack(x) == (x, None, None)
    assert unpack((x,)) == (x, None, None)
    assert unpack([x, y]) == (x, y, None)
    assert unpack((x, y, sw)) == (x, y, sw)
    with pytest.raises(ValueError, match="found a tuple of 4"):
        unpack((x, y, sw, sw))
    assert pack(x) is x and pack([x, x]) == ([x, x],)
    assert pack(x, y) == (x, y) and pack(x, y, sw) == (x, y, sw)


# ------------------------------------------------------------------ the fit() guide
def _guide_high_level(K, Tape):
    """Customizing what happens in fit(): a first simple example."""

    class CustomModel(K.Model):
        def train_step(self, data):
            x, y = data
            with Tape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = K.Input(shape=(32,))
    outputs = K.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _guide_low_level(K, Tape, list_metrics=True):
    """Going lower-level: metrics made in __init__, compile() without a loss."""

    class CustomModel(K.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = K.metrics.Mean(name="loss")
            self.mae_metric = K.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = K.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            with Tape() as tape:
                y_pred = self(x, training=True)
                loss = self.loss_fn(y, y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    class Listed(CustomModel):
        @property
        def metrics(self):
            # listed here so that fit resets them at each epoch's start
            return [self.loss_tracker, self.mae_metric]

    inputs = K.Input(shape=(32,))
    outputs = K.layers.Dense(1)(inputs)
    model = (Listed if list_metrics else CustomModel)(inputs, outputs)
    model.compile(optimizer="adam")
    return model


def _guide_sample_weight(K, Tape):
    """Supporting sample_weight & class_weight (with the apply_gradients(zip) spelling)."""

    class CustomModel(K.Model):
        def train_step(self, data):
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                sample_weight = None
                x, y = data
            with Tape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply_gradients(zip(gradients, trainable_vars))
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

    inputs = K.Input(shape=(32,))
    outputs = K.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    return model


def _guide_test_step(K, Tape):
    """Providing your own evaluation step."""

    class CustomModel(K.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name != "loss":
                    metric.update_state(y, y_pred)
                else:
                    metric.update_state(loss)
            return {m.name: m.result() for m in self.metrics}

    inputs = K.Input(shape=(32,))
    outputs = K.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(loss="mse", metrics=["mae"])
    return model


def _both(libs, build, **kw):
    (tk, ttape), (ours, otape) = libs
    ref, mine = build(tk, ttape, **kw), build(ours, otape, **kw)
    mine.set_weights(ref.get_weights())
    return ref, mine


def test_guide_compute_loss_and_self_metrics_loop(libs):
    x, y = _regression_data()
    ref, ours = _both(libs, _guide_high_level)
    assert [m.name for m in ours.metrics] == [m.name for m in ref.metrics] == \
        ["loss", "compile_metrics"]
    h_ref = ref.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert list(h_ours.history) == ["loss", "mae"]  # compile_metrics' results merged in
    _same_history(h_ref, h_ours)
    _same_weights(ref, ours)


@pytest.mark.parametrize("list_metrics", [True, False])
def test_guide_metrics_made_in_init_are_reset_each_epoch(libs, list_metrics):
    x, y = _regression_data(1)
    ref, ours = _both(libs, _guide_low_level, list_metrics=list_metrics)
    assert [m.name for m in ours.metrics] == [m.name for m in ref.metrics]
    h_ref = ref.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    _same_history(h_ref, h_ours)
    _same_weights(ref, ours)
    # reset at each epoch: the last epoch's loss is the mean over its own 4 batches
    ours.loss_tracker.reset_state()
    assert float(ours.loss_tracker.result()) == 0.0


def test_guide_sample_weight(libs):
    x, y = _regression_data(2)
    sw = np.random.default_rng(3).uniform(0.1, 2.0, size=len(x)).astype("float32")
    ref, ours = _both(libs, _guide_sample_weight)
    h_ref = ref.fit(x, y, sample_weight=sw, epochs=3, batch_size=16, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, sample_weight=sw, epochs=3, batch_size=16, shuffle=False,
                      verbose=0)
    assert sorted(h_ours.history) == ["loss", "mae", "weighted_mae"]
    _same_history(h_ref, h_ours)
    _same_weights(ref, ours)


def test_guide_own_test_step(libs):
    x, y = _regression_data(4)
    ref, ours = _both(libs, _guide_test_step)
    d_ref = ref.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    d_ours = ours.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert sorted(d_ours) == sorted(d_ref) == ["loss", "mae"]
    for k in d_ref:
        np.testing.assert_allclose(d_ours[k], d_ref[k], rtol=RTOL)
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=16, verbose=0),
                               ref.evaluate(x, y, batch_size=16, verbose=0), rtol=RTOL)


# ------------------------------------------------------------------ the GAN
def _gan(K, Tape, img=8, latent_dim=4):
    """The guide's GAN (a discriminator and a generator trained by one train_step, each with
    its optimizer, given to an overridden compile), with DCGAN-style layers at a small
    size. The random numbers come from a seeded NumPy generator, the same in both runs."""
    L = K.layers
    discriminator = K.Sequential([
        K.Input(shape=(img, img, 1)),
        L.Conv2D(8, 3, strides=2, padding="same"), L.LeakyReLU(negative_slope=0.2),
        L.Conv2D(8, 3, strides=2, padding="same"), L.LeakyReLU(negative_slope=0.2),
        L.GlobalMaxPooling2D(), L.Dense(1)], name="discriminator")
    generator = K.Sequential([
        K.Input(shape=(latent_dim,)),
        L.Dense(2 * 2 * 8), L.LeakyReLU(negative_slope=0.2), L.Reshape((2, 2, 8)),
        L.Conv2DTranspose(8, 4, strides=2, padding="same"), L.LeakyReLU(negative_slope=0.2),
        L.Conv2DTranspose(8, 4, strides=2, padding="same"), L.LeakyReLU(negative_slope=0.2),
        L.Conv2D(1, 3, padding="same", activation="sigmoid")], name="generator")

    class GAN(K.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.rng = np.random.default_rng(1337)
            self.d_loss_tracker = K.metrics.Mean(name="d_loss")
            self.g_loss_tracker = K.metrics.Mean(name="g_loss")

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile(run_eagerly=True)  # the NumPy draws run at every step
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, real_images):
            if isinstance(real_images, tuple):
                real_images = real_images[0]
            batch_size = real_images.shape[0]
            z = self.rng.normal(size=(batch_size, self.latent_dim)).astype("float32")
            generated_images = self.generator(z)
            combined_images = K.ops.concatenate([generated_images, real_images], axis=0)
            labels = np.concatenate([np.ones((batch_size, 1)), np.zeros((batch_size, 1))])
            labels = (labels + 0.05 * self.rng.uniform(size=labels.shape)).astype("float32")
            with Tape() as tape:
                predictions = self.discriminator(combined_images)
                d_loss = self.loss_fn(labels, predictions)
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

            z = self.rng.normal(size=(batch_size, self.latent_dim)).astype("float32")
            misleading_labels = np.zeros((batch_size, 1), "float32")
            with Tape() as tape:
                predictions = self.discriminator(self.generator(z))
                g_loss = self.loss_fn(misleading_labels, predictions)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply(grads, self.generator.trainable_weights)

            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(),
                    "g_loss": self.g_loss_tracker.result()}

    gan = GAN(discriminator, generator, latent_dim)
    gan.compile(d_optimizer=K.optimizers.Adam(learning_rate=3e-3),
                g_optimizer=K.optimizers.Adam(learning_rate=3e-3),
                loss_fn=K.losses.BinaryCrossentropy(from_logits=True))
    return gan


@pytest.mark.parametrize("source", ["arrays", "generator"])
def test_gan_overriding_train_step_matches_keras(libs, source):
    (tk, ttape), (ours, otape) = libs
    ref, mine = _gan(tk, ttape), _gan(ours, otape)
    mine.discriminator.set_weights(ref.discriminator.get_weights())
    mine.generator.set_weights(ref.generator.get_weights())
    images = np.random.default_rng(5).uniform(size=(32, 8, 8, 1)).astype("float32")

    def batches():
        for i in range(0, 32, 8):
            yield (images[i:i + 8],)

    if source == "arrays":  # fit(x) alone: train_step gets the images, not a 1-tuple
        h_ref = ref.fit(images, batch_size=8, epochs=2, shuffle=False, verbose=0)
        h_ours = mine.fit(images, batch_size=8, epochs=2, shuffle=False, verbose=0)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h_ref = ref.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0)
        h_ours = mine.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0)
    assert mine.weights and not mine._own_vars()  # no weights of its own: the parts train
    assert list(h_ours.history) == ["d_loss", "g_loss"]
    _same_history(h_ref, h_ours, rtol=1e-4, atol=1e-5)
    _same_weights(ref.discriminator, mine.discriminator, rtol=1e-4, atol=1e-5)
    _same_weights(ref.generator, mine.generator, rtol=1e-4, atol=1e-5)
    assert int(mine.d_optimizer.iterations) == int(mine.g_optimizer.iterations) == \
        (8 if source == "arrays" else 4)


# ------------------------------------------------------------------ a loop from scratch
def _mlp(K, regularized=False):
    class ActivityRegularizationLayer(K.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * K.ops.sum(inputs))
            return inputs

    inputs = K.Input(shape=(16,), name="digits")
    x = K.layers.Dense(32, activation="relu")(inputs)
    if regularized:
        x = ActivityRegularizationLayer()(x)
    x = K.layers.Dense(32, activation="relu")(x)
    outputs = K.layers.Dense(10, name="predictions")(x)
    return K.Model(inputs=inputs, outputs=outputs)


def _loop_from_scratch(K, Tape, model, x, y, xv, yv, epochs=2, batch_size=16):
    optimizer = K.optimizers.SGD(learning_rate=5e-2)
    loss_fn = K.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = K.metrics.SparseCategoricalAccuracy()
    val_acc_metric = K.metrics.SparseCategoricalAccuracy()
    out = {"loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(epochs):
        for step in range(len(x) // batch_size):
            x_batch_train = x[step * batch_size:(step + 1) * batch_size]
            y_batch_train = y[step * batch_size:(step + 1) * batch_size]
            with Tape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
                loss_value += sum(model.losses)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            train_acc_metric.update_state(y_batch_train, logits)
            out["loss"].append(float(loss_value))
        out["train_acc"].append(float(train_acc_metric.result()))
        train_acc_metric.reset_state()
        for step in range(len(xv) // batch_size):
            val_logits = model(xv[step * batch_size:(step + 1) * batch_size], training=False)
            val_acc_metric.update_state(yv[step * batch_size:(step + 1) * batch_size],
                                        val_logits)
        out["val_acc"].append(float(val_acc_metric.result()))
        val_acc_metric.reset_state()
    return out


@pytest.mark.parametrize("regularized", [False, True])
def test_training_loop_from_scratch(libs, regularized):
    (tk, ttape), (ours, otape) = libs
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 16)).astype("float32")
    y = rng.integers(0, 10, size=64)
    xv = rng.normal(size=(32, 16)).astype("float32")
    yv = rng.integers(0, 10, size=32)
    ref, mine = _mlp(tk, regularized), _mlp(ours, regularized)
    mine.set_weights(ref.get_weights())
    r = _loop_from_scratch(tk, ttape, ref, x, y, xv, yv)
    o = _loop_from_scratch(ours, otape, mine, x, y, xv, yv)
    for k in r:
        np.testing.assert_allclose(o[k], r[k], rtol=RTOL, atol=ATOL, err_msg=k)
    _same_weights(ref, mine)


# ------------------------------------------------------------------ the model's API
def _two_outputs(K):
    i = K.Input((3,))
    a = K.layers.Dense(1, name="a")(i)
    b = K.layers.Dense(1, name="b")(i)
    return K.Model(i, [a, b])


@pytest.mark.parametrize("case", ["no_metrics", "metrics", "two_outputs"])
def test_metrics_order_names_and_evaluate_match_keras(libs, case):
    (tk, _), (ours, _) = libs
    rng = np.random.default_rng(7)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = rng.normal(size=(24, 1)).astype("float32")
    models = []
    for K in (tk, ours):
        if case == "two_outputs":
            m = _two_outputs(K)
            m.compile("sgd", ["mse", "mae"], metrics=[["mae"], ["mse"]])
        else:
            m = K.Sequential([K.Input((3,)), K.layers.Dense(1)])
            m.compile("sgd", "mse", metrics=None if case == "no_metrics" else
                      ["mse", "mae"], weighted_metrics=None if case == "no_metrics" else
                      ["mae"])
        models.append(m)
    ref, mine = models
    mine.set_weights(ref.get_weights())
    yy = [y, y] if case == "two_outputs" else y
    ref.fit(x, yy, batch_size=8, shuffle=False, verbose=0)
    mine.fit(x, yy, batch_size=8, shuffle=False, verbose=0)
    assert [m.name for m in mine.metrics] == [m.name for m in ref.metrics]
    d_ref = ref.evaluate(x, yy, batch_size=8, verbose=0, return_dict=True)
    d_ours = mine.evaluate(x, yy, batch_size=8, verbose=0, return_dict=True)
    assert sorted(d_ours) == sorted(d_ref)
    for k in d_ref:
        np.testing.assert_allclose(d_ours[k], d_ref[k], rtol=RTOL, err_msg=k)
    # the list comes in Keras' order, and log_names names its entries
    l_ref = ref.evaluate(x, yy, batch_size=8, verbose=0)
    l_ours = mine.evaluate(x, yy, batch_size=8, verbose=0)
    if case == "metrics":
        # Keras lists the weighted twin's value twice (once under its object's name "mae",
        # once as "weighted_mae"); fastkeras lists each log once
        assert len(l_ref) == len(l_ours) + 1
        np.testing.assert_allclose(l_ours, l_ref[:3] + l_ref[4:], rtol=RTOL)
    else:
        np.testing.assert_allclose(l_ours, l_ref, rtol=RTOL)
    assert mine.metrics_names == ref.metrics_names
    named = dict(zip(mine.log_names, np.atleast_1d(l_ours)))
    assert set(named) == set(d_ours)
    for k in named:
        np.testing.assert_allclose(named[k], d_ours[k], rtol=1e-12)
    r = ref.get_metrics_result()
    g = mine.get_metrics_result()
    assert sorted(g) == sorted(r) and all(type(v) is float for v in g.values())
    for k in r:
        np.testing.assert_allclose(g[k], float(r[k]), rtol=RTOL)
    if case == "metrics":  # the container's entries
        assert list(mine.metrics[1].result()) == list(ref.metrics[1].result()) == \
            ["mse", "mae", "weighted_mae"]
    mine.reset_metrics()
    ref.reset_metrics()
    assert mine.get_metrics_result() == {k: float(v) for k, v in
                                         ref.get_metrics_result().items()}


def test_metrics_held_as_attributes_are_listed_before_and_after_compile(libs):
    (tk, _), (ours, _) = libs
    got = []
    for K in (tk, ours):
        class WithTrackers(K.Model):
            def __init__(self):
                super().__init__()
                self.dense = K.layers.Dense(1)
                self.seen = K.metrics.Mean(name="seen")
                self.extras = [K.metrics.Sum(name="total")]

            def call(self, x):
                return self.dense(x)

        m = WithTrackers()
        before = [t.name for t in m.metrics]
        m.compile("sgd", "mse", metrics=["mae"])
        got.append((before, [t.name for t in m.metrics]))
    assert got[1] == got[0] == (["seen", "total"], ["loss", "compile_metrics", "seen", "total"])


def test_compute_loss_adds_regularization_and_checks_its_inputs(libs):
    (tk, _), (ours, _) = libs
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 3)).astype("float32")
    y = rng.normal(size=(6, 2)).astype("float32")
    sw = rng.uniform(size=6).astype("float32")
    values = []
    for K in (tk, ours):
        m = K.Sequential([K.Input((3,)), K.layers.Dense(
            2, kernel_regularizer=K.regularizers.L2(0.1))])
        m.compile("sgd", "mse")
        values.append((m, m(x)))
    (ref, p_ref), (mine, p_ours) = values
    mine.set_weights(ref.get_weights())
    p_ours = mine(x)
    for kw in (dict(), dict(sample_weight=sw)):
        a = ref.compute_loss(x=x, y=y, y_pred=p_ref, **kw)
        b = mine.compute_loss(x=x, y=y, y_pred=p_ours, **kw)
        np.testing.assert_allclose(float(b), float(a), rtol=1e-6)
    np.testing.assert_allclose(float(mine.compute_loss(x, y, p_ours, None, training=False)),
                               float(ref.compute_loss(x, y, p_ref, None, training=False)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="`y` is required"):
        mine.compute_loss(x=x, y=None, y_pred=p_ours)
    bare = fk.Sequential([fk.Input((3,)), fk.layers.Dense(2)])
    bare.compile("sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        bare.compute_loss(x=x, y=y, y_pred=bare(x))


def _loss_override(K, old_signature):
    """Keras' compute_loss docstring example (and the signature before Keras 3.3)."""

    class MyModel(K.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = K.metrics.Mean(name="loss")

        def reset_metrics(self):
            self.loss_tracker.reset_state()

        @property
        def metrics(self):
            return [self.loss_tracker]

    if old_signature:
        class Model(MyModel):
            def compute_loss(self, x, y, y_pred, sample_weight):
                loss = K.ops.mean((y_pred - y) ** 2)
                loss += sum(self.losses)  # (the docstring: ops.sum(self.losses))
                self.loss_tracker.update_state(loss)
                return loss
    else:
        class Model(MyModel):
            def compute_loss(self, x, y, y_pred, sample_weight, training=True):
                loss = K.ops.mean((y_pred - y) ** 2)
                loss += sum(self.losses)  # (the docstring: ops.sum(self.losses))
                self.loss_tracker.update_state(loss)
                return loss

    inputs = K.Input(shape=(10,), name="my_input")
    outputs = K.layers.Dense(10, kernel_regularizer=K.regularizers.L2(0.01))(inputs)
    model = Model(inputs, outputs)  # self.losses: the regularization
    model.compile(K.optimizers.SGD(0.05), loss="mse")
    return model


@pytest.mark.parametrize("old_signature", [False, True])
def test_compute_loss_override_drives_fit(libs, old_signature):
    (tk, _), (ours, _) = libs
    rng = np.random.default_rng(9)
    x = rng.normal(size=(40, 10)).astype("float32")
    y = rng.normal(size=(40, 10)).astype("float32")
    ref, mine = _loss_override(tk, old_signature), _loss_override(ours, old_signature)
    mine.set_weights(ref.get_weights())
    h_ref = ref.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    h_ours = mine.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    _same_history(h_ref, h_ours)
    _same_weights(ref, mine)
    np.testing.assert_allclose(float(mine.loss_tracker.result()),
                               float(ref.loss_tracker.result()), rtol=RTOL)


def test_compute_metrics_override(libs):
    (tk, _), (ours, _) = libs
    got = []
    rng = np.random.default_rng(10)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    for K in (tk, ours):
        class MyModel(K.Sequential):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.custom_metric = K.metrics.Mean(name="custom_metric")

            def compute_metrics(self, x, y, y_pred, sample_weight):
                metric_results = super().compute_metrics(x, y, y_pred, sample_weight)
                self.custom_metric.update_state(y_pred)
                metric_results["custom_metric"] = self.custom_metric.result()
                return metric_results

        m = MyModel([K.Input((4,)), K.layers.Dense(1)])
        m.compile(K.optimizers.SGD(0.05), "mse", metrics=["mae"])
        got.append(m)
    ref, mine = got
    mine.set_weights(ref.get_weights())
    h_ref = ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_ours = mine.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert sorted(h_ours.history) == ["custom_metric", "loss", "mae"]
    _same_history(h_ref, h_ours)


def test_a_model_without_trainable_weights_fits_with_a_warning(libs):
    (tk, _), (ours, _) = libs
    x, y = _regression_data(11, n=16, d=3)
    models = []
    for K in (tk, ours):
        m = K.Sequential([K.Input((3,)), K.layers.Dense(1)])
        m.trainable = False
        m.compile("sgd", "mse")
        models.append(m)
    ref, mine = models
    mine.set_weights(ref.get_weights())
    before = mine.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns the same
        h_ref = ref.fit(x, y, batch_size=8, epochs=2, verbose=0)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        h_ours = mine.fit(x, y, batch_size=8, epochs=2, verbose=0)
    _same_history(h_ref, h_ours)
    for a, b in zip(before, mine.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ steps_per_epoch
def _counting_model():
    m = fk.Sequential([fk.Input((2,)), fk.layers.Dense(1)])
    m.compile(fk.optimizers.SGD(0.01), "mse")
    return m


def _finite(n):
    for i in range(n):
        yield np.full((4, 2), float(i), "float32"), np.zeros((4, 1), "float32")


@pytest.mark.parametrize("n_batches, expected_epochs", [(5, [0, 1, 2]), (4, [0, 1])])
def test_a_generator_that_runs_out_warns_and_stops(n_batches, expected_epochs):
    m = _counting_model()
    with pytest.warns(UserWarning, match="Your input ran out of data; interrupting training"):
        h = m.fit(_finite(n_batches), steps_per_epoch=2, epochs=5, verbose=0)
    assert h.epoch == expected_epochs and len(h.history["loss"]) == len(expected_epochs)
    assert int(m.optimizer.iterations) == n_batches  # every batch trained, none lost


def test_a_finite_generator_without_steps_trains_one_pass_then_stops():
    m = _counting_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit(_finite(3), epochs=4, verbose=0)
    assert h.epoch == [0] and int(m.optimizer.iterations) == 3
    with pytest.raises(ValueError, match="produced no batches"):
        m.fit(_finite(0), steps_per_epoch=2, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="`steps_per_epoch` must be a positive integer"):
        m.fit(_finite(3), steps_per_epoch=0, verbose=0)


def test_steps_per_epoch_takes_batches_as_keras_does(tf):
    """Arrays and a Sequence: an epoch is steps_per_epoch batches of the current pass, the
    pass carries on into the next epoch, and a pass ending early ends its epoch (with the
    warning) while training goes on."""
    import keras

    x = np.zeros((6, 2), "float32")
    x[:, 0] = np.arange(6)
    y = np.zeros((6, 1), "float32")
    runs = []
    for K, Seq in ((keras, keras.utils.PyDataset), (fk, fk.utils.Sequence)):
        seen = []

        class M(K.Model):
            def __init__(self):
                super().__init__()
                self.d = K.layers.Dense(1)

            def call(self, x):
                return self.d(x)

            def train_step(self, data):
                x, y = data
                seen.append(int(np.asarray(x)[0, 0]))
                return {"l": 0.0}

        class S(Seq):
            def __len__(self):
                return 3

            def __getitem__(self, i):
                return x[2 * i:2 * i + 2], y[2 * i:2 * i + 2]

        m = M()
        m.compile("sgd", "mse", run_eagerly=True)
        out = []
        for kw in (dict(x=x, y=y, batch_size=2, steps_per_epoch=2, epochs=4),
                   dict(x=x, y=y, batch_size=2, steps_per_epoch=5, epochs=2),
                   dict(x=S(), steps_per_epoch=2, epochs=3)):
            seen.clear()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                h = m.fit(shuffle=False, verbose=0, **kw)
            out.append((list(seen), h.epoch,
                        sum("ran out of data" in str(i.message) for i in w)))
        runs.append(out)
    assert runs[1] == runs[0]
    assert runs[1][0] == ([0, 2, 4, 0, 2, 4], [0, 1, 2, 3], 2)


def test_endpoint_layer_recipe_fits_a_dict_without_y(libs):
    """The functional guide's endpoint layer: the loss comes from add_loss and the metric is
    the layer's own; fit(data_dict) with no y after compile(optimizer) trains on it, and the
    layer's metric is in the logs (reset each epoch)."""
    (tk, _), (ours, _) = libs
    models = []
    for K in (tk, ours):
        class LogisticEndpoint(K.layers.Layer):
            def __init__(self, name=None):
                super().__init__(name=name)
                self.loss_fn = K.losses.BinaryCrossentropy(from_logits=True)
                self.accuracy_fn = K.metrics.BinaryAccuracy()

            def call(self, targets, logits, sample_weights=None):
                loss = self.loss_fn(targets, logits, sample_weights)
                self.add_loss(loss)
                self.accuracy_fn.update_state(targets, logits, sample_weights)
                return K.ops.softmax(logits)

        inputs = K.Input(shape=(3,), name="inputs")
        targets = K.Input(shape=(10,), name="targets")
        logits = K.layers.Dense(10)(inputs)
        sample_weights = K.Input(shape=(1,), name="sample_weights")
        preds = LogisticEndpoint(name="predictions")(targets, logits, sample_weights)
        models.append(K.Model([inputs, targets, sample_weights], preds))
    ref, mine = models
    mine.set_weights(ref.get_weights())
    rng = np.random.default_rng(12)
    data = {"inputs": rng.normal(size=(30, 3)).astype("float32"),
            "targets": rng.integers(0, 2, size=(30, 10)).astype("float32"),
            "sample_weights": rng.random((30, 1)).astype("float32")}
    hs = []
    for K, m in zip((tk, ours), models):
        m.compile(K.optimizers.Adam(1e-2))
        hs.append(m.fit(data, batch_size=8, epochs=3, shuffle=False, verbose=0))
    assert [m.name for m in mine.metrics] == [m.name for m in ref.metrics] == \
        ["loss", "binary_accuracy"]
    _same_history(*hs)
    _same_weights(ref, mine)


def test_metrics_names_as_keras_3_reports_them(tf):
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = np.random.default_rng(1).random((8, 1)).astype("float32")
    y2 = np.random.default_rng(2).random((8, 2)).astype("float32")
    for lib_models in ((tf.keras, fk),):
        names = []
        for lib in lib_models:
            m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
            before = list(m.metrics_names)
            m.compile("sgd", "mse", metrics=["mae", lib.metrics.RootMeanSquaredError()])
            compiled = list(m.metrics_names)
            m.fit(x, y, verbose=0)
            fitted = list(m.metrics_names)
            i = lib.Input((3,))
            mm = lib.Model(i, [lib.layers.Dense(1, name="a")(i), lib.layers.Dense(2, name="b")(i)])
            mm.compile("sgd", ["mse", "mse"], metrics=[["mae"], ["mae"]])
            mm.fit(x, [y, y2], verbose=0)
            plain = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
            plain.compile("sgd", "mse")
            plain.fit(x, y, verbose=0)
            names.append((before, compiled, fitted, list(mm.metrics_names),
                          list(plain.metrics_names)))
        assert names[1] == names[0]
