"""``.weights.h5`` files in Keras 3's layout: ``layers/<class name>[_k]/vars/<i>`` per layer
(nested layers under their parent's ``layers``), the model's own variables in ``vars`` and
the optimizer's state in ``optimizer/vars``. Written atomically (saving.atomic); read only
after the whole file passed saving.hdf5_guard's checks, each dataset after its shape."""
import os
import re

import numpy as np

from fastkeras.saving.atomic import atomic_file, remove_stale_temporaries
from fastkeras.saving.errors import FileFormatError, MissingFileError, refusing
from fastkeras.saving.hdf5_guard import _h5py, open_checked

__all__ = ["save_weights", "load_weights"]


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _children(layer):
    """(path, sub-layer) in order, paths as Keras names them: `layers/` and the class in
    snake case, with _1, _2... for repeats. A layer with ``_saved_children()`` names its
    own, as Keras 3 names them by attribute (an RNN's `cell`, Bidirectional's
    `forward_layer` / `backward_layer`, TimeDistributed's `layer`, `cells/<class>`)."""
    saved = getattr(layer, "_saved_children", None)
    if saved is not None:
        return saved()
    from fastkeras.layers.core import OpLayer

    layers = [l for l in getattr(layer, "layers", [])  # ops hold no weights (Keras skips them)
              if not isinstance(l, OpLayer)]
    counts, out = {}, []
    for sub in layers:
        base = _snake(type(sub).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        out.append(("layers/" + (base if n == 0 else f"{base}_{n}"), sub))
    return out


def _own(layer):
    own = layer._own_vars()
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def _write_layer(group, layer):
    vg = group.create_group("vars")
    vg.attrs["name"] = layer.name
    for i, w in enumerate(_own(layer)):
        vg.create_dataset(str(i), data=w.numpy())
    for path, sub in _children(layer):
        _write_layer(group.create_group(path), sub)


def _read_layer(group, layer, path, checked):
    vg = group.get("vars")
    own = _own(layer)
    stored = len(vg) if vg is not None else 0
    if stored != len(own):
        raise FileFormatError(f"{checked.name}: layer {layer.name!r} ({path}) expects "
                              f"{len(own)} "
                              f"variables, but the file holds {stored}")
    for i, w in enumerate(own):
        if str(i) not in vg:
            raise FileFormatError(f"{checked.name}: layer {layer.name!r} ({path}) has no "
                                  f"variable {i}")
        w.assign(checked.dataset(vg[str(i)], w.shape, f"layer {layer.name!r} ({path}) "
                                                      f"variable {i}"))
    _read_children(group, layer, checked, path)


def _read_children(group, layer, checked, path=""):
    for key, sub in _children(layer):
        g = _find(group, key, sub, checked)
        where = f"{path}/{key}" if path else key
        if g is None:
            raise FileFormatError(f"{checked.name}: the file has no weights for layer "
                                  f"{sub.name!r} ({where})")
        _read_layer(g, sub, where, checked)


def _find(group, key, layer, checked):
    """The group of `layer` at `key` (e.g. layers/dense_1): among key's siblings, the one
    whose vars carry the layer's name (files record it), else the one at key."""
    folder, _, base = key.rpartition("/")
    parent = group.get(folder) if folder else group
    if parent is None:
        return None
    if folder:
        g = _names_index(parent, folder, checked).get(layer.name)
        if g is not None:
            return g
    return parent.get(base)


def _names_index(parent, folder, checked):
    """{recorded layer name: group} of parent's groups (the first group carrying a name
    wins), read once per parent: scanning the siblings for each layer made a 175-layer
    ResNet50 take 12 s to load."""
    cache = checked.__dict__.setdefault("_layer_name_index", {})
    key = parent.name
    if key not in cache:
        index = {}
        for label, g in parent.items():
            vars_ = g.get("vars") if hasattr(g, "get") else None
            if vars_ is not None:
                index.setdefault(checked.text_attr(vars_, "name", f"{folder}/{label}/vars"),
                                 g)
        cache[key] = index
    return cache[key]


def _optimizer_state(opt, with_learning_rate=False):
    """What Keras 3 writes: optimizer.variables in order (iterations, the learning rate
    unless it is a schedule or a callable, then the slots in Keras' order).
    with_learning_rate: the rate's current value second in any case (the legacy .h5
    layout, whose readers tell it by position)."""
    from fastkeras.ops.tensor import Variable

    state = [np.asarray(v.numpy()) for v in opt.variables]
    if with_learning_rate and not isinstance(opt._learning_rate, Variable):
        state.insert(1, np.asarray(opt._current_lr(), opt._lr_dtype))
    return state


def save_weights(model, filepath, overwrite=True):
    """Write the model's weights (and its optimizer's state, once built) to filepath."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    with atomic_file(filepath) as fh:
        write_weights_file(model, fh)


def write_weights_file(model, fileobj):
    """The model's weights (and optimizer state) as a .weights.h5 file into `fileobj`."""
    h5py = _h5py()
    with h5py.File(fileobj, "w") as f:
        f.create_group("layers")
        for path, sub in _children(model):
            _write_layer(f.create_group(path), sub)
        vg = f.create_group("vars")
        vg.attrs["name"] = model.name
        own = [w for w in _own(model)]
        for i, w in enumerate(own):
            vg.create_dataset(str(i), data=w.numpy())
        opt = getattr(model, "optimizer", None)
        if opt is not None and getattr(opt, "built", False):
            og = f.create_group("optimizer").create_group("vars")
            og.attrs["name"] = getattr(opt, "name", type(opt).__name__).lower()
            for i, value in enumerate(_optimizer_state(opt)):
                og.create_dataset(str(i), data=value)


def load_weights(model, filepath, skip_mismatch=False):
    """Read weights (and optimizer state, when both file and model have one). Anything
    wrong with the file raises FileFormatError. A Keras 2 HDF5 weights file
    (``layer_names`` / ``weight_names``, as Keras' downloadable weights and ``save_weights
    ("w.h5")`` wrote them, or a whole-model ``.h5``) is read as Keras 3 reads it: by the
    order of the layers that hold weights (saving.legacy_h5.read_legacy_weights);
    skip_mismatch=True leaves its weights of other shapes as they are, with a warning (for
    .weights.h5 files it is not implemented: they must match)."""
    from fastkeras.saving.legacy_h5 import is_legacy_weights_file, read_legacy_weights

    filepath = os.fspath(filepath)
    with refusing(filepath):
        if not os.path.lexists(filepath):
            raise MissingFileError(f"No such weights file: {filepath}")
        remove_stale_temporaries(os.path.dirname(os.path.abspath(filepath)))
        with open_checked(filepath, filepath) as f:
            if is_legacy_weights_file(f.file):  # Keras 2's layout, read by layer order
                read_legacy_weights(model, f, skip_mismatch=skip_mismatch)
            else:
                read_weights_file(model, f)


def read_weights_file(model, checked):
    """Weights from an open hdf5_guard.CheckedFile."""
    f, name = checked.file, checked.name
    if "layers" not in f:
        raise FileFormatError(f"{name} is not a .weights.h5 file (no `layers` group)")
    _read_children(f, model, checked)
    own = _own(model)
    vg = f.get("vars")
    if own and (vg is None or len(vg) != len(own)):
        raise FileFormatError(f"{name}: the model has {len(own)} variables of its own, the "
                              f"file {0 if vg is None else len(vg)}")
    for i, w in enumerate(own):
        w.assign(checked.dataset(vg[str(i)], w.shape, f"model variable {i}"))
    opt = getattr(model, "optimizer", None)
    if opt is not None and "optimizer" in f:
        og = f["optimizer"].get("vars")
        count = 0 if og is None else len(og)
        if any(str(i) not in og for i in range(count)):
            raise FileFormatError(f"{name}: the optimizer's variables are not numbered 0.."
                                  f"{count - 1}")
        restore_optimizer(model, [og[str(i)] for i in range(count)], checked)


def _stored_layout(n_stored, n_slots, has_lr, with_learning_rate):
    """(file holds a learning rate, file holds the slots) for n_stored entries. A file
    whose optimizer had not taken a step holds no slots; Keras 2 files and Keras 3 files
    of a schedule hold no learning rate (older fastkeras files always did). The layout of
    the model's own optimizer is tried first."""
    lr_options = (has_lr, not has_lr) if with_learning_rate is None else (with_learning_rate,)
    for slots in (True, False):
        for file_lr in lr_options:
            if 1 + file_lr + (n_slots if slots else 0) == n_stored:
                return file_lr, slots
    return None


def restore_optimizer(model, stored, checked, with_learning_rate=None):
    """Set the model's optimizer state from [iterations, learning rate, slots...] (Keras 3;
    Keras 2 files and schedules have no learning rate: with_learning_rate=None infers it
    from the count), h5py datasets each read only once its shape is checked. A file whose
    optimizer had not taken a step yet holds no slots: the optimizer then starts fresh with
    the file's step count. A stored learning rate is ignored when the optimizer's rate is
    a schedule."""
    from fastkeras.ops.tensor import Variable

    opt = model.optimizer
    if not opt.built:
        opt.build(model.trainable_weights)
    saved = opt._saved_variables()
    has_lr = isinstance(opt._learning_rate, Variable)
    layout = _stored_layout(len(stored), len(saved), has_lr, with_learning_rate)
    if layout is None:
        expected = 1 + has_lr + len(saved)
        raise FileFormatError(f"The optimizer state in {checked.name} has {len(stored)} "
                              "variables, "
                              f"the model's optimizer {expected}")
    file_lr, slots = layout
    head = 1 + file_lr
    shapes = [()] * head + ([tuple(v.shape) for v in saved] if slots else [])
    for i, (ds, shape) in enumerate(zip(stored, shapes)):  # every shape before any read
        if tuple(ds.shape) not in ((shape, (1,)) if i < head else (shape,)):
            raise FileFormatError(f"The optimizer state in {checked.name}: variable {i} has "
                                  "shape "
                                  f"{tuple(ds.shape)}, the optimizer expects {shape}")
    values = [checked.dataset(ds, ds.shape, f"optimizer variable {i}")
              for i, ds in enumerate(stored)]
    opt._iterations.assign(np.int64(np.reshape(values[0], ())))
    if file_lr and has_lr:
        opt.learning_rate = float(np.reshape(values[1], ()))
    for v, value in zip(saved, values[head:]):
        v.assign(value)
