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
import warnings
import shutil
import tempfile
import zipfile

from fastkeras import _version
from fastkeras._limits import loading_budget
from fastkeras.saving import bounded_json
from fastkeras.saving.atomic import atomic_file, remove_stale_temporaries
from fastkeras.saving.errors import FileFormatError, MissingFileError, refusing
from fastkeras.saving.hdf5_guard import open_checked, open_regular_file

__all__ = ["save_model", "load_model", "model_from_json", "model_to_json", "MAX_CONFIG_BYTES",
           "MAX_MEMBERS", "weights_member_limit"]

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


def saved_compile_config(model):
    """What a file records of compile(): the model's get_compile_config() (a subclass that
    overrides compile() overrides it too, as Keras asks), else _compile_config."""
    from fastkeras.models.model import Model

    if isinstance(model, Model) and type(model).get_compile_config is not \
            Model.get_compile_config:
        from fastkeras.saving.serialization_lib import serialize_dict

        config = model.get_compile_config()  # serialized as Keras' saver does
        return None if config is None else serialize_dict(config)
    return _compile_config(model)


def restore_compile(model, compile_config, custom_objects=None, safe_mode=True):
    """Compile a loaded model as Keras' loader does: through the model's own
    compile_from_config() when it overrides it (inside a custom_object_scope of
    custom_objects); a model whose compile() is custom but compile_from_config() is not is
    left uncompiled with Keras' warning; otherwise compile_from()."""
    from fastkeras.models.model import Model
    from fastkeras.models.training import TrainingMixin
    from fastkeras.saving.object_registration import custom_object_scope

    if not compile_config:
        return
    if isinstance(model, Model):
        cls = type(model)
        if cls.compile_from_config is not Model.compile_from_config:
            with custom_object_scope(custom_objects or {}):
                model.compile_from_config(compile_config)
            return
        if cls.compile is not TrainingMixin.compile:
            warnings.warn("`compile()` was not called as part of model loading because the "
                          "model's `compile()` method is custom. All subclassed Models that "
                          "have `compile()` overridden should also override "
                          "`get_compile_config()` and `compile_from_config(config)`. "
                          "Alternatively, you can call `compile()` manually after loading.",
                          UserWarning, stacklevel=3)
            return
    compile_from(model, compile_config, custom_objects, safe_mode)


def _compile_config(model):
    """Keras 3's compile_config: the optimizer, and the losses and metrics as
    serialize_keras_object writes them (names stay names; objects and functions become
    entries that load_model resolves through fastkeras, the registry or custom_objects)."""
    from fastkeras import optimizers
    from fastkeras.saving.serialization_lib import serialize_keras_object

    args = getattr(model, "_compile_args", None)
    if not model.compiled or args is None:
        return None
    config = {"optimizer": optimizers.serialize(model.optimizer)}
    for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
        try:
            config[key] = serialize_keras_object(args[key])
        except (TypeError, ValueError) as e:  # e.g. an object without get_config
            warnings.warn(f"compile()'s `{key}` cannot be saved ({e}); the model will load "
                          f"without it", UserWarning, stacklevel=3)
            config[key] = None
    return config


def save_model(model, filepath, overwrite=True):
    from fastkeras.saving.assets import write_assets
    from fastkeras.saving.weights import write_weights_file

    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        from fastkeras.saving.legacy_h5 import save_model_h5

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath} exists and overwrite=False")
        return save_model_h5(model, filepath, saved_compile_config(model))
    if not filepath.endswith(".keras"):
        raise ValueError(f"The filename must end in `.keras` (or `.h5` / `.hdf5` for the "
                         f"legacy format; use save_weights for `.weights.h5`). Received: "
                         f"filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    from fastkeras.models.configs import model_entry

    config = model_entry(model)
    config["compile_config"] = saved_compile_config(model)
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
            write_assets(model, z)


def _walk(x):
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from _walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from _walk(v)


def _function_name(fn):
    """The name a Lambda's `function` entry gives (fastkeras writes a string, Keras 3 a
    function entry for a named function); None for code (Keras' __lambda__ bytecode)."""
    if isinstance(fn, str):
        return fn
    if isinstance(fn, dict) and fn.get("class_name") == "function" and \
            isinstance(fn.get("config"), str):
        return fn["config"]
    return None


def check_safe(config, custom_objects, safe_mode):
    """Refuse configs that would need code from the file. fastkeras never runs such code:
    a Lambda's function must come from custom_objects (or the registry), and only with
    safe_mode=False."""
    from fastkeras.saving.object_registration import lookup

    for node in _walk(config):
        if node.get("class_name") in ("Lambda", "__lambda__"):
            cfg = node.get("config") or {}
            fn_name = _function_name(cfg.get("function")) if isinstance(cfg, dict) else None
            if safe_mode:
                raise ValueError(
                    "Requested the deserialization of a Lambda layer, whose function would "
                    "have to come from the file: that could run arbitrary code, so it is "
                    "refused with safe_mode=True. If you trust this file, pass "
                    "safe_mode=False and the function in custom_objects.")
            if fn_name is None or lookup(fn_name, custom_objects) is None:
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
    from fastkeras.saving.assets import read_assets
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
        model = model_from_config(config["class_name"], config["config"], custom_objects,
                                  registered_name=config.get("registered_name"),
                                  module=config.get("module"), safe_mode=safe_mode)
        build = config.get("build_config")
        if not model.built and build:
            model.build(tuple(build["input_shape"]))
    if compile:
        restore_compile(model, config.get("compile_config"), custom_objects, safe_mode)
    limit = weights_member_limit(budget.used, len(model.weights))
    name = f"{filepath}/model.weights.h5"
    with tempfile.TemporaryFile() as weights:  # anonymous: nothing is left if killed
        _read_bounded(z, members["model.weights.h5"], limit, weights.write, name)
        weights.flush()
        with open_checked(weights, name) as checked:
            read_weights_file(model, checked)
    read_assets(model, z, members, filepath, _read_bounded)
    return model


def model_class(class_name, custom_objects=None, registered_name=None, module=None):
    """The Model class a config names: a custom object (registry, custom_object_scope,
    custom_objects: by registered name or class name), else Sequential / Model."""
    from fastkeras import models
    from fastkeras.saving.object_registration import custom_class

    cls = custom_class(class_name, registered_name, custom_objects)
    if cls is None:
        cls = {"Sequential": models.Sequential, "Functional": models.Model,
               "Model": models.Model}.get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, models.Model)):
        raise ValueError(f"Unknown model class {class_name!r}: register it "
                         "(keras.saving.register_keras_serializable) or pass it in "
                         "custom_objects")
    return cls


def model_from_config(class_name, config, custom_objects=None, registered_name=None,
                      module=None, safe_mode=True):
    """Sequential / functional / a custom Model class (registered or from custom_objects)
    from a config, with the custom objects in scope."""
    from fastkeras.saving.object_registration import CustomObjectScope, known_objects
    from fastkeras.saving.serialization_lib import SafeModeScope, _takes

    cls = model_class(class_name, custom_objects, registered_name, module)
    known = known_objects(custom_objects)
    with CustomObjectScope(known), SafeModeScope(safe_mode):
        if _takes(cls.from_config, "custom_objects"):
            return cls.from_config(config, custom_objects=known)
        return cls.from_config(config)


def _revive_compile(spec, known, safe_mode, family):
    """A saved loss / metric spec as compile() takes it: Keras 3 entries (with a
    "module") are deserialized, Keras 2 {"class_name", "config"} dicts looked up in
    fastkeras' `family` (losses / metrics), a Keras 2 MeanMetricWrapper becomes the name
    it wraps, a custom function's name its function; containers are walked."""
    from fastkeras.saving.serialization_lib import _deserialize, builtin_object

    if isinstance(spec, list):
        return [_revive_compile(s, known, safe_mode, family) for s in spec]
    if isinstance(spec, dict):
        if "class_name" in spec and "config" in spec:
            name = spec["class_name"]
            if "module" in spec or name in ("function", "__lambda__"):
                return _deserialize(spec, known, safe_mode)
            if name == "MeanMetricWrapper":  # Keras 2: a metric function by name
                cfg = spec.get("config") or {}
                fn, label = cfg.get("fn"), cfg.get("name")
                if isinstance(fn, str) and fn in known:
                    return known[fn]
                return label if isinstance(label, str) and _known_metric(label) else fn
            cls = builtin_object(family, name) if isinstance(name, str) else None
            table = {name: cls} if cls is not None else None
            return _deserialize(spec, known, safe_mode, module_objects=table)
        return {k: _revive_compile(v, known, safe_mode, family) for k, v in spec.items()}
    if isinstance(spec, str) and spec in known:  # Keras 2 files name custom functions
        return known[spec]
    return spec


def _known_metric(name):
    from fastkeras import metrics

    try:
        metrics.get(name)
    except ValueError:
        return False
    return True


def _per_output_lists(model, metrics):
    """Keras 2 writes metrics as one list per output: a dict by output name here."""
    if not (isinstance(metrics, list) and metrics and all(isinstance(m, list) for m in metrics)):
        return metrics
    names = list(getattr(model, "output_names", None) or [])
    if len(metrics) == 1 and len(names) <= 1:
        return metrics[0]
    if len(names) == len(metrics):
        return dict(zip(names, metrics))
    return metrics


def compile_from(model, compile_config, custom_objects=None, safe_mode=True):
    """compile() with the settings _compile_config (or Keras) recorded: optimizer,
    losses, metrics, loss weights (nothing when None). Custom losses and metrics resolve
    through the registry, the custom_object_scope or custom_objects."""
    from fastkeras import optimizers
    from fastkeras.saving.object_registration import known_objects

    cc = compile_config or {}  # Keras writes {} for an uncompiled model
    opt = cc.get("optimizer", cc.get("optimizer_config"))  # Keras 3 / Keras 2 .h5
    if opt is None:
        return
    known = known_objects(custom_objects)
    optimizer = opt if isinstance(opt, str) else optimizers.deserialize(opt, known)
    args = {key: _revive_compile(cc.get(key), known, safe_mode,
                                 "losses" if key.startswith("loss") else "metrics")
            for key in ("loss", "metrics", "loss_weights", "weighted_metrics")}
    for key in ("metrics", "weighted_metrics"):
        args[key] = _per_output_lists(model, args[key])
    model.compile(optimizer=optimizer, **args)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model (uncompiled unless the JSON holds a compile_config, as Keras') from
    ``model.to_json()``'s string. The JSON is parsed with the bounds of config.json;
    Lambda layers are refused with safe_mode=True (the default, or an enclosing
    SafeModeScope's), and nothing in the string can make fastkeras import or run code."""
    from fastkeras.models.model import Model
    from fastkeras.saving.serialization_lib import deserialize_keras_object, in_safe_mode

    if isinstance(json_string, (bytes, bytearray)):
        json_string = bytes(json_string).decode("utf-8")
    if not isinstance(json_string, str):
        raise TypeError(f"model_from_json: `json_string` must be a str, got "
                        f"{type(json_string).__name__}")
    if len(json_string) > MAX_CONFIG_BYTES:
        raise FileFormatError(f"model_from_json: `json_string` holds {len(json_string):,} "
                              f"characters (at most {MAX_CONFIG_BYTES:,})")
    config = bounded_json.loads(json_string, "model_from_json", "json_string")
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError("model_from_json: `json_string` is not a Keras model config (a JSON "
                         "object with 'class_name' and 'config')")
    scoped = in_safe_mode()
    safe_mode = scoped if scoped is not None else safe_mode
    check_safe(config, custom_objects, safe_mode)
    model = deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
    if not isinstance(model, Model):
        raise ValueError(f"model_from_json: `json_string` describes a "
                         f"{type(model).__name__}, not a model")
    return model


def model_to_json(model, **kwargs):
    """``model.to_json(**json.dumps kwargs)``: serialize_keras_object(model) as JSON."""
    from fastkeras.saving.serialization_lib import serialize_keras_object

    return json.dumps(serialize_keras_object(model), **kwargs)
