"""``.weights.h5`` files in Keras 3's layout: ``layers/<class name>[_k]/vars/<i>`` per layer
(nested layers under their parent's ``layers``), the model's own variables in ``vars`` and
the optimizer's state in ``optimizer/vars``. Written to a temporary file and renamed, so a
crash mid-write never leaves a truncated file behind."""
import contextlib
import os
import re
import tempfile

import numpy as np

__all__ = ["save_weights", "load_weights"]


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Weights files are HDF5: pip install \"fastkeras[h5]\" (or pip install "
                          "h5py)") from None
    return h5py


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _Cell:
    """Where Keras 3 keeps a recurrent layer's weights: its `cell` sub-layer."""

    def __init__(self, layer):
        self.name = f"{_snake(type(layer).__name__)}_cell"
        self._vars = layer._own_vars()

    def _own_vars(self):
        return self._vars


def _children(layer):
    """(path, sub-layer) in order, paths as Keras names them: `layers/` and the class in
    snake case, with _1, _2... for repeats; a recurrent layer's weights sit in `cell`."""
    if getattr(layer, "_weights_in_cell", False):
        return [("cell", _Cell(layer))]
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
    if getattr(layer, "_weights_in_cell", False):
        return []
    own = layer._own_vars()
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def _write_layer(group, layer):
    vg = group.create_group("vars")
    vg.attrs["name"] = layer.name
    for i, w in enumerate(_own(layer)):
        vg.create_dataset(str(i), data=w.numpy())
    for path, sub in _children(layer):
        _write_layer(group.create_group(path), sub)


def _read_layer(group, layer, path):
    vg = group.get("vars")
    own = _own(layer)
    stored = len(vg) if vg is not None else 0
    if stored != len(own):
        raise ValueError(f"Layer {layer.name!r} ({path}) expects {len(own)} variables, but the "
                         f"file holds {stored}")
    for i, w in enumerate(own):
        ds = vg[str(i)]
        if ds.dtype.kind not in "fiub" or tuple(ds.shape) != tuple(w.shape):
            raise ValueError(f"Layer {layer.name!r} ({path}) variable {i} has shape {w.shape} "
                             f"and a numeric dtype, the file holds {tuple(ds.shape)} "
                             f"{ds.dtype}")
        value = ds[()]  # read only once its size and dtype are checked
        if tuple(value.shape) != tuple(w.shape):
            raise ValueError(f"Layer {layer.name!r} ({path}) variable {i} has shape {w.shape}, "
                             f"the file holds {value.shape}")
        w.assign(value)
    _read_children(group, layer, path)


def _read_children(group, layer, path=""):
    for key, sub in _children(layer):
        g = _find(group, key, sub)
        where = f"{path}/{key}" if path else key
        if g is None:
            raise ValueError(f"The file has no weights for layer {sub.name!r} ({where})")
        _read_layer(g, sub, where)


def _find(group, key, layer):
    """The group of `layer` at `key` (e.g. layers/dense_1): among key's siblings, the one
    whose vars carry the layer's name (files record it), else the one at key."""
    folder, _, base = key.rpartition("/")
    parent = group.get(folder) if folder else group
    if parent is None:
        return None
    if folder:
        for g in parent.values():
            vars_ = g.get("vars") if hasattr(g, "get") else None
            if vars_ is not None and vars_.attrs.get("name") == layer.name:
                return g
    return parent.get(base)


def _optimizer_state(opt):
    return [np.asarray(opt.iterations.numpy() if hasattr(opt.iterations, "numpy")
                       else opt.iterations),
            np.asarray(opt._current_lr(), dtype=np.float64 if opt._lr_dtype == np.float64
                       else np.float32)] + [v.numpy() for v in opt._saved_variables()]


@contextlib.contextmanager
def atomic_path(filepath, suffix):
    """A temporary file beside filepath, renamed onto it when the block succeeds and
    removed when it fails: a crash mid-write never leaves a truncated file behind."""
    folder = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_weights(model, filepath, overwrite=True):
    """Write the model's weights (and its optimizer's state, once built) to filepath."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    h5py = _h5py()
    with atomic_path(filepath, ".weights.h5.tmp") as tmp, h5py.File(tmp, "w") as f:
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


def load_weights(model, filepath):
    """Read weights (and optimizer state, when both file and model have one)."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such weights file: {filepath}")
    h5py = _h5py()
    with h5py.File(filepath, "r") as f:
        if "layers" not in f:
            raise ValueError(f"{filepath} is not a .weights.h5 file (no `layers` group)")
        _read_children(f, model)
        own = _own(model)
        for i, w in enumerate(own):
            w.assign(f["vars"][str(i)][()])
        opt = getattr(model, "optimizer", None)
        if opt is not None and "optimizer" in f:
            stored = [f["optimizer/vars"][str(i)][()] for i in range(len(f["optimizer/vars"]))]
            restore_optimizer(model, stored, filepath)


def restore_optimizer(model, stored, filepath, with_learning_rate=True):
    """Set the model's optimizer state from [iterations, learning rate, slots...] (Keras 3;
    Keras 2 files have no learning rate). A file whose optimizer had not taken a step yet
    holds no slots: the optimizer then starts fresh with the file's step count."""
    opt = model.optimizer
    if not opt.built:
        opt.build(model.trainable_weights)
    head = 2 if with_learning_rate else 1
    saved = opt._saved_variables()
    if len(stored) not in (head, head + len(saved)):
        raise ValueError(f"The optimizer state in {filepath} has {len(stored)} variables, the "
                         f"model's optimizer {head + len(saved)}")
    slots = stored[head:]
    for i, (v, value) in enumerate(zip(saved, slots)):
        if tuple(np.shape(value)) != tuple(v.shape):
            raise ValueError(f"The optimizer state in {filepath}: variable {head + i} has shape "
                             f"{tuple(np.shape(value))}, the optimizer expects {tuple(v.shape)}")
    opt._iterations.assign(np.int64(stored[0]))
    if with_learning_rate:
        opt.learning_rate = float(stored[1])
    for v, value in zip(saved, slots):
        v.assign(value)
