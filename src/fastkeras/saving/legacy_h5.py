"""The Keras 2 whole-model HDF5 file (``model.save("m.h5")``), as tf.keras 2 wrote it:
root attributes ``model_config`` / ``training_config`` (JSON), a ``model_weights`` group
with one group per layer (``weight_names`` attribute, datasets ``<layer>/<weight>:0``) and
``optimizer_weights``. fastkeras writes and reads its own models this way (the documents'
``ModelCheckpoint(filepath='/tmp/weights.hdf5')``); tf.keras' ``load_weights`` reads the
weights of such a file into the same architecture."""
import json
import os
import warnings

from fastkeras import _version
from fastkeras._limits import loading_budget
from fastkeras.saving import bounded_json
from fastkeras.saving.atomic import atomic_file
from fastkeras.saving.errors import FileFormatError
from fastkeras.saving.hdf5_guard import _h5py, open_checked
from fastkeras.saving.weights import _optimizer_state, restore_optimizer

__all__ = ["save_model_h5", "load_model_h5", "is_legacy_weights_file",
           "read_legacy_weights"]


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


def _legacy_order(layer):
    """A layer's weights as Keras 2 stored them: trainable first, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weights_root(f):
    """The group holding ``layer_names``: the root of a weights-only file
    (``save_weights("w.h5")``, Keras' downloadable ImageNet files), or ``model_weights``
    of a whole-model file; None when the file is neither."""
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return f
    if "model_weights" in f and hasattr(f["model_weights"], "keys"):
        return f["model_weights"]
    return None


def is_legacy_weights_file(f):
    """Whether the open h5py File `f` is in the Keras 2 (legacy HDF5) weights layout."""
    return "layers" not in f and _weights_root(f) is not None


def _empty_attr(obj, key):
    """Whether obj has attribute `key` holding no values (of any type): checked by its
    dataspace alone, nothing read."""
    h5py = _h5py()
    if not h5py.h5a.exists(obj.id, key.encode()):
        return False
    space = h5py.h5a.open(obj.id, key.encode()).get_space()
    return space.get_simple_extent_type() == h5py.h5s.SIMPLE \
        and space.get_simple_extent_npoints() == 0


def _names(checked, obj, key, where):
    """A list-of-text attribute, joined from ``key0``, ``key1``... when Keras split a long
    one (an attribute over HDF5's 64 KB object header limit)."""
    if _empty_attr(obj, key):  # Keras writes a layer without weights as an empty array
        return []
    names = checked.text_list_attr(obj, key, where)
    if names is not None:
        return names
    names, i = [], 0
    while f"{key}{i}" in obj.attrs:
        names.extend(checked.text_list_attr(obj, f"{key}{i}", where))
        i += 1
    return names


def _stored_values(checked, group, where, targets, label, skip_mismatch=False):
    """The datasets named by `group`'s weight_names, read into the shapes of `targets`
    (each shape compared before a byte of values is read). skip_mismatch: a weight of
    another shape is None (left as it is, with a warning, as Keras does)."""
    names = _names(checked, group, "weight_names", where)
    if len(names) != len(targets):
        raise FileFormatError(f"{checked.name}: {label} expects {len(targets)} weight(s), "
                              f"the file holds {len(names)} saved weight(s) in {where}")
    values = []
    for target, n in zip(targets, names):
        if n not in group or not hasattr(group[n], "shape"):
            raise FileFormatError(f"{checked.name}: {where} has no dataset {n!r} (named in "
                                  "its weight_names)")
        ds = group[n]
        if tuple(ds.shape) != tuple(target.shape) and skip_mismatch:
            warnings.warn(f"Skipping loading weights for {label} due to mismatch in shape "
                          f"for weight {n!r}. Weight expects shape {tuple(target.shape)}. "
                          f"Received saved weight with shape {tuple(ds.shape)}", stacklevel=4)
            values.append(None)
            continue
        if tuple(ds.shape) != tuple(target.shape):
            raise FileFormatError(f"{checked.name}: shape mismatch in {label} for weight "
                                  f"{n!r}: the model expects {tuple(target.shape)}, the file "
                                  f"holds {tuple(ds.shape)}")
        values.append(checked.dataset(ds, target.shape, f"{label} weight {n!r}"))
    return values


def read_legacy_weights(model, checked, skip_mismatch=False):
    """Keras 2's topological weight loading, as Keras 3's ``load_weights("w.h5")`` does it:
    the file's layers that hold weights (in its ``layer_names`` order) match the model's
    layers that hold weights, in order; names may differ. Every value is read and checked
    first, then all are assigned, so a refused file changes nothing. skip_mismatch: weights
    whose shapes differ are left as they are, with a warning (counts must still agree)."""
    f, name = checked.file, checked.name
    root = _weights_root(f)
    if root is None:
        raise FileFormatError(f"{name} is not a Keras weights file (no `layers` group and no "
                              "`layer_names` attribute)")
    rootname = "/" if root is f else "model_weights"
    layers = [l for l in model.layers if _legacy_order(l)]
    stored = []
    for lname in _names(checked, root, "layer_names", rootname):
        where = f"{rootname.rstrip('/')}/{lname}"
        if lname not in root or not hasattr(root[lname], "keys"):
            raise FileFormatError(f"{name}: layer {lname!r} is listed in layer_names but the "
                                  f"file has no group {where}")
        if _names(checked, root[lname], "weight_names", where):
            stored.append(lname)
    if len(stored) != len(layers):
        raise FileFormatError(
            f"{name}: layer count mismatch when loading weights from file. Model expected "
            f"{len(layers)} layers with weights, found {len(stored)} saved layers"
            + _first_difference(layers, stored))
    assignments = []
    for k, (layer, lname) in enumerate(zip(layers, stored)):
        targets = _legacy_order(layer)
        label = f"layer #{k} (named {layer.name!r} in the model, {lname!r} in the file)"
        where = f"{rootname.rstrip('/')}/{lname}"
        assignments.extend(zip(targets, _stored_values(checked, root[lname], where, targets,
                                                       label, skip_mismatch)))
    if "top_level_model_weights" in root:
        from fastkeras.saving.weights import _own

        own = _own(model)
        group = root["top_level_model_weights"]
        assignments.extend(zip(own, _stored_values(
            checked, group, f"{rootname.rstrip('/')}/top_level_model_weights", own,
            "the model's own variables", skip_mismatch)))
    for target, value in assignments:
        if value is not None:
            target.assign(value)


def _first_difference(layers, stored):
    """Where the model's and the file's lists of layers with weights first part (names)."""
    for i, (layer, lname) in enumerate(zip(layers, stored)):
        if layer.name != lname:
            return (f"; they first differ at #{i}: the model's {layer.name!r}, the file's "
                    f"{lname!r}")
    if len(layers) > len(stored):
        missing = [l.name for l in layers[len(stored):]]
        return f"; the file lacks {missing[:5]}"
    return f"; the model lacks {stored[len(layers):][:5]}"
