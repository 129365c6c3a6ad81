"""The Keras 2 whole-model HDF5 file (``model.save("m.h5")``), as tf.keras 2 wrote it:
root attributes ``model_config`` / ``training_config`` (JSON), a ``model_weights`` group
with one group per layer (``weight_names`` attribute, datasets ``<layer>/<weight>:0``) and
``optimizer_weights``. fastkeras writes and reads its own models this way (the documents'
``ModelCheckpoint(filepath='/tmp/weights.hdf5')``); tf.keras' ``load_weights`` reads the
weights of such a file into the same architecture."""
import json
import os

from fastkeras import _version
from fastkeras._limits import loading_budget
from fastkeras.saving import bounded_json
from fastkeras.saving.atomic import atomic_file
from fastkeras.saving.errors import FileFormatError
from fastkeras.saving.hdf5_guard import _h5py, open_checked
from fastkeras.saving.weights import _optimizer_state, restore_optimizer

__all__ = ["save_model_h5", "load_model_h5"]


def _layer_weights(layer):
    return list(layer.weights)


def save_model_h5(model, filepath, compile_config=None):
    h5py = _h5py()
    filepath = os.fspath(filepath)
    with atomic_file(filepath) as fh, h5py.File(fh, "w") as f:
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
            names = _unique_names([f"{layer.name}/{w.name}" for w in _layer_weights(layer)])
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, _layer_weights(layer)):
                g.create_dataset(n, data=w.numpy())
        opt = getattr(model, "optimizer", None)
        if opt is not None and getattr(opt, "built", False):
            og = f.create_group("optimizer_weights")
            state = _optimizer_state(opt, with_learning_rate=True)
            names = [f"optimizer/var_{i}:0" for i in range(len(state))]
            og.attrs["weight_names"] = [n.encode() for n in names]
            for n, v in zip(names, state):
                og.create_dataset(n, data=v)


def _unique_names(names):
    """HDF5 dataset names for a layer's weights, ":0" as Keras 2 wrote them; repeats (the
    forward and backward kernels of a Bidirectional, the cells of a stack) get _1, _2..."""
    seen, out = {}, []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(f"{n}:0" if k == 0 else f"{n}_{k}:0")
    return out


def _group(parent, key, name, where):
    g = parent.get(key) if key in parent else None
    if g is None or not hasattr(g, "keys"):
        raise FileFormatError(f"{name}: the file has no group {where}")
    return g


def load_model_h5(source, name, custom_objects=None, compile=True, safe_mode=True):
    """A whole model from the legacy HDF5 file `source` (a path or an open binary file;
    `name` names it in errors). safe_mode applies as for .keras files."""
    from fastkeras.saving.model_file import check_safe, compile_from, model_from_config

    with open_checked(source, name) as checked:
        f = checked.file
        text = checked.text_attr(f, "model_config", "/")
        if text is None:
            raise FileFormatError(f"{name} holds no model config: it is a weights file (use "
                                  "load_weights)")
        cfg = bounded_json.loads(text, name, "model_config attribute")
        if not isinstance(cfg, dict) or "class_name" not in cfg or "config" not in cfg:
            raise FileFormatError(f"{name}: model_config is not a Keras model config")
        check_safe(cfg, custom_objects, safe_mode)
        tc = checked.text_attr(f, "training_config", "/")
        training = bounded_json.loads(tc, name, "training_config attribute") \
            if compile and tc is not None else None
        with loading_budget():
            model = model_from_config(cfg["class_name"], cfg["config"], custom_objects,
                                      safe_mode=safe_mode)
        mw = _group(f, "model_weights", name, "model_weights")
        for layer in model.layers:
            weights = _layer_weights(layer)
            if not weights:
                continue
            where = f"model_weights/{layer.name}"
            g = _group(mw, layer.name, name, where)
            names = checked.text_list_attr(g, "weight_names", where) or []
            if len(names) != len(weights):
                raise FileFormatError(f"{name}: layer {layer.name!r} expects {len(weights)} "
                                      f"weights, the file holds {len(names)}")
            for w, n in zip(weights, names):
                if n not in g:
                    raise FileFormatError(f"{name}: {where} has no dataset {n!r}")
                w.assign(checked.dataset(g[n], w.shape, f"layer {layer.name!r} weight {n}"))
        if training is not None:
            compile_from(model, training, custom_objects, safe_mode)
            if "optimizer_weights" in f and model.optimizer is not None:
                og = _group(f, "optimizer_weights", name, "optimizer_weights")
                names = checked.text_list_attr(og, "weight_names", "optimizer_weights") or []
                missing = [n for n in names if n not in og]
                if missing:
                    raise FileFormatError(f"{name}: optimizer_weights lacks {missing[:3]}")
                # Keras 3 and fastkeras store the learning rate second (fastkeras' .h5 files
                # hold it even for a schedule: its value then); Keras 2 does not
                with_lr = len(names) > 1 and names[1].split("/")[-1].split(":")[0] in (
                    "learning_rate", "var_1")
                restore_optimizer(model, [og[n] for n in names], checked,
                                  with_learning_rate=with_lr)
    return model
