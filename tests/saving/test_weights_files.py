"""``.weights.h5`` files: round trip with the optimizer state, atomic writes, Keras 3's
layer layout in both directions, clear errors."""

import numpy as np
import pytest

import fastkeras as fk

h5py = pytest.importorskip("h5py")


def _build(lib):
    L = lib.layers
    inp = lib.Input(shape=(4,))
    x = L.Dense(3, name="d1")(inp)
    x = L.BatchNormalization(name="bn")(x)
    return lib.Model(inp, L.Dense(2, name="d2")(x))


def test_round_trip_with_optimizer_state(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    m = _build(fk)
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "m.weights.h5"
    m.save_weights(path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]  # no temporary left
    m2 = _build(fk)
    m2.compile(optimizer="adam", loss="mse")
    m2.load_weights(path)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(m2.optimizer.iterations.numpy()) == int(m.optimizer.iterations.numpy())
    # both continue identically
    m.fit(x, y, epochs=1, verbose=0, shuffle=False)
    m2.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_layout_both_ways(tf, tmp_path):
    import keras

    ref = _build(keras)
    ref(np.zeros((1, 4), "float32"))
    ref.set_weights([np.random.default_rng(i).normal(size=w.shape).astype("float32") + (
        1.0 if "variance" in w.path else 0.0) for i, w in enumerate(ref.weights)])
    ref.save_weights(tmp_path / "k.weights.h5")
    ours = _build(fk)
    ours.load_weights(tmp_path / "k.weights.h5")
    x = np.random.default_rng(5).normal(size=(6, 4)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    ours.save_weights(tmp_path / "f.weights.h5")
    back = _build(keras)
    back.load_weights(tmp_path / "f.weights.h5")
    np.testing.assert_allclose(back.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-6)


def test_errors(tmp_path):
    m = _build(fk)
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        m.save_weights(tmp_path / "w.h5")
    with pytest.raises(FileNotFoundError):
        m.load_weights(tmp_path / "none.weights.h5")
    other = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(5)])
    other.save_weights(tmp_path / "o.weights.h5")
    with pytest.raises(ValueError, match="has no weights for layer|expects"):
        m.load_weights(tmp_path / "o.weights.h5")
    (tmp_path / "x.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(fk.saving.FileFormatError, match="x.weights.h5.*HDF5 signature"):
        m.load_weights(tmp_path / "x.weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.weights.h5", "x.weights.h5"]


def test_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)
    models = []
    seq = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(6, activation="relu"),
                         fk.layers.LayerNormalization(), fk.layers.Dense(2, activation="softmax")])
    models.append(seq)
    models.append(_build(fk))

    class Sub(fk.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d = fk.layers.Dense(units)
            self.o = fk.layers.Dense(2, activation="softmax")

        def call(self, inputs, training=False):
            return self.o(self.d(inputs))

        def get_config(self):
            return {"units": self.units, "name": self.name}

    models.append(Sub())
    for m in models:
        m.compile(optimizer=fk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
                  if m is not models[1] else "mse", metrics=["accuracy"] if m is seq else None)
        target = y if m is not models[1] else rng.normal(size=(32, 2)).astype("float32")
        m.fit(x, target, epochs=2, verbose=0)
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        back = fk.models.load_model(path, custom_objects={"Sub": Sub})
        assert type(back) is type(m) and back.compiled
        np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0),
                                   rtol=1e-6)
        assert int(back.optimizer.iterations.numpy()) == int(m.optimizer.iterations.numpy())
        m.fit(x, target, epochs=1, verbose=0, shuffle=False)  # training resumes identically
        back.fit(x, target, epochs=1, verbose=0, shuffle=False)
        for a, b in zip(m.get_weights(), back.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        seq.save(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="not a .keras file"):
        (tmp_path / "bad.keras").write_text("nope")
        fk.models.load_model(tmp_path / "bad.keras")


def test_legacy_h5_model_file(tf, tmp_path):
    import keras

    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    m = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(5, activation="relu"),
                       fk.layers.BatchNormalization(), fk.layers.Dense(2)])
    m.compile(optimizer=fk.optimizers.Adam(0.01), loss="mse")
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert "model_config" in f.attrs and "model_weights" in f and "optimizer_weights" in f
    back = fk.models.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    m.fit(x, y, epochs=1, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), back.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # tf.keras reads the weights of such a file into the same architecture
    ref = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="relu"),
                            keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    m.save(tmp_path / "m2.h5")
    ref.load_weights(str(tmp_path / "m2.h5"))
    np.testing.assert_allclose(ref.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="weights file"):
        m.save_weights(tmp_path / "w.weights.h5")
        fk.models.load_model(tmp_path / "w.weights.h5")


def test_tf_keras_model_files_load(tf, tmp_path):
    """.keras files written by tf.keras (Sequential and functional with a branch) load and
    predict the same numbers."""
    import keras

    rng = np.random.default_rng(7)
    seq = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6, activation="relu"),
                            keras.layers.BatchNormalization(), keras.layers.Dropout(0.2),
                            keras.layers.Dense(3, activation="softmax")])
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    h = keras.layers.Dense(5, activation="tanh", name="h")(a)
    cat = keras.layers.Concatenate(name="cat")([h, b])
    out = keras.layers.Dense(2, name="out")(cat)
    fun = keras.Model([a, b], out)
    x = rng.normal(size=(8, 4)).astype("float32")
    xb = rng.normal(size=(8, 3)).astype("float32")
    for ref, inputs in ((seq, x), (fun, [x, xb])):
        ref.compile(optimizer="adam", loss="mse")
        target = rng.normal(size=ref(inputs).shape).astype("float32")
        ref.fit(inputs, target, epochs=2, verbose=0)
        path = tmp_path / f"{ref.name}.keras"
        ref.save(path)
        ours = fk.models.load_model(path, compile=False)
        np.testing.assert_allclose(ours.predict(inputs, verbose=0), ref.predict(inputs, verbose=0),
                                   rtol=1e-5, atol=1e-6)


def _lambda_model():
    def double(t):
        return t * 2.0

    inp = fk.Input(shape=(3,))
    return fk.Model(inp, fk.layers.Dense(2)(fk.layers.Lambda(double, name="lam")(inp))), double


def test_safe_loading(tmp_path):
    import zipfile

    model, double = _lambda_model()
    path = tmp_path / "lam.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Lambda layer.*safe_mode=True"):
        fk.models.load_model(path)
    with pytest.raises(ValueError, match="custom_objects"):
        fk.models.load_model(path, safe_mode=False)
    back = fk.models.load_model(path, safe_mode=False, custom_objects={"double": double})
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))
    # a member name that leaves the archive is refused before anything is read
    evil = tmp_path / "evil.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("../../escape.txt", "x")
    with pytest.raises(ValueError, match="refusing the archive member"):
        fk.models.load_model(evil, safe_mode=False, custom_objects={"double": double})
    assert not (tmp_path.parent / "escape.txt").exists()
    # truncated and corrupt files give clear errors
    data = path.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated|not a .keras file"):
        fk.models.load_model(tmp_path / "cut.keras")
    # a weight tensor whose shape disagrees with the config is refused before it is read
    seq = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(3)])
    seq.save(tmp_path / "s.keras")
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(tmp_path / "s.keras") as src:
        members = {n: src.read(n) for n in src.namelist()}
    wfile = tmp_path / "w.h5"
    wfile.write_bytes(members["model.weights.h5"])
    with h5py.File(wfile, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", data=np.zeros((400, 3), "float32"))
    members["model.weights.h5"] = wfile.read_bytes()
    with zipfile.ZipFile(bad, "w") as dst:
        for n, d in members.items():
            dst.writestr(n, d)
    with pytest.raises(ValueError, match=r"has shape \(4, 3\)"):
        fk.models.load_model(bad)


_SAVE_LOOP = r'''
import sys
import numpy as np
import fastkeras as fk
path = sys.argv[1]
model = fk.Sequential([fk.Input(shape=(256,)), fk.layers.Dense(512), fk.layers.Dense(512),
                       fk.layers.Dense(10)])
i = 0
print("ready", flush=True)
while True:
    i += 1
    model.set_weights([np.full(w.shape, float(i), "float32") for w in model.get_weights()])
    model.save(path)
'''


def test_kill_during_save_keeps_a_complete_file(tmp_path):
    import subprocess
    import sys
    import time

    path = tmp_path / "m.keras"
    script = tmp_path / "loop.py"
    script.write_text(_SAVE_LOOP)
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while not path.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)  # mid-way through some later save
    finally:
        proc.kill()  # SIGKILL
        proc.wait()
    model = fk.models.load_model(path)  # the last complete file, never a partial one
    values = {float(w.reshape(-1)[0]) for w in model.get_weights()}
    assert len(values) == 1 and values.pop() >= 1


def test_oversized_shapes_are_refused_before_allocation(tmp_path):
    """A config asking for more memory than the machine has, a weight dataset declaring
    a huge shape, and a compressed config.json that inflates past its limit: each gives
    a ValueError before anything of that size is allocated."""
    import json
    import zipfile

    model = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(3)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as src:
        members = {n: src.read(n) for n in src.namelist()}

    def write(name, changed):
        with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as dst:
            for n, d in {**members, **changed}.items():
                dst.writestr(n, d)
        return tmp_path / name

    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][1]["config"]["units"] = 10 ** 12
    with pytest.raises(ValueError, match="more than this machine's"):
        fk.models.load_model(write("units.keras", {"config.json": json.dumps(cfg)}))
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][0]["config"]["batch_shape"] = [None, 2 ** 62]
    with pytest.raises(ValueError, match="bytes"):
        fk.models.load_model(write("input.keras", {"config.json": json.dumps(cfg)}))
    wfile = tmp_path / "w.h5"
    wfile.write_bytes(members["model.weights.h5"])
    with h5py.File(wfile, "a") as f:  # declared, never written: no disk or memory used
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(10 ** 7, 10 ** 7), dtype="float64",
                                              chunks=(1, 16))
    with pytest.raises(ValueError, match=r"has shape \(4, 3\)"):
        fk.models.load_model(write("huge.keras", {"model.weights.h5": wfile.read_bytes()}))
    bomb = b"{" + b" " * (65 << 20) + b"}"  # 65 MB of JSON, ~64 kB compressed
    with pytest.raises(fk.saving.FileFormatError, match="config.json claims .* more than"):
        fk.models.load_model(write("bomb.keras", {"config.json": bomb}))
