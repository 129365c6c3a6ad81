"""One lookup for the serialisable families (initializers, regularizers, constraints):
Keras' {"module", "class_name", "config", "registered_name"} dicts, names and instances."""

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
        return {"module": self.module, "class_name": type(obj).__name__,
                "config": obj.get_config(), "registered_name": None}

    def deserialize(self, config, custom_objects=None):
        name = config["class_name"] if isinstance(config, dict) else config
        cfg = config.get("config", {}) if isinstance(config, dict) else {}
        cls = (custom_objects or {}).get(name) or self.names.get(name)
        if cls is None:
            raise ValueError(f"Unknown {self.kind}: {name!r}. Known: {sorted(self.names)}")
        return cls(**_accepted(cls, cfg))

    def get(self, identifier):
        """An object from a name, a serialized dict or a callable; None stays None."""
        if identifier is None:
            return None
        if isinstance(identifier, (str, dict)):
            return self.deserialize(identifier)
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")
