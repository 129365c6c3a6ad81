"""Custom objects: the global registry (``register_keras_serializable``, names
``"package>Name"``) and ``custom_object_scope`` (per thread, as Keras' global state is).

Loading resolves a name in a file only against these, the ``custom_objects`` a caller
passes and fastkeras' own classes and functions: a file never makes fastkeras import a
module or run code of its own."""
import inspect
import threading

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "register_keras_serializable", "get_registered_name", "get_registered_object"]

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_scope = threading.local()


def scope_objects():
    """The objects of the innermost custom_object_scope of this thread ({} outside one)."""
    return getattr(_scope, "objects", None) or {}


class CustomObjectScope:
    """``with custom_object_scope({"name": obj, ...}):`` makes those objects known to
    deserialization (load_model, model_from_json, from_config...) in this thread.

    Keras 3 takes one dict; several dicts (Keras 2) are merged, later ones winning. As in
    Keras 3, an inner scope replaces the outer one until it exits."""

    def __init__(self, *custom_objects):
        merged = {}
        for i, objects in enumerate(custom_objects):
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError("custom_object_scope: `custom_objects` must be dicts of "
                                f"{{name: object}}, got {type(objects).__name__} (argument "
                                f"{i})")
            merged.update(objects)
        self.custom_objects = merged
        self.backup = None

    def __enter__(self):
        self.backup = dict(scope_objects())
        _scope.objects = dict(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scope.objects = self.backup


custom_object_scope = CustomObjectScope


def get_custom_objects():
    """The live global dict of registered objects (scopes are not in it)."""
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class (which must have get_config) or a function under
    ``"package>name"`` (name defaults to the object's __name__), so that configs naming it
    load without custom_objects."""
    if not isinstance(package, str):
        raise TypeError(f"register_keras_serializable: `package` must be a string, got "
                        f"{package!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"register_keras_serializable: `name` must be a string or None, got "
                        f"{name!r}")

    def decorator(arg):
        class_name = name if name is not None else getattr(arg, "__name__", None)
        if class_name is None:
            raise TypeError("register_keras_serializable: can only register classes and "
                            f"functions (objects with a __name__), got {arg!r}")
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() "
                             "method.")
        registered_name = f"{package}>{class_name}"
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj):
    """The name obj is registered under ("package>Name"), else its __name__."""
    try:
        if obj in _GLOBAL_CUSTOM_NAMES:
            return _GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:  # unhashable
        pass
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object for `name`: from the active custom_object_scope, the registry,
    custom_objects, then module_objects (None if none has it)."""
    if not isinstance(name, str):
        return None
    for source in (scope_objects(), _GLOBAL_CUSTOM_OBJECTS, custom_objects or {},
                   module_objects or {}):
        if name in source:
            return source[name]
    return None


def known_objects(custom_objects=None):
    """custom_objects, the active scope and the registry in one dict (the registry wins,
    as in Keras' deserialize_keras_object)."""
    return {**(custom_objects or {}), **scope_objects(), **_GLOBAL_CUSTOM_OBJECTS}


def custom_class(class_name, registered_name=None, custom_objects=None):
    """The custom object a saved entry names: by its registered name, then its class name,
    then a registered name's part after ">" (an object registered as "pkg>Name" and passed
    in custom_objects as "Name"); None when none is known."""
    known = known_objects(custom_objects)
    for key in (registered_name, class_name):
        if isinstance(key, str) and key in known:
            return known[key]
    if isinstance(registered_name, str) and ">" in registered_name:
        return known.get(registered_name.split(">", 1)[1])
    return None


def lookup(name, custom_objects=None, suffix=True):
    """A custom object by exact name, or (suffix=True) by the part after ">" of a
    registered name (a function written as "my_fn" that was registered as
    "Custom>my_fn")."""
    if not isinstance(name, str):
        return None
    known = known_objects(custom_objects)
    if name in known:
        return known[name]
    if suffix and ">" not in name:
        matches = [obj for key, obj in known.items() if key.endswith(">" + name)]
        if matches:
            return matches[0]
    return None
