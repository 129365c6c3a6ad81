"""What callbacks receive, as Keras 3 hands it out (every hook gets a dict of logs, the
*_begin hooks an empty one, on_predict_batch_end {"outputs": ...}; self.model and
self.params set), and the numeric cases of Keras' own callback unit tests
(keras/src/callbacks/*_test.py) for EarlyStopping, ReduceLROnPlateau,
LearningRateScheduler, CSVLogger and LambdaCallback."""
import csv
import re

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import callbacks as C
from fastkeras import layers

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")


def _recorder(K, events):
    """A callback overriding every hook, recording what each receives."""

    def hook(name):
        def record(self, *args, **kwargs):  # Keras passes logs by keyword, fastkeras by position
            if "logs" in kwargs:
                args += (kwargs["logs"],)
            logs = args[-1]
            outputs = np.asarray(logs["outputs"]).shape if isinstance(logs, dict) and \
                "outputs" in logs else None
            events.append((name, args[0] if len(args) > 1 else None, type(logs).__name__,
                           sorted(logs) if isinstance(logs, dict) else None, outputs,
                           self.model is not None, dict(self.params)))
        return record

    return type("Recorder", (K.callbacks.Callback,), {h: hook(h) for h in HOOKS})()


def _run_all_hooks(K):
    events = []
    m = K.Sequential([K.Input((3,)), K.layers.Dense(1)])
    m.compile("sgd", "mse", metrics=["mae"])
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    m.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:4], y[:4]),
          callbacks=[_recorder(K, events)], verbose=0)
    m.evaluate(x, y, batch_size=4, callbacks=[_recorder(K, events)], verbose=0)
    m.predict(np.ones((10, 3), "float32"), batch_size=4, callbacks=[_recorder(K, events)],
              verbose=0)
    m.predict(np.ones((3, 3), "float32"), callbacks=[_recorder(K, events)], verbose=0)
    return events


def test_every_hook_gets_a_dict_as_in_keras(tf):
    import keras

    ref, ours = _run_all_hooks(keras), _run_all_hooks(fk)
    assert ours == ref
    assert all(e[2] == "dict" for e in ours)
    begins = [e for e in ours if e[0].endswith("_begin")]
    assert begins and all(e[3] == [] for e in begins)
    assert [e[4] for e in ours if e[0] == "on_predict_batch_end"] == [(4, 1), (4, 1), (2, 1),
                                                                       (3, 1)]
    assert ours[0][6] == {"verbose": 0, "epochs": 2, "steps": 2}  # Keras' params, no more


def test_the_model_is_usable_when_each_call_begins():
    seen = []

    class Probe(C.Callback):
        def _probe(self, where):
            w = self.model.get_weights()
            seen.append((where, self.model.optimizer is not None, len(w),
                         self.model.predict_on_batch(np.ones((1, 3), "float32")).shape))

        def on_train_begin(self, logs=None):
            self._probe("train")

        def on_test_begin(self, logs=None):
            self._probe("test")

        def on_predict_begin(self, logs=None):
            self._probe("predict")

    m = fk.Sequential([fk.Input((3,)), layers.Dense(2)])
    m.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    m.fit(x, y, verbose=0, callbacks=[Probe()])
    m.evaluate(x, y, verbose=0, callbacks=[Probe()])
    m.predict(x, verbose=0, callbacks=[Probe()])
    assert seen == [("train", True, 2, (1, 2)), ("test", True, 2, (1, 2)),
                    ("predict", True, 2, (1, 2))]


def test_logs_from_a_custom_train_step_reach_callbacks_as_floats():
    got = []

    class Tensors(fk.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.tracker = fk.metrics.Mean(name="seen")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            self.tracker.update_state(fk.ops.mean(self(x)))
            # a Tensor, a NumPy scalar, and a nested dict (as compile()'s metrics give)
            return {"seen": self.tracker.result(), "n": np.int64(len(x)),
                    "inner": {"half": fk.ops.convert_to_tensor(np.float32(0.5))}}

    class Grab(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            got.append(logs)

    m = Tensors()
    m.compile("sgd")
    h = m.fit(np.ones((8, 2), "float32"), np.zeros((8, 1), "float32"), batch_size=4,
              epochs=2, verbose=0, callbacks=[Grab()])
    assert len(got) == 4
    for logs in got:
        assert set(logs) == {"seen", "n", "half"}
        assert all(type(v) is float for v in logs.values())
        assert logs["n"] == 4.0 and logs["half"] == 0.5
    assert set(h.history) == {"seen", "n", "half"}
    assert all(type(v) is float for vs in h.history.values() for v in vs)


def test_callback_list_defaults_like_keras(tf):
    import keras

    for K in (keras, fk):
        seen = []
        cb = K.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append(logs),
                                        on_epoch_begin=lambda e, logs: seen.append(logs))
        m = K.Sequential([K.Input((2,)), K.layers.Dense(1)])
        cl = K.callbacks.CallbackList([cb], add_history=True, add_progbar=True, model=m,
                                      verbose=0, epochs=1, steps=1)
        assert [type(c).__name__ for c in cl.callbacks] == ["LambdaCallback", "ProgbarLogger",
                                                           "History"] or \
            sorted(type(c).__name__ for c in cl.callbacks) == ["History", "LambdaCallback",
                                                              "ProgbarLogger"]
        cl.on_train_begin()
        cl.on_epoch_begin(0)
        assert seen == [{}, {}] and cb.model is m
        assert cb.params == {"verbose": 0, "epochs": 1, "steps": 1}


# ------------------------------------------------------------------ EarlyStopping
def _early_stopping_data():
    rng = np.random.default_rng(1337)
    return [rng.random((10, 5)).astype("float32"), rng.random((10, 1)).astype("float32"),
            rng.random((10, 5)).astype("float32"), rng.random((10, 1)).astype("float32")]


def test_early_stopping_modes():
    x_train, y_train, x_test, y_test = _early_stopping_data()
    model = fk.Sequential([layers.Dense(1, activation="relu"),
                           layers.Dense(1, activation="relu")])
    model.compile(loss="mae", optimizer="adam",
                  metrics=["mse", "acc", "accuracy", "hinge",
                           fk.metrics.F1Score(name="f1_score")])
    cases = [("max", "val_mse", "max"), ("min", "val_loss", "min"), ("auto", "val_mse", "min"),
             ("auto", "loss", "min"), ("auto", "acc", "max"), ("auto", "val_accuracy", "max"),
             ("auto", "hinge", "min"), ("auto", "f1_score", "max")]
    for mode, monitor, expected in cases:
        stopper = C.EarlyStopping(patience=0, monitor=monitor, mode=mode)
        model.fit(x_train, y_train, batch_size=5, validation_data=(x_test, y_test),
                  callbacks=[stopper], epochs=2, verbose=0)
        assert stopper.monitor_op is (np.greater if expected == "max" else np.less), monitor


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_patience(tf, patience):
    import keras

    losses = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]
    stopped = []
    for K in (keras, fk):
        stopper = K.callbacks.EarlyStopping(monitor="loss", patience=patience)
        stopper.set_model(K.Sequential())
        stopper.model.compile(loss="mse", optimizer="sgd")
        stopper.on_train_begin()
        for epoch, loss in enumerate(losses):
            stopper.on_epoch_end(epoch=epoch, logs={"loss": loss})
            if stopper.model.stop_training:
                break
        stopped.append(stopper.stopped_epoch)
    assert stopped[1] == stopped[0] == max(patience, 1) + 2


def test_early_stopping_reuse_and_state_reset():
    rng = np.random.default_rng(0)
    data = rng.random((100, 1)).astype("float32")
    labels = np.where(data > 0.5, 1, 0).astype("float32")
    model = fk.Sequential([layers.Dense(1, activation="relu"),
                           layers.Dense(1, activation="relu")])
    model.compile(optimizer="sgd", loss="mae", metrics=["mse"])
    stopper = C.EarlyStopping(monitor="mse", patience=3)
    h1 = model.fit(data, labels, callbacks=[stopper], verbose=0, epochs=20)
    assert len(h1.epoch) >= 3
    h2 = model.fit(data, labels, callbacks=[stopper], verbose=0, epochs=20)
    assert len(h2.epoch) >= 3

    stopper = C.EarlyStopping(monitor="loss", patience=3)
    stopper.set_model(fk.Sequential())
    stopper.on_train_begin()
    stopper.best, stopper.wait, stopper.stopped_epoch, stopper.best_epoch = 0.1, 3, 5, 5
    stopper.best_weights = object()
    stopper.on_train_begin()  # a new fit clears every per-run state
    assert stopper.best is None and stopper.wait == 0 and stopper.stopped_epoch == 0
    assert stopper.best_epoch == 0 and stopper.best_weights is None


def test_early_stopping_baseline_and_start_from_epoch():
    x_train, y_train, _, _ = _early_stopping_data()
    model = fk.Sequential([layers.Dense(1, activation="relu"),
                           layers.Dense(1, activation="relu")])
    model.compile(optimizer="sgd", loss="mae", metrics=["mse"])
    stopper = C.EarlyStopping(monitor="mse", patience=3, baseline=0.6)
    hist = model.fit(x_train, y_train, callbacks=[stopper], verbose=0, epochs=20)
    assert len(hist.epoch) >= 3
    for patience in (3, 0):
        stopper = C.EarlyStopping(monitor="mse", patience=patience, start_from_epoch=2)
        hist = model.fit(x_train, y_train, callbacks=[stopper], verbose=0, epochs=20)
        assert len(hist.epoch) >= patience + 2


class _DummyModel:
    def __init__(self):
        self.stop_training = False
        self.weights = -1

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


@pytest.mark.parametrize("losses, kwargs, stop_at, trained, restored", [
    # the best epoch is 2 (0.1); patience 2: stop, then restore epoch 2
    ([0.2, 0.15, 0.1, 0.11, 0.12], dict(patience=2), None, 5, 2),
    # no epoch beats the baseline: 5 epochs, the best one (epoch 2) restored
    ([0.9, 0.8, 0.7, 0.71, 0.72, 0.73], dict(patience=5, baseline=0.5), None, 5, 2),
    # another callback stops training: the best weights are still restored
    ([0.9, 0.8, 0.7, 0.71, 0.72, 0.73], dict(patience=5, baseline=0.5), 3, 4, 2),
])
def test_early_stopping_restores_the_best_weights(losses, kwargs, stop_at, trained, restored):
    early_stop = C.EarlyStopping(monitor="val_loss", restore_best_weights=True, **kwargs)
    early_stop.set_model(_DummyModel())
    epochs_trained = 0
    early_stop.on_train_begin()
    for epoch in range(len(losses)):
        epochs_trained += 1
        early_stop.model.weights = epoch
        early_stop.on_epoch_end(epoch, logs={"val_loss": losses[epoch]})
        if epoch == stop_at:
            early_stop.model.stop_training = True
        if early_stop.model.stop_training:
            break
    early_stop.on_train_end()
    assert epochs_trained == trained and early_stop.model.get_weights() == restored


# ------------------------------------------------------------------ ReduceLROnPlateau
def _two_class_data(n=10, seed=1337):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = fk.utils.to_categorical(rng.integers(0, 2, size=n), 2).astype("float32")
    return x, y


def _plateau_model(optimizer=None):
    model = fk.Sequential([layers.Dense(5), layers.Dense(2)])
    model.compile(loss="mse", optimizer=optimizer or fk.optimizers.Adam(0.1))
    return model


@pytest.mark.parametrize("kwargs, epochs, lr", [
    (dict(min_delta=100), 2, 0.01),  # reduces with fit
    (dict(min_delta=10, min_lr=0.005), 4, 0.005),  # honours min_lr
    (dict(min_delta=100, cooldown=2), 4, 0.001),  # cooldown: every other epoch, twice
])
def test_reduce_lr_on_plateau_in_fit(kwargs, epochs, lr):
    (x_train, y_train), (x_test, y_test) = _two_class_data(), _two_class_data(seed=7)
    model = _plateau_model()
    reduce_lr = C.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", **kwargs)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=epochs, verbose=0)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), lr, rtol=1e-6)


def test_reduce_lr_on_plateau_verbose_message(capsys):
    (x_train, y_train), (x_test, y_test) = _two_class_data(), _two_class_data(seed=7)
    model = _plateau_model()
    reduce_lr = C.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100,
                                    verbose=1)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=2, verbose=0)
    assert "ReduceLROnPlateau reducing learning rate to 0.01" in capsys.readouterr().out


def test_reduce_lr_on_plateau_refuses_a_schedule_as_keras_does():
    (x_train, y_train), (x_test, y_test) = _two_class_data(), _two_class_data(seed=7)
    model = _plateau_model(fk.optimizers.Adam(fk.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=0.1, decay_steps=10)))
    reduce_lr = C.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100)
    with pytest.raises(TypeError, match="This optimizer was created with a "
                                        "`LearningRateSchedule`"):
        model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
                  epochs=2, verbose=0)


def test_reduce_lr_on_plateau_state_reset_across_fit_calls():
    reduce_lr = C.ReduceLROnPlateau(patience=1, factor=0.1, monitor="loss", min_delta=0,
                                    cooldown=2)
    reduce_lr.set_model(_plateau_model())
    reduce_lr.on_train_begin()
    reduce_lr.best, reduce_lr.wait, reduce_lr.cooldown_counter = 0.5, 3, 2
    reduce_lr.on_train_begin()
    assert reduce_lr.best is None and reduce_lr.wait == 0 and reduce_lr.cooldown_counter == 0


# ------------------------------------------------------------------ LearningRateScheduler
def _scheduler_model(optimizer="sgd"):
    model = fk.Sequential([layers.Dense(5), layers.Dense(2)])
    model.compile(loss="mse", optimizer=optimizer)
    return model


def test_learning_rate_scheduler_cases(capsys):
    x, y = _two_class_data()
    model = _scheduler_model()
    model.fit(x, y, callbacks=[C.LearningRateScheduler(lambda step: 1.0 / (2.0 + step),
                                                       verbose=1)], epochs=1, verbose=0)
    assert float(model.optimizer.learning_rate) == 0.5
    assert "LearningRateScheduler setting learning rate to 0.5" in capsys.readouterr().out
    model = _scheduler_model()
    model.fit(x, y, callbacks=[C.LearningRateScheduler(lambda step: 1.0 / (1.0 + step),
                                                       verbose=1)], epochs=1, verbose=0)
    assert "LearningRateScheduler setting learning rate to 1.0" in capsys.readouterr().out
    # depends on the previous rate
    model = _scheduler_model(fk.optimizers.Adam(0.03))
    model.fit(x, y, callbacks=[C.LearningRateScheduler(lambda step, lr: lr / 2)], epochs=2,
              verbose=0)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.03 / 4.0, rtol=1e-6)
    # logged as a Python float
    history = _scheduler_model().fit(x, y, callbacks=[C.LearningRateScheduler(
        lambda step, lr: 0.5)], epochs=1, verbose=0)
    assert type(history.history["learning_rate"][0]) is float
    assert history.history["learning_rate"][0] == 0.5


def test_learning_rate_scheduler_refuses_a_schedule_as_keras_does():
    x, y = _two_class_data()
    model = _scheduler_model(fk.optimizers.Adam(fk.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=0.1, decay_steps=10)))
    with pytest.raises(TypeError, match="This optimizer was created with a "
                                        "`LearningRateSchedule`"):
        model.fit(x, y, callbacks=[C.LearningRateScheduler(lambda step, lr: lr / 2)],
                  epochs=2, verbose=0)


# ------------------------------------------------------------------ CSVLogger
def _csv_model():
    model = fk.Sequential([layers.Dense(2, activation="relu"), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mse"])
    return model


def test_csv_logger_separator_append_and_reuse(tmp_path):
    rng = np.random.default_rng(1337)
    x_train, y_train = rng.random((10, 3)), rng.random((10, 1))
    x_test, y_test = rng.random((10, 3)), rng.random((10, 1))
    filepath = str(tmp_path / "log.tsv")
    sep = "\t"
    fit = dict(batch_size=4, validation_data=(x_test, y_test), verbose=0)
    _csv_model().fit(x_train, y_train, callbacks=[C.CSVLogger(filepath, separator=sep)],
                     epochs=1, **fit)
    with open(filepath) as f:
        assert csv.Sniffer().sniff(f.read()).delimiter == sep
    model = _csv_model()
    cbks = [C.CSVLogger(filepath, separator=sep, append=True)]
    model.fit(x_train, y_train, callbacks=cbks, epochs=1, **fit)  # appended, no header
    model.fit(x_train, y_train, callbacks=cbks, epochs=2, **fit)  # the same logger again
    with open(filepath) as f:
        lines = f.readlines()
    assert all(line.count(sep) == 4 for line in lines) and len(lines) == 5
    assert len(re.findall("epoch", " ".join(lines))) == 1

    # validation every third epoch: the val_ column exists from the start, "NA" elsewhere
    path2 = str(tmp_path / "freq.tsv")
    hist = _csv_model().fit(x_train, y_train, batch_size=4, validation_data=(x_test, y_test),
                            validation_freq=3, callbacks=[C.CSVLogger(path2, separator=sep)],
                            epochs=5, verbose=0)
    with open(path2) as f:
        rows = list(csv.DictReader(f, delimiter=sep))
    assert len(rows) == 5
    for idx, row in enumerate(rows, 1):
        assert "val_loss" in row
        assert row["val_loss"] == (str(hist.history["val_loss"][0]) if idx == 3 else "NA")


def test_csv_logger_with_terminate_on_nan(tmp_path):
    rng = np.random.default_rng(1337)
    x_train = rng.random((10, 3))
    y_train = fk.utils.to_categorical(rng.choice(np.arange(2), size=10), 2)
    x_test = rng.random((10, 3))
    y_test = fk.utils.to_categorical(rng.choice(np.arange(2), size=10), 2)
    model = fk.Sequential()
    for _ in range(5):
        model.add(layers.Dense(2, activation="relu",
                               kernel_initializer=fk.initializers.Constant(value=1e5)))
    model.add(layers.Dense(2))
    model.compile(loss="mean_squared_error", optimizer="sgd")
    path = str(tmp_path / "csv_logger.csv")
    with np.errstate(over="ignore", invalid="ignore"):  # the point: it overflows
        history = model.fit(x_train, y_train, batch_size=4, validation_data=(x_test, y_test),
                            callbacks=[C.TerminateOnNaN(), C.CSVLogger(path)], epochs=20,
                            verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 1 and (np.isnan(loss[0]) or np.isinf(loss[0]))
    with open(path) as f:
        values = [row for row in csv.reader(f) if row]
    assert "nan" in values[-1], "NaN not logged in CSV Logger."


# ------------------------------------------------------------------ LambdaCallback
def _lambda_model():
    model = fk.Sequential([layers.Input(shape=(2,), batch_size=4), layers.Dense(1)])
    model.compile(optimizer=fk.optimizers.SGD(), loss=fk.losses.MeanSquaredError())
    return model


def test_lambda_callback_hooks_in_fit_evaluate_and_predict():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 2)), rng.normal(size=(16, 1))
    log = []
    cb = C.LambdaCallback(
        on_train_begin=lambda logs: log.append("on_train_begin"),
        on_epoch_begin=lambda epoch, logs: log.append("on_epoch_begin"),
        on_epoch_end=lambda epoch, logs: log.append("on_epoch_end"),
        on_train_end=lambda logs: log.append("on_train_end"),
        on_train_batch_begin=lambda batch, logs: log.append("on_train_batch_begin"),
        on_train_batch_end=lambda batch, logs: log.append("on_train_batch_end"))
    model = _lambda_model()
    model.fit(x, y, batch_size=4, validation_split=0.2, callbacks=[cb], epochs=5, verbose=0)
    # Keras' split point floor(16 * 0.8): 12 training samples in batches of 4, 3 a epoch
    assert log.count("on_train_begin") == log.count("on_train_end") == 1
    assert log.count("on_epoch_begin") == log.count("on_epoch_end") == 5
    assert log.count("on_train_batch_begin") == log.count("on_train_batch_end") == 15
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[C.LambdaCallback(
        on_test_begin=lambda logs: log.append("custom_on_test_begin_executed"))])
    model.predict(x, batch_size=4, verbose=0, callbacks=[C.LambdaCallback(
        on_predict_begin=lambda logs: log.append("on_predict_begin_executed"))])
    assert log[-2:] == ["custom_on_test_begin_executed", "on_predict_begin_executed"]
    assert isinstance(C.LambdaCallback(), C.LambdaCallback)
