"""``model.save("m.keras")`` / ``load_model``: a zip with ``config.json``,
``metadata.json`` and ``model.weights.h5`` (Keras 3's file layout), written atomically.

The config is in Keras 3's schema (fastkeras.models.configs), so tf.keras loads these files
and fastkeras loads tf.keras' own; loading never runs code from the file (safe mode)."""
import datetime
import json
import os
import shutil
import tempfile
import zipfile

from fastkeras import _version

__all__ = ["save_model", "load_model"]

_MAX_CONFIG_BYTES = 64 << 20


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
    from fastkeras.saving.weights import atomic_path, save_weights

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
    with tempfile.TemporaryDirectory() as tmpdir, atomic_path(filepath, ".keras.tmp") as tmp:
        weights = os.path.join(tmpdir, "model.weights.h5")
        save_weights(model, weights)
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr("config.json", json.dumps(config))
            z.writestr("metadata.json", json.dumps(meta))
            z.write(weights, "model.weights.h5")


def _walk(x):
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from _walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from _walk(v)


def _check_safe(config, custom_objects, safe_mode):
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
    """A model saved by ``model.save(".keras")``: architecture, weights, optimizer state
    and (when its pieces were given by name) the compile settings."""
    from fastkeras.saving.weights import load_weights

    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such model file: {filepath}")
    if not zipfile.is_zipfile(filepath):
        with open(filepath, "rb") as fh:
            is_hdf5 = fh.read(8) == b"\x89HDF\r\n\x1a\n"
        if is_hdf5:
            from fastkeras.saving.legacy_h5 import load_model_h5

            return load_model_h5(filepath, custom_objects=custom_objects, compile=compile)
        raise ValueError(f"{filepath} is not a .keras file (not a zip archive) nor an HDF5 "
                         "model file")
    try:
        archive = zipfile.ZipFile(filepath)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{filepath} is a corrupt or truncated .keras file: {e}") from None
    with archive as z, tempfile.TemporaryDirectory() as tmpdir:
        names = z.namelist()
        for name in names:  # never trust member names: no absolute paths, no `..`
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") \
                    or ":" in name:
                raise ValueError(f"{filepath}: refusing the archive member {name!r} (an "
                                 "absolute path or one that leaves the archive)")
        if not {"config.json", "model.weights.h5"} <= set(names):
            raise ValueError(f"{filepath} lacks config.json or model.weights.h5")
        try:
            with z.open("config.json") as fh:  # bounded: a config is kilobytes
                text = fh.read(_MAX_CONFIG_BYTES + 1)
            if len(text) > _MAX_CONFIG_BYTES:
                raise ValueError(f"{filepath}: config.json is larger than "
                                 f"{_MAX_CONFIG_BYTES:,} bytes; refusing it")
            config = json.loads(text)
            free = shutil.disk_usage(tmpdir).free
            if z.getinfo("model.weights.h5").file_size > free:
                raise ValueError(f"{filepath}: model.weights.h5 claims more bytes than the "
                                 "free disk space; refusing it")
            with z.open("model.weights.h5") as src, \
                    open(os.path.join(tmpdir, "model.weights.h5"), "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)  # by name, never extracted by path
        except (zipfile.BadZipFile, json.JSONDecodeError, OSError, EOFError) as e:
            raise ValueError(f"{filepath} is a corrupt or truncated .keras file: {e}") from None
        _check_safe(config, custom_objects, safe_mode)
        model = model_from_config(config["class_name"], config["config"], custom_objects)
        build = config.get("build_config")
        if not model.built and build:
            model.build(tuple(build["input_shape"]))
        if compile:
            compile_from(model, config.get("compile_config"))
        load_weights(model, os.path.join(tmpdir, "model.weights.h5"))
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
