"""``serialize_keras_object`` / ``deserialize_keras_object`` in Keras 3's layout: every
object is ``{"module", "class_name", "config", "registered_name"}``, functions
``{"module": "builtins", "class_name": "function", "config": <registered name>,
"registered_name": "function"}``, arrays ``__numpy__`` / ``__tensor__`` entries.

Deserializing never imports a module named in the config and never runs code from it. A
name resolves, in order, to: the active custom_object_scope, the registry
(register_keras_serializable), the caller's custom_objects, then fastkeras' own public
classes and functions of the family the ``module`` names (``keras.layers`` ->
fastkeras.layers, ``keras.losses`` -> fastkeras.losses ...). Python lambdas
(``__lambda__``, marshalled bytecode) are refused: with safe_mode=True (the default) as
Keras refuses them, and without it too, since fastkeras never runs code stored in a config.
"""
import importlib
import inspect
import threading
import types
import warnings

import numpy as np

from fastkeras.saving.object_registration import (CustomObjectScope, get_registered_name,
                                                  known_objects, lookup)

__all__ = ["serialize_keras_object", "deserialize_keras_object", "SafeModeScope",
           "in_safe_mode"]

_PLAIN = (str, int, float, bool)
_state = threading.local()

# fastkeras package -> the public Keras module its classes are written under
_PUBLIC_MODULES = (
    ("fastkeras.optimizers.schedules", "keras.optimizers.schedules"),
    ("fastkeras.optimizers", "keras.optimizers"),
    ("fastkeras.layers", "keras.layers"),
    ("fastkeras.losses", "keras.losses"),
    ("fastkeras.metrics", "keras.metrics"),
    ("fastkeras.initializers", "keras.initializers"),
    ("fastkeras.regularizers", "keras.regularizers"),
    ("fastkeras.constraints", "keras.constraints"),
    ("fastkeras.activations", "keras.activations"),
)
# the only fastkeras modules a config can name objects of (by their __all__)
_FAMILIES = ("layers", "losses", "metrics", "optimizers", "optimizers.schedules",
             "initializers", "regularizers", "constraints", "activations")
# functions written with module "builtins" are looked up in these families, in order
_FUNCTION_FAMILIES = ("activations", "losses", "metrics")
# public names of those modules that are not modeling objects
# built-ins whose constructors drop config keys they do not know (as their families' get do)
_FILTERED_FAMILIES = frozenset({"fastkeras.initializers", "fastkeras.regularizers",
                                "fastkeras.constraints"})
_NOT_MODELING = frozenset({"get", "serialize", "deserialize", "compute_dask",
                           "reduce_weighted_values", "schedules", "Input"})


class SafeModeScope:
    """``with SafeModeScope(False):`` sets safe_mode for nested deserialization (this
    thread), as Keras' scope of the same name."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self.original = in_safe_mode()
        _state.safe_mode = self.safe_mode
        return self

    def __exit__(self, *exc):
        _state.safe_mode = self.original


def in_safe_mode():
    """The safe_mode of the enclosing SafeModeScope (None outside one)."""
    return getattr(_state, "safe_mode", None)


# ------------------------------------------------------------------------------ serialize
def _public_module(cls):
    module = cls.__module__
    for ours, keras in _PUBLIC_MODULES:
        if module == ours or module.startswith(ours + "."):
            return keras
    return None


def _is_function(obj):
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) or (
        callable(obj) and not hasattr(obj, "get_config") and hasattr(obj, "__name__")
        and not inspect.isclass(obj))


def serialize_keras_object(obj):
    """A JSON-ready description of obj (layers, models, losses, metrics, optimizers,
    schedules, initializers, regularizers, constraints, functions, arrays, containers)."""
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        out = [serialize_keras_object(x) for x in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    if isinstance(obj, dict):
        return serialize_dict(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    from fastkeras.ops.tensor import Tensor

    if isinstance(obj, Tensor):
        value = np.asarray(obj._value)
        return {"class_name": "__tensor__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.item()
    if isinstance(obj, np.dtype):
        return obj.name
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        warnings.warn("The object being serialized includes a `lambda`: fastkeras writes no "
                      "code into configs, so it cannot be reloaded. Use a named function "
                      "(registered, or passed in custom_objects when loading).", stacklevel=2)
        return {"class_name": "__lambda__", "config": {"value": None}}
    from fastkeras.layers.base import Layer

    if isinstance(obj, Layer):
        return _serialize_layer(obj)
    if _is_function(obj):
        return {"module": "builtins", "class_name": "function",
                "config": get_registered_name(obj), "registered_name": "function"}
    if inspect.isclass(obj):  # a class itself: by its registered name
        return {"module": "builtins", "class_name": "type", "config": get_registered_name(obj),
                "registered_name": "type"}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj).__name__}. To be "
                        "serializable, a class must implement the `get_config()` method.")
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The `get_config()` method of {obj!r} should return a dict. It "
                        f"returned: {config!r}")
    cls = type(obj)
    public = _public_module(cls)
    if public is not None:
        return {"module": public, "class_name": cls.__name__, "config": serialize_dict(config),
                "registered_name": None}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__,
            "class_name": cls.__name__, "config": serialize_dict(config),
            "registered_name": get_registered_name(cls)}


def serialize_dict(obj):
    return {key: serialize_keras_object(value) for key, value in obj.items()}


def _serialize_layer(layer):
    from fastkeras.models.configs import layer_entry, model_entry
    from fastkeras.models.model import Model

    if isinstance(layer, Model):
        from fastkeras.saving.model_file import saved_compile_config

        entry = model_entry(layer)
        compile_config = saved_compile_config(layer)
        if compile_config is not None:
            entry["compile_config"] = compile_config
        return entry
    return layer_entry(layer)


# ---------------------------------------------------------------------------- deserialize
def _family(module):
    """The fastkeras family a Keras module path names ("keras.layers",
    "keras.src.losses.losses"...): "keras" for the top level, None for anything else."""
    if not isinstance(module, str):
        return None
    parts = module.split(".")
    if parts[0] != "keras":
        return None
    rest = parts[2:] if len(parts) > 1 and parts[1] == "src" else parts[1:]
    if not rest:
        return "keras"
    if rest[0] == "optimizers" and len(rest) > 1 and rest[1] == "schedules":
        return "optimizers.schedules"
    if rest[0] in ("models", "ops"):
        return rest[0]
    return rest[0] if rest[0] in _FAMILIES else None


def _models():
    from fastkeras import models

    return {"Sequential": models.Sequential, "Functional": models.Model, "Model": models.Model}


def builtin_object(family, name, want="class"):
    """fastkeras' own public class (want="class") or function (want="function") called
    `name` in `family`, or None. Only the fixed families are looked into, by __all__."""
    if not isinstance(name, str) or name.startswith("_") or name in _NOT_MODELING:
        return None
    if family in ("keras", "models"):
        return _models().get(name) if want == "class" else None
    if family not in _FAMILIES:
        return None
    module = importlib.import_module(f"fastkeras.{family}")
    if name not in getattr(module, "__all__", ()):
        return None
    obj = getattr(module, name, None)
    if want == "class":
        return obj if inspect.isclass(obj) and hasattr(obj, "from_config") else None
    return obj if callable(obj) and not inspect.isclass(obj) else None


def _array(inner, what):
    dtype = np.dtype(inner.get("dtype") or "float32")
    if dtype.kind not in "biufU":
        raise ValueError(f"Refusing a {what} entry of dtype {dtype}: only numbers, booleans "
                         "and strings")
    return np.asarray(inner.get("value"), dtype=dtype)


def _refuse_lambda(safe_mode):
    if safe_mode:
        raise ValueError(
            "Requested the deserialization of a Python lambda. This carries a potential risk "
            "of arbitrary code execution and thus it is disallowed by default "
            "(safe_mode=True). fastkeras never runs code stored in a config: pass a named "
            "function in custom_objects (or register it) instead.")
    raise ValueError("Requested the deserialization of a Python lambda: fastkeras never runs "
                     "code stored in a config, even with safe_mode=False. Pass a named function "
                     "in custom_objects (or register it) instead.")


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object `config` describes (see serialize_keras_object). `custom_objects` maps
    names to classes / functions; `module_objects` (a keyword, as in Keras) is a family's
    own {name: object} table, for configs without a module."""
    module_objects = kwargs.pop("module_objects", None)
    kwargs.pop("printable_module_name", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected argument(s) {sorted(kwargs)}")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("deserialize_keras_object: `custom_objects` must be a dict of "
                        f"{{name: object}}, got {type(custom_objects).__name__}")
    scoped = in_safe_mode()
    safe_mode = scoped if scoped is not None else bool(safe_mode)
    custom = known_objects(custom_objects)
    return _deserialize(config, custom, safe_mode, module_objects)


def _deserialize(config, custom, safe_mode, module_objects=None):
    if config is None:
        return None
    if isinstance(config, str):
        if config in custom:
            return custom[config]
        if module_objects is not None and config in module_objects:
            return _from_module_objects(module_objects[config], None, custom, safe_mode)
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, custom, safe_mode, module_objects) for x in config]
    if isinstance(config, _PLAIN):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom, safe_mode, module_objects) for k, v in config.items()}

    class_name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    special = _special(class_name, inner, custom, safe_mode)
    if special is not _NOT_SPECIAL:
        return special
    if not isinstance(class_name, str):
        raise TypeError(f"Expected 'class_name' to be a string, got {class_name!r}")
    module = config.get("module")
    if class_name in ("function", "type"):
        if not isinstance(inner, str):
            raise TypeError(f"Expected 'config' to be a non-null str for a {class_name} "
                            f"entry, instead got {type(inner).__name__}. Full object config: "
                            f"{config}")
        return _retrieve(inner, module, "function" if class_name == "function" else "class",
                         config, custom, module_objects)
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}, instead got "
                        f"{type(inner).__name__}. Full object config: {config}")
    registered = config.get("registered_name", class_name)
    cls = None
    for key in (registered, class_name):
        if isinstance(key, str) and key in custom:
            cls = custom[key]
            break
    if cls is None and module_objects is not None and class_name in module_objects:
        cls = module_objects[class_name]
    if cls is None:
        cls = _retrieve(class_name, module, "class", config, custom, None)
    if isinstance(cls, types.FunctionType):
        return cls
    return instantiate(cls, config, custom, safe_mode)


_NOT_SPECIAL = object()


def _special(class_name, inner, custom, safe_mode):
    """Keras' reserved entries (arrays, bytes, slices, lambdas...), else _NOT_SPECIAL."""
    if class_name == "__lambda__":
        _refuse_lambda(safe_mode)
    if class_name == "__numpy__":
        return _array(inner, "__numpy__")
    if class_name == "__tensor__":
        from fastkeras.ops.tensor import Tensor

        return Tensor(_array(inner, "__tensor__"))
    if class_name == "__bytes__":
        return str(inner["value"]).encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(_deserialize(inner.get(k), custom, safe_mode)
                       for k in ("start", "stop", "step")))
    if class_name == "__keras_tensor__":
        raise ValueError("A `__keras_tensor__` entry only has a meaning inside a functional "
                         "model's config")
    if class_name == "__typespec__":
        if not isinstance(inner, (list, tuple)):
            raise TypeError("Expected 'config' to be a list or a tuple for a __typespec__ "
                            f"class name, instead got {type(inner).__name__}")
        raise ValueError("`__typespec__` entries (TensorFlow type specs) are not supported")
    return _NOT_SPECIAL


def _from_module_objects(obj, inner, custom, safe_mode):
    if inspect.isclass(obj):
        entry = {"class_name": obj.__name__, "config": inner or {}}
        return instantiate(obj, entry, custom, safe_mode)
    return obj


def _retrieve(name, module, want, full_config, custom, module_objects):
    """The class or function `name` of an entry: a custom object by exact name, the
    family's table, fastkeras' own (by the entry's module; functions of "builtins" in the
    activations, losses and metrics), then a registered function by its bare name."""
    obj = custom.get(name) if isinstance(name, str) else None
    if obj is not None:
        return obj
    if module_objects is not None and name in module_objects:
        return module_objects[name]
    family = _family(module)
    if family is not None:
        obj = builtin_object(family, name, want)
        if obj is not None:
            return _builtin_checked(full_config, name, obj)
    if want == "function" and (module == "builtins" or module is None):
        for fam in _FUNCTION_FAMILIES:
            obj = builtin_object(fam, name, "function")
            if obj is not None:
                return _builtin_checked(full_config, name, obj)
        obj = lookup(name, custom)  # "my_fn", registered as "package>my_fn"
        if obj is not None:
            return obj
    if full_config.get("module", "_") is None and want == "class":
        raise TypeError(f"Cannot deserialize object of type `{name}`. If `{name}` is a custom "
                        "class, please register it using the "
                        "`@keras.saving.register_keras_serializable()` decorator (or pass it "
                        "in custom_objects).")
    raise TypeError(f"Could not locate {want} '{name}'. Make sure custom classes and functions "
                    "are decorated with `@keras.saving.register_keras_serializable()` or "
                    "passed in `custom_objects`. If they are already decorated, make sure "
                    "they are all imported so that the decorator is run before trying to "
                    f"load them. Full object config: {full_config}")


def _builtin_checked(full_config, name, obj):
    """Keras' rule: an entry that resolves to a built-in must not carry another registered
    name (a config claiming "my_pkg>MyDense" for a Dense is refused, not read as Dense)."""
    explicit = full_config.get("registered_name")
    if explicit and explicit not in (name, full_config.get("class_name")):
        raise ValueError(f"`registered_name={explicit!r}` was provided in the config, but "
                         f"'{name}' resolved to a Keras built-in and does not use registered "
                         f"names. Remove the `registered_name` field from the config. Full "
                         f"object config: {full_config}")
    return obj


def _takes(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def instantiate(cls, entry, custom, safe_mode):
    """cls.from_config(entry's config) with the custom objects in scope; layers and models
    go through the model-config readers (Lambda checks, build and compile configs)."""
    from fastkeras.layers.base import Layer

    if not hasattr(cls, "from_config"):
        raise TypeError(f"Unable to reconstruct an instance of '{entry['class_name']}' because "
                        f"the class is missing a `from_config()` method. Full object config: "
                        f"{entry}")
    with CustomObjectScope(custom), SafeModeScope(safe_mode):
        if inspect.isclass(cls) and issubclass(cls, Layer):
            return _layer_or_model(cls, entry, custom, safe_mode)
        inner = entry.get("config") or {}
        if cls.__module__ in _FILTERED_FAMILIES:  # Keras adds keys (input_axes...) later
            from fastkeras._serialization import _accepted

            inner = _accepted(cls, inner)
        try:
            if _takes(cls.from_config, "custom_objects"):
                return cls.from_config(inner, custom_objects=custom)
            return cls.from_config(inner)
        except TypeError as e:
            raise TypeError(f"{cls} could not be deserialized properly: its from_config() "
                            f"failed on config={entry} ({e})") from e


def _layer_or_model(cls, entry, custom, safe_mode):
    from fastkeras.models.configs import make_layer
    from fastkeras.models.model import Model
    from fastkeras.saving.model_file import check_safe, restore_compile

    check_safe(entry, custom, safe_mode)
    if not issubclass(cls, Model):
        return make_layer(entry, custom, cls=cls)
    inner = entry.get("config") or {}
    if _takes(cls.from_config, "custom_objects"):
        model = cls.from_config(inner, custom_objects=custom)
    else:
        model = cls.from_config(inner)
    build = entry.get("build_config")
    if not model.built and isinstance(build, dict) and build.get("input_shape") is not None:
        shape = build["input_shape"]
        model.build(tuple(shape) if isinstance(shape, list) and all(
            d is None or isinstance(d, int) for d in shape) else shape)
    if entry.get("compile_config"):
        restore_compile(model, entry["compile_config"], custom, safe_mode)
    return model
