"""One lookup for the serialisable families (initializers, regularizers, constraints):
Keras' {"module", "class_name", "config", "registered_name"} dicts, names and instances.
Custom ones resolve through the registry (register_keras_serializable), the active
custom_object_scope and custom_objects, never through a module the config names."""

import inspect

__all__ = ["Family"]


def _accepted(cls, cfg):
    """cfg without the keys cls's constructor does not take (newer Keras versions add
    some, e.g. an initializer's input_axes)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return cfg
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return cfg
    return {k: v for k, v in cfg.items() if k in params}


class Family:
    """serialize / deserialize / get for one family of configurable callables."""

    def __init__(self, kind, module, names):
        self.kind, self.module, self.names = kind, module, names

    def serialize(self, obj):
        """Keras 3's entry; a user's class is written under its own module and registered
        name, so that it resolves again when loaded."""
        from fastkeras.saving.serialization_lib import serialize_keras_object

        if type(obj).__module__.startswith("fastkeras."):
            return {"module": self.module, "class_name": type(obj).__name__,
                    "config": obj.get_config(), "registered_name": None}
        return serialize_keras_object(obj)

    def _custom(self, config, custom_objects):
        """A custom object the identifier names: by exact name, or by the name after
        "package>" unless that is one of the family's own names."""
        from fastkeras.saving.object_registration import lookup

        keys = [config] if isinstance(config, str) else [config.get("registered_name"),
                                                          config.get("class_name")]
        for key in keys:
            if isinstance(key, str):
                obj = lookup(key, custom_objects, suffix=key not in self.names)
                if obj is not None:
                    return obj
        return None

    def deserialize(self, config, custom_objects=None):
        if not isinstance(config, (str, dict)):
            raise ValueError(f"Could not interpret {self.kind} identifier: {config!r}")
        name = config.get("class_name") if isinstance(config, dict) else config
        cfg = config.get("config", {}) if isinstance(config, dict) else {}
        custom = self._custom(config, custom_objects)
        if custom is not None:
            if not inspect.isclass(custom):
                return custom  # a function (a custom regularizer, say)
            if hasattr(custom, "from_config") and isinstance(cfg, dict):
                return custom.from_config(cfg)
            return custom(**(cfg or {}))
        cls = self.names.get(name)
        if cls is None:
            raise ValueError(f"Unknown {self.kind}: {name!r}. Known: {sorted(self.names)}")
        return cls(**_accepted(cls, cfg or {}))

    def get(self, identifier):
        """An object from a name, a serialized dict or a callable; None stays None."""
        if identifier is None:
            return None
        if isinstance(identifier, (str, dict)):
            return self.deserialize(identifier)
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")
