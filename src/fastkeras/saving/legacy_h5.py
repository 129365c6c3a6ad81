"""The Keras 2 whole-model HDF5 file (``model.save("m.h5")``), as tf.keras 2 wrote it:
root attributes ``model_config`` / ``training_config`` (JSON), a ``model_weights`` group
with one group per layer (``weight_names`` attribute, datasets ``<layer>/<weight>:0``) and
``optimizer_weights``. fastkeras writes and reads its own models this way (the documents'
``ModelCheckpoint(filepath='/tmp/weights.hdf5')``); tf.keras' ``load_weights`` reads the
weights of such a file into the same architecture."""
import json
import os

from fastkeras import _version
from fastkeras.saving.weights import _h5py, _optimizer_state, atomic_path, restore_optimizer

__all__ = ["save_model_h5", "load_model_h5"]


def _layer_weights(layer):
    return list(layer.weights)


def save_model_h5(model, filepath, compile_config=None):
    h5py = _h5py()
    filepath = os.fspath(filepath)
    with atomic_path(filepath, ".h5.tmp") as tmp, h5py.File(tmp, "w") as f:
        f.attrs["keras_version"] = "2 (fastkeras " + _version.__version__ + ")"
        f.attrs["backend"] = "fastkeras"
        f.attrs["model_config"] = json.dumps({"class_name": type(model).__name__,
                                              "config": model.get_config()})
        if compile_config is not None:
            f.attrs["training_config"] = json.dumps(compile_config)
        mw = f.create_group("model_weights")
        layers = list(model.layers)
        mw.attrs["layer_names"] = [l.name.encode() for l in layers]
        mw.attrs["backend"] = "fastkeras"
        mw.attrs["keras_version"] = f.attrs["keras_version"]
        for layer in layers:
            g = mw.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in _layer_weights(layer)]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, _layer_weights(layer)):
                g.create_dataset(n, data=w.numpy())
        opt = getattr(model, "optimizer", None)
        if opt is not None and getattr(opt, "built", False):
            og = f.create_group("optimizer_weights")
            state = _optimizer_state(opt)
            names = [f"optimizer/var_{i}:0" for i in range(len(state))]
            og.attrs["weight_names"] = [n.encode() for n in names]
            for n, v in zip(names, state):
                og.create_dataset(n, data=v)


def _decode(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def load_model_h5(filepath, custom_objects=None, compile=True):
    from fastkeras.saving.model_file import compile_from, model_from_config

    h5py = _h5py()
    with h5py.File(os.fspath(filepath), "r") as f:
        if "model_config" not in f.attrs:
            raise ValueError(f"{filepath} holds no model config: it is a weights file (use "
                             "load_weights)")
        cfg = json.loads(f.attrs["model_config"])
        model = model_from_config(cfg["class_name"], cfg["config"], custom_objects)
        mw = f["model_weights"]
        for layer in model.layers:
            weights = _layer_weights(layer)
            if not weights:
                continue
            if layer.name not in mw:
                raise ValueError(f"The file has no weights for layer {layer.name!r}")
            g = mw[layer.name]
            names = _decode(g.attrs["weight_names"])
            if len(names) != len(weights):
                raise ValueError(f"Layer {layer.name!r} expects {len(weights)} weights, the "
                                 f"file holds {len(names)}")
            for w, n in zip(weights, names):
                value = g[n][()]
                if tuple(value.shape) != tuple(w.shape):
                    raise ValueError(f"Layer {layer.name!r}: weight {n} has shape "
                                     f"{value.shape}, expected {w.shape}")
                w.assign(value)
        tc = f.attrs.get("training_config")
        if compile and tc is not None:
            compile_from(model, json.loads(tc))
            if "optimizer_weights" in f and model.optimizer is not None:
                og = f["optimizer_weights"]
                names = _decode(og.attrs["weight_names"])
                state = [og[n][()] for n in names]
                # Keras 3 (and fastkeras) store the learning rate second; Keras 2 does not
                with_lr = len(names) > 1 and names[1].split("/")[-1].split(":")[0] in (
                    "learning_rate", "var_1")
                restore_optimizer(model, state, filepath, with_learning_rate=with_lr)
    return model
