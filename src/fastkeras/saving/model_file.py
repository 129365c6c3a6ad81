"""``model.save("m.keras")`` / ``load_model``: a zip with ``config.json``,
``metadata.json`` and ``model.weights.h5`` (Keras 3's file layout), written atomically.

The config is in Keras 3's schema (fastkeras.models.configs), so tf.keras loads these files
and fastkeras loads tf.keras' own; loading never runs code from the file (safe mode).

Loading reads the archive member by member, bounded: config.json at most
``MAX_CONFIG_BYTES``; the model is built from it within the load budget (fastkeras._limits),
which gives the bytes its weights need; model.weights.h5 is then streamed into an anonymous
temporary file and refused as soon as it passes ``weights_member_limit`` of them."""
import datetime
import json
import os
import shutil
import tempfile
import zipfile

from fastkeras import _version
from fastkeras._limits import loading_budget
from fastkeras.saving import bounded_json
from fastkeras.saving.atomic import atomic_file, remove_stale_temporaries
from fastkeras.saving.errors import FileFormatError, MissingFileError, refusing
from fastkeras.saving.hdf5_guard import open_checked, open_regular_file

__all__ = ["save_model", "load_model", "MAX_CONFIG_BYTES", "MAX_MEMBERS",
           "weights_member_limit"]

MAX_CONFIG_BYTES = 64 << 20
MAX_MEMBERS = 4096  # config, metadata, weights and a few assets
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_OPTIMIZER_SLOTS = 3  # the most state arrays per weight a built-in optimizer keeps (Adam amsgrad)
_HDF5_OVERHEAD = 64 << 10  # the file's own structures, plus per variable below
_HDF5_PER_VARIABLE = 16 << 10


def weights_member_limit(weight_bytes, n_variables):
    """The most bytes model.weights.h5 may hold for a model whose weights take
    `weight_bytes` in `n_variables` arrays: the weights, the optimizer's state (at most
    three arrays of each) and HDF5's bookkeeping."""
    n_state = n_variables * (1 + _OPTIMIZER_SLOTS) + 2  # + iterations and learning rate
    return weight_bytes * (1 + _OPTIMIZER_SLOTS) + _HDF5_OVERHEAD + n_state * _HDF5_PER_VARIABLE


def _compile_config(model):
    from fastkeras import optimizers

    args = getattr(model, "_compile_args", None)
    if not model.compiled or args is None:
        return None

    def plain(spec):  # names and nested lists / dicts of names; objects are not portable
        if spec is None or isinstance(spec, (str, int, float)):
            return spec
        if isinstance(spec, (list, tuple)):
            out = [plain(s) for s in spec]
            return None if any(o is None and s is not None for o, s in zip(out, spec)) else out
        if isinstance(spec, dict):
            out = {k: plain(v) for k, v in spec.items()}
            return None if any(out[k] is None and spec[k] is not None for k in spec) else out
        return None

    return {"optimizer": optimizers.serialize(model.optimizer), "loss": plain(args["loss"]),
            "metrics": plain(args["metrics"]), "loss_weights": plain(args["loss_weights"]),
            "weighted_metrics": plain(args["weighted_metrics"])}


def save_model(model, filepath, overwrite=True):
    from fastkeras.saving.weights import write_weights_file

    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        from fastkeras.saving.legacy_h5 import save_model_h5

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath} exists and overwrite=False")
        return save_model_h5(model, filepath, _compile_config(model))
    if not filepath.endswith(".keras"):
        raise ValueError(f"The filename must end in `.keras` (or `.h5` / `.hdf5` for the "
                         f"legacy format; use save_weights for `.weights.h5`). Received: "
                         f"filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    from fastkeras.models.configs import model_entry

    config = model_entry(model)
    config["compile_config"] = _compile_config(model)
    meta = {"keras_version": "3 (fastkeras " + _version.__version__ + ")",
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with tempfile.TemporaryFile() as weights, atomic_file(filepath) as fh:
        write_weights_file(model, weights)  # an anonymous file: nothing left if killed
        weights.seek(0)
        with zipfile.ZipFile(fh, "w") as z:
            z.writestr("config.json", json.dumps(config))
            z.writestr("metadata.json", json.dumps(meta))
            with z.open("model.weights.h5", "w") as out:
                shutil.copyfileobj(weights, out, 1 << 20)


def _walk(x):
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from _walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from _walk(v)


def check_safe(config, custom_objects, safe_mode):
    """Refuse configs that would need code from the file. fastkeras never runs such code:
    a Lambda's function must come from custom_objects, and only with safe_mode=False."""
    for node in _walk(config):
        if node.get("class_name") in ("Lambda", "__lambda__"):
            cfg = node.get("config") or {}
            fn = cfg.get("function")
            fn_name = fn if isinstance(fn, str) else None
            if safe_mode:
                raise ValueError(
                    "Requested the deserialization of a Lambda layer, whose function would "
                    "have to come from the file: that could run arbitrary code, so it is "
                    "refused with safe_mode=True. If you trust this file, pass "
                    "safe_mode=False and the function in custom_objects.")
            if fn_name is None or fn_name not in (custom_objects or {}):
                raise ValueError(
                    f"The Lambda layer's function {fn_name or '<code in the file>'!r} must be "
                    "passed in custom_objects: fastkeras never runs code stored in a file")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``model.save(".keras")`` (or a legacy ``.h5`` model file):
    architecture, weights, optimizer state and (when its pieces were given by name) the
    compile settings. Anything wrong with the file raises FileFormatError."""
    filepath = os.fspath(filepath)
    with refusing(filepath):
        if not os.path.lexists(filepath):
            raise MissingFileError(f"No such model file: {filepath}")
        remove_stale_temporaries(os.path.dirname(os.path.abspath(filepath)))
        with open_regular_file(filepath) as fh:
            head = fh.read(8)
            fh.seek(0)
            if head == _HDF5_SIGNATURE:
                from fastkeras.saving.legacy_h5 import load_model_h5

                return load_model_h5(fh, filepath, custom_objects=custom_objects,
                                     compile=compile, safe_mode=safe_mode)
            if not zipfile.is_zipfile(fh):
                raise FileFormatError(f"{filepath} is not a .keras file (not a zip archive) "
                                      "nor an HDF5 model file")
            fh.seek(0)
            with zipfile.ZipFile(fh) as z:
                return _load_archive(z, filepath, custom_objects, compile, safe_mode)


def _members(z, filepath):
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FileFormatError(f"{filepath} has {len(infos):,} archive members (at most "
                              f"{MAX_MEMBERS:,})")
    seen = {}
    for info in infos:  # never trust member names: no absolute paths, no `..`, no repeats
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") \
                or ":" in name:
            raise FileFormatError(f"{filepath}: refusing the archive member {name!r} (an "
                                  "absolute path or one that leaves the archive)")
        if name in seen:
            raise FileFormatError(f"{filepath}: the archive holds {name!r} twice; refused "
                                  "(which one a reader takes differs between readers)")
        seen[name] = info
    if not {"config.json", "model.weights.h5"} <= set(seen):
        raise FileFormatError(f"{filepath} lacks config.json or model.weights.h5")
    return seen


def _read_bounded(z, info, limit, sink, what):
    """Stream the member `info` into `sink`, refusing it once it passes `limit` bytes
    (whatever its header claims), so a zip bomb never reaches the disk or memory."""
    if info.file_size > limit:
        raise FileFormatError(f"{what} claims {info.file_size:,} bytes, more than the "
                              f"{limit:,} the model's config allows")
    copied = 0
    with z.open(info) as src:
        while True:
            block = src.read(min(1 << 20, limit + 1 - copied))
            if not block:
                return
            copied += len(block)
            if copied > limit:
                raise FileFormatError(f"{what} holds more than the {limit:,} bytes the model's "
                                      "config allows")
            sink(block)


def _load_archive(z, filepath, custom_objects, compile, safe_mode):
    from fastkeras.saving.weights import read_weights_file

    members = _members(z, filepath)
    parts = []
    _read_bounded(z, members["config.json"], MAX_CONFIG_BYTES, parts.append,
                  f"{filepath}: config.json")
    config = bounded_json.loads(b"".join(parts), filepath, "config.json")
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise FileFormatError(f"{filepath}: config.json is not a Keras model config")
    check_safe(config, custom_objects, safe_mode)
    with loading_budget() as budget:
        model = model_from_config(config["class_name"], config["config"], custom_objects)
        build = config.get("build_config")
        if not model.built and build:
            model.build(tuple(build["input_shape"]))
    if compile:
        compile_from(model, config.get("compile_config"))
    limit = weights_member_limit(budget.used, len(model.weights))
    name = f"{filepath}/model.weights.h5"
    with tempfile.TemporaryFile() as weights:  # anonymous: nothing is left if killed
        _read_bounded(z, members["model.weights.h5"], limit, weights.write, name)
        weights.flush()
        with open_checked(weights, name) as checked:
            read_weights_file(model, checked)
    return model


def model_from_config(class_name, config, custom_objects=None):
    """Sequential / functional / a custom Model class (from custom_objects) from a config."""
    from fastkeras import models

    cls = (custom_objects or {}).get(class_name) or {
        "Sequential": models.Sequential, "Functional": models.Model,
        "Model": models.Model}.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown model class {class_name!r}: pass it in custom_objects")
    if issubclass(cls, models.Model):
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)


def compile_from(model, compile_config):
    """compile() with the settings _compile_config recorded (nothing when None)."""
    from fastkeras import optimizers

    cc = compile_config or {}  # Keras writes {} for an uncompiled model
    opt = cc.get("optimizer", cc.get("optimizer_config"))  # Keras 3 / Keras 2 .h5
    if opt is not None:
        model.compile(optimizer=optimizers.deserialize(opt), loss=cc.get("loss"),
                      metrics=cc.get("metrics"), loss_weights=cc.get("loss_weights"),
                      weighted_metrics=cc.get("weighted_metrics"))
