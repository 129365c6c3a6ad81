"""Callbacks: observable behaviour (files, stopping epochs, learning rates, HTTP posts),
compared with tf.keras where the behaviour is defined, and the documents' examples."""
import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import fastkeras as keras
from fastkeras import callbacks as C
from fastkeras import layers


class _Opt:
    def __init__(self, lr):
        self.learning_rate = lr


class _FakeModel:
    """Just what the callbacks read: stop_training, an optimizer, weights."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = _Opt(lr)
        self.w = [np.zeros(2)]

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, w):
        self.w = [np.asarray(a).copy() for a in w]


def _drive(cb, values, key="val_loss"):
    model = _FakeModel()
    cb.set_model(model)
    cb.on_train_begin({})
    stops, lrs = [], []
    for epoch, v in enumerate(values):
        model.w = [np.full(2, float(epoch))]
        cb.on_epoch_begin(epoch, {})
        logs = {key: v, "loss": v}
        cb.on_epoch_end(epoch, logs)
        lrs.append(float(np.asarray(model.optimizer.learning_rate)))
        stops.append(model.stop_training)
        if model.stop_training:
            break
    cb.on_train_end({})
    return stops, lrs, model


SEQ = [1.0, 0.8, 0.81, 0.79, 0.795, 0.9, 0.7, 0.72, 0.73, 0.74, 0.75, 0.76]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2), dict(patience=0), dict(patience=3, min_delta=0.02),
    dict(patience=2, restore_best_weights=True), dict(patience=1, baseline=0.75),
    dict(patience=2, start_from_epoch=4), dict(monitor="val_accuracy", patience=2, mode="max"),
    dict(patience=2, mode="max"),
])
def test_early_stopping_matches_keras(tf, kwargs):
    import keras as tk

    key = kwargs.get("monitor", "val_loss")
    ours, ref = C.EarlyStopping(**kwargs), tk.callbacks.EarlyStopping(**kwargs)
    s1, _, m1 = _drive(ours, SEQ, key)
    s2, _, m2 = _drive(ref, SEQ, key)
    assert s1 == s2 and ours.stopped_epoch == ref.stopped_epoch
    assert ours.best == ref.best
    np.testing.assert_array_equal(m1.w[0], m2.w[0])  # restored (or last) weights


@pytest.mark.parametrize("kwargs", [
    dict(patience=1, factor=0.5), dict(patience=2, factor=0.1, min_lr=0.002),
    dict(patience=1, factor=0.5, cooldown=2), dict(patience=1, min_delta=0.05),
    dict(monitor="val_accuracy", patience=1, factor=0.5, mode="max"),
])
def test_reduce_lr_on_plateau_matches_keras(tf, kwargs):
    import keras as tk

    key = kwargs.get("monitor", "val_loss")
    _, lr1, _ = _drive(C.ReduceLROnPlateau(**kwargs), SEQ, key)
    _, lr2, _ = _drive(tk.callbacks.ReduceLROnPlateau(**kwargs), SEQ, key)
    np.testing.assert_allclose(lr1, lr2, rtol=1e-7)


def _model():
    m = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                          layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return m


def _xy(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_early_stopping_in_fit_restores_best_weights():
    x, y = _xy()
    m = _model()
    seen = []

    class Spy(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, logs["val_loss"], m.get_weights()))

    es = C.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    m.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")  # diverges: val_loss rises
    h = m.fit(x, y, epochs=20, validation_split=0.25, verbose=0, callbacks=[Spy(), es])
    best = min(range(len(seen)), key=lambda i: seen[i][1])
    assert len(h.history["loss"]) == es.stopped_epoch + 1 <= 20
    for a, b in zip(m.get_weights(), seen[best][2]):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_scheduler_sets_rates_and_logs_them():
    x, y = _xy()
    m = _model()
    rates = []
    sched = C.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)

    class Spy(C.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(float(m.optimizer.learning_rate))

    h = m.fit(x, y, epochs=4, verbose=0, callbacks=[sched, Spy()])
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.005, 0.0025], rtol=1e-6)
    np.testing.assert_allclose(h.history["learning_rate"], rates, rtol=1e-6)
    with pytest.raises(ValueError, match="should be a float"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(lambda e: "x")])
    one_arg = C.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    m.fit(x, y, epochs=2, verbose=0, callbacks=[one_arg])
    np.testing.assert_allclose(float(m.optimizer.learning_rate), 0.05, rtol=1e-6)


def test_csv_logger_writes_rows_and_appends(tmp_path):
    x, y = _xy()
    path = tmp_path / "log.csv"
    m = _model()
    m.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[C.CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss" and len(lines) == 4
    assert [l.split(",")[0] for l in lines[1:]] == ["0", "1", "2"]
    m.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
          callbacks=[C.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[4].count(";") == 2  # no second header
    # stopped half-way: every written row is complete and flushed
    es = C.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    p2 = tmp_path / "stop.csv"
    m.fit(x, y, epochs=10, verbose=0, callbacks=[C.CSVLogger(p2), es])
    rows = p2.read_text().splitlines()
    assert rows[0] == "epoch,loss" and len(rows) == 3


def test_lambda_callback_document_examples(tmp_path, capsys):
    x, y = _xy(32)
    m = _model()
    batch_print_callback = C.LambdaCallback(on_batch_begin=lambda batch, logs: print(batch))
    json_log = open(tmp_path / "loss_log.json", mode="wt", buffering=1)
    json_logging_callback = C.LambdaCallback(
        on_epoch_end=lambda epoch, logs: json_log.write(
            json.dumps({"epoch": epoch, "loss": logs["loss"]}) + "\n"),
        on_train_end=lambda logs: json_log.close())
    h = m.fit(x, y, batch_size=16, epochs=2, verbose=0,
              callbacks=[batch_print_callback, json_logging_callback])
    assert capsys.readouterr().out.split() == ["0", "1", "0", "1"]
    rows = [json.loads(l) for l in (tmp_path / "loss_log.json").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    np.testing.assert_allclose([r["loss"] for r in rows], h.history["loss"])
    assert json_log.closed


def test_loss_history_document_example():
    class LossHistory(C.Callback):
        def on_train_begin(self, logs={}):
            self.losses = []

        def on_batch_end(self, batch, logs={}):
            self.losses.append(logs.get("loss"))

    rng = np.random.default_rng(1)
    x_train = rng.random((256, 784)).astype("float32")
    y_train = keras.utils.to_categorical(rng.integers(0, 10, 256), 10)
    model = keras.Sequential()
    model.add(layers.Dense(10, input_dim=784, kernel_initializer="uniform"))
    model.add(layers.Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    history = LossHistory()
    model.fit(x_train, y_train, batch_size=128, epochs=20, verbose=0, callbacks=[history])
    assert len(history.losses) == 40 and all(np.isfinite(history.losses))


def test_terminate_on_nan():
    x, y = _xy()
    m = _model()
    m.compile(optimizer=keras.optimizers.SGD(1e6), loss="mse")  # overflows quickly
    seen = []

    class Count(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    with np.errstate(all="ignore"):
        m.fit(x, y, batch_size=8, epochs=50, verbose=0, callbacks=[C.TerminateOnNaN(), Count()])
    assert not np.isfinite(seen[-1]) and all(np.isfinite(seen[:-1]))


class _Recorder(http.server.BaseHTTPRequestHandler):
    posts = []

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        type(self).posts.append((self.path, self.headers["Content-Type"],
                                 self.headers.get("X-Token"), self.rfile.read(n).decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_remote_monitor_posts_to_a_real_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        x, y = _xy()
        m = _model()
        _Recorder.posts.clear()
        m.fit(x, y, epochs=2, verbose=0, callbacks=[C.RemoteMonitor(root=root)])
        m.fit(x, y, epochs=1, verbose=0, callbacks=[
            C.RemoteMonitor(root=root, path="/json", send_as_json=True,
                            headers={"X-Token": "abc"})])
    finally:
        server.shutdown()
    (p1, t1, _, b1), (p2, _, _, b2), (p3, t3, tok, b3) = _Recorder.posts
    assert p1 == "/publish/epoch/end/" and t1 == "application/x-www-form-urlencoded"
    data = json.loads(urllib.parse.parse_qs(b1)["data"][0])
    assert data["epoch"] == 0 and set(data) == {"epoch", "loss"}
    assert json.loads(urllib.parse.parse_qs(b2)["data"][0])["epoch"] == 1
    assert p3 == "/json" and t3 == "application/json" and tok == "abc"
    assert json.loads(b3)["epoch"] == 0
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        C.RemoteMonitor(root="http://127.0.0.1:9").on_epoch_end(0, {"loss": 1.0})


def test_unused_hooks_are_not_dispatched():
    class OnlyEpoch(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    cl = C.CallbackList([OnlyEpoch()])
    assert cl.has("on_epoch_end") and not cl.has("on_train_batch_end")
    assert C.CallbackList([C.LambdaCallback(on_batch_end=print)]).has("on_train_batch_end")


def test_auto_mode_directions():
    assert C.EarlyStopping(monitor="val_accuracy").monitor_op is np.greater
    assert C.EarlyStopping(monitor="val_auc").monitor_op is np.greater
    assert C.EarlyStopping(monitor="val_loss").monitor_op is np.less
    assert C.EarlyStopping(monitor="mean_absolute_error").monitor_op is np.less
    with pytest.raises(ValueError, match="`mode`"):
        C.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="factor >= 1.0"):
        C.ReduceLROnPlateau(factor=2.0)


def test_tensorboard_logs_read_back(tmp_path):
    pytest.importorskip("tensorboardX")
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    x, y = _xy()
    m = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu", name="h"),
                          layers.Dense(1, name="out")])
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    tb = C.TensorBoard(log_dir=tmp_path, histogram_freq=1, update_freq=2,
                       write_steps_per_second=True)
    h = m.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, callbacks=[tb])

    def load(sub):
        acc = ea_mod.EventAccumulator(str(tmp_path / sub),
                                      size_guidance={ea_mod.SCALARS: 0, ea_mod.HISTOGRAMS: 0})
        acc.Reload()
        return acc

    train, val = load("train"), load("validation")
    tags = set(train.Tags()["scalars"])
    assert {"epoch_loss", "epoch_mae", "batch_loss", "epoch_steps_per_second"} <= tags
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_loss")],
                               h.history["loss"], rtol=1e-6)
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]  # 9 batches in all
    np.testing.assert_allclose([e.value for e in val.Scalars("epoch_loss")],
                               h.history["val_loss"], rtol=1e-6)
    assert {"h/kernel", "h/bias", "out/kernel"} <= set(train.Tags()["histograms"])
    assert len(train.Histograms("h/kernel")) == 3
    graph = train.Graph()
    names = [n.name for n in graph.node]
    assert names[-2:] == ["h", "out"] and list(graph.node[-1].input) == ["h"]


_BACKUP_SCRIPT = r'''
import os, signal, sys
import numpy as np
import fastkeras as keras
mode, backup, out = sys.argv[1:4]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)
x = rng.normal(size=(64, 4)).astype("float32")
y = x @ rng.normal(size=(4, 2)).astype("float32")
model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="tanh"),
                          keras.layers.Dense(2)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")

class Killer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if mode == "kill" and self.epoch == 3 and batch == 2:
            os.kill(os.getpid(), signal.SIGKILL)

epochs_run = []
class Epochs(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        epochs_run.append(epoch)

model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0,
          callbacks=[keras.callbacks.BackupAndRestore(backup), Killer(), Epochs()])
np.savez(out, *model.get_weights(), iterations=int(model.optimizer.iterations.numpy()),
         epochs=np.array(epochs_run))
'''


def test_backup_and_restore_after_sigkill(tmp_path):
    pytest.importorskip("h5py")
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(_BACKUP_SCRIPT)

    def run(mode, backup, out):
        return subprocess.run([sys.executable, str(script), mode, str(backup), str(out)],
                              capture_output=True, text=True, timeout=300)

    killed = run("kill", tmp_path / "bk", tmp_path / "never.npz")
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "bk" / "latest.weights.h5").exists()
    resumed = run("resume", tmp_path / "bk", tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr
    plain = run("plain", tmp_path / "bk2", tmp_path / "plain.npz")
    assert plain.returncode == 0, plain.stderr
    a, b = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "plain.npz")
    assert a["epochs"].tolist() == [3, 4, 5] and b["epochs"].tolist() == [0, 1, 2, 3, 4, 5]
    assert int(a["iterations"]) == int(b["iterations"]) == 48
    for k in ("arr_0", "arr_1", "arr_2", "arr_3"):
        np.testing.assert_array_equal(a[k], b[k])
    assert not (tmp_path / "bk" / "latest.weights.h5").exists()  # deleted once finished


def test_model_checkpoint_files(tmp_path):
    pytest.importorskip("h5py")
    x, y = _xy()
    m = _model()
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    cb = C.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.weights.h5"),
                           save_weights_only=True)
    h = m.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[cb])
    names = sorted(p.name for p in tmp_path.iterdir())
    expected = sorted(f"w.{e + 1:02d}-{v:.2f}.weights.h5"
                      for e, v in enumerate(h.history["val_loss"]))
    assert names == expected
    # best only: the file holds the weights of the best epoch
    best_path = tmp_path / "best.keras"
    seen = []

    class Spy(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], m.get_weights()))

    m2 = _model()
    m2.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")  # unstable: val_loss bounces
    m = m2
    m2.fit(x, y, epochs=6, validation_split=0.25, verbose=0,
           callbacks=[Spy(), C.ModelCheckpoint(str(best_path), save_best_only=True)])
    best = min(seen, key=lambda s: s[0])
    restored = keras.models.load_model(best_path)
    for a, b in zip(restored.get_weights(), best[1]):
        np.testing.assert_array_equal(a, b)
    # save_freq in batches, and the older `period`
    m3 = _model()
    C3 = C.ModelCheckpoint(str(tmp_path / "b" / "s{epoch}-{batch}.weights.h5"),
                           save_weights_only=True, save_freq=3)
    m3.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[C3])
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "s1-3.weights.h5", "s2-2.weights.h5"]
    m3.fit(x, y, epochs=4, verbose=0, callbacks=[C.ModelCheckpoint(
        str(tmp_path / "p" / "e{epoch}.weights.h5"), save_weights_only=True, period=2)])
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["e2.weights.h5",
                                                                  "e4.weights.h5"]
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        C.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        C.ModelCheckpoint("/tmp/weights.txt")


def test_progbar_lines(capsys):
    x, y = _xy()
    m = _model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    m.fit(x, y, batch_size=16, epochs=2, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert out[1].startswith("4/4 [==============================] - ")
    assert " - loss: " in out[1] and " - mae: " in out[1] and "/step" in out[1]
    m.fit(x, y, batch_size=16, epochs=1, verbose=2)
    line = capsys.readouterr().out.strip()
    assert line.startswith("4/4 - ") and "[" not in line
    m.fit(x, y, batch_size=16, epochs=1, verbose=1,
          callbacks=[C.ProgbarLogger(count_mode="samples")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("64/64 [") and "/sample" in lines[0]
    m.evaluate(x, y, verbose=1)
    assert capsys.readouterr().out.startswith("2/2 [")
    m.fit(x, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_document_checkpoint_example_best_val_loss(tmp_path, capsys):
    """004: ModelCheckpoint(filepath='/tmp/weights.hdf5', verbose=1, save_best_only=True)."""
    pytest.importorskip("h5py")
    from fastkeras.callbacks import ModelCheckpoint
    from fastkeras.layers import Activation, Dense
    from fastkeras.models import Sequential

    rng = np.random.default_rng(3)
    x_train = rng.random((256, 784)).astype("float32")
    y_train = keras.utils.to_categorical(rng.integers(0, 10, 256), 10)
    x_test, y_test = x_train[:64], y_train[:64]
    model = Sequential()
    model.add(Dense(10, input_dim=784, kernel_initializer="uniform"))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    path = str(tmp_path / "weights.hdf5")
    checkpointer = ModelCheckpoint(filepath=path, verbose=1, save_best_only=True)
    seen = []

    class Spy(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], model.get_weights()))

    model.fit(x_train, y_train, batch_size=128, epochs=5, verbose=0,
              validation_data=(x_test, y_test), callbacks=[Spy(), checkpointer])
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to" in out and path in out
    best = min(seen, key=lambda s: s[0])
    back = keras.models.load_model(path)
    for a, b in zip(back.get_weights(), best[1]):
        np.testing.assert_array_equal(a, b)


def test_document_reduce_lr_example():
    """004: ReduceLROnPlateau(monitor='val_loss', factor=0.2, patience=5, min_lr=0.001)."""
    from fastkeras.callbacks import ReduceLROnPlateau

    x, y = _xy()
    m = _model()
    m.compile(optimizer=keras.optimizers.SGD(0.02), loss="mse")
    reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    flat = [1.0] * 20  # a plateau: no improvement after the first epoch
    rates = []
    for epoch, v in enumerate(flat):
        if epoch == 0:
            reduce_lr.set_model(m)
            reduce_lr.on_train_begin()
        reduce_lr.on_epoch_end(epoch, {"val_loss": v})
        rates.append(float(m.optimizer.learning_rate))
    # reduced after 5 epochs without improvement: 0.02 -> 0.004 -> 0.001 (floor), then held
    assert rates[4] == pytest.approx(0.02) and rates[5] == pytest.approx(0.004)
    assert rates[10] == pytest.approx(0.001) and rates[-1] == pytest.approx(0.001)
    h = m.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[reduce_lr])
    assert "learning_rate" in h.history
