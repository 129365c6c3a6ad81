"""Layer assets (save_assets / load_assets) inside .keras files, and a model's own
get_compile_config / compile_from_config on loading, as Keras 3 does; across libraries."""
import os
import warnings
import zipfile

import numpy as np
import pytest

import fastkeras as fk


def _vocab_layer(lib, package):
    @lib.saving.register_keras_serializable(package=package)
    class Vocab(lib.layers.Layer):
        def __init__(self, vocab="", **kwargs):
            super().__init__(**kwargs)
            self.vocab = vocab

        def call(self, x):
            return x

        def save_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
                f.write(self.vocab)

        def load_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt")) as f:
                self.vocab = f.read() + "!"

    return Vocab


@pytest.mark.parametrize("writer,reader", [("fk", "fk"), ("fk", "keras"), ("keras", "fk")])
def test_assets_round_trip_across_libraries(tf, tmp_path, writer, reader):
    import keras

    libs = {"fk": fk, "keras": keras}
    classes = {k: _vocab_layer(lib, f"AssetsTest_{writer}_{reader}") for k, lib in libs.items()}
    w = libs[writer]
    inner = w.Sequential([w.Input((2,)), classes[writer](vocab="a b c", name="voc")])
    outer = w.Sequential([w.Input((2,)), inner, w.layers.Dense(1)])
    path = os.fspath(tmp_path / "m.keras")
    outer.save(path)
    with zipfile.ZipFile(path) as z:
        assets = [n for n in z.namelist() if n.startswith("assets/")]
    assert assets and all(n.endswith("vocabulary.txt") for n in assets)
    back = libs[reader].models.load_model(path)
    vocab_layer = back.layers[0].layers[0]
    assert vocab_layer.vocab == "a b c!"


def test_compile_from_config_override_is_used(tmp_path):
    @fk.saving.register_keras_serializable(package="CompileCfgTest")
    def small_loss(y_true, y_pred):
        return fk.ops.mean(fk.ops.square(y_pred - y_true), axis=-1)

    @fk.saving.register_keras_serializable(package="CompileCfgTest")
    class Custom(fk.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = fk.layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def compile(self, optimizer, loss_fn):
            super().compile(optimizer=optimizer, loss=loss_fn)
            self.loss_fn = loss_fn

        def get_compile_config(self):
            return {"optimizer": self.optimizer, "loss_fn": self.loss_fn}

        def compile_from_config(self, config):
            self.compile(fk.saving.deserialize_keras_object(config["optimizer"]),
                         fk.saving.deserialize_keras_object(config["loss_fn"]))

    m = Custom()
    m.compile(fk.optimizers.SGD(0.1), small_loss)
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    m.fit(x, y, verbose=0)
    path = os.fspath(tmp_path / "c.keras")
    m.save(path)
    back = fk.models.load_model(path)
    assert back.loss_fn is small_loss and back.compiled
    np.testing.assert_allclose(back.evaluate(x, y, verbose=0), m.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_custom_compile_without_compile_from_config_warns_and_stays_uncompiled(tmp_path):
    @fk.saving.register_keras_serializable(package="CompileCfgTest2")
    class Custom2(fk.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = fk.layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def compile(self, optimizer, loss_fn):
            super().compile(optimizer=optimizer, loss=loss_fn)

    m = Custom2()
    m.compile("sgd", "mse")
    m.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    path = os.fspath(tmp_path / "c2.keras")
    m.save(path)
    with pytest.warns(UserWarning, match="compile\\(\\)` was not called as part of model loading"):
        back = fk.models.load_model(path)
    assert not back.compiled


def test_hostile_asset_names_are_refused(tmp_path):
    m = fk.Sequential([fk.Input((2,)), fk.layers.Dense(1)])
    good = os.fspath(tmp_path / "g.keras")
    m.save(good)
    bad = os.fspath(tmp_path / "b.keras")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("assets/../../escape.txt", "x")
    with pytest.raises(ValueError, match="refusing the archive member"):
        fk.models.load_model(bad)
    assert not os.path.exists(tmp_path / "escape.txt")


def test_legacy_h5_holds_wrappers_with_repeated_weight_names(tmp_path):
    m = fk.Sequential([fk.Input((5, 3)), fk.layers.Bidirectional(fk.layers.LSTM(4)),
                       fk.layers.Dense(1)])
    path = os.fspath(tmp_path / "b.h5")
    m.save(path)
    back = fk.models.load_model(path)
    x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
