"""fastkeras.optimizers: tf.keras' optimizers on a fused multi-tensor C step."""
from fastkeras.optimizers import schedules
from fastkeras.optimizers.optimizer import Optimizer
from fastkeras.optimizers.sgd import SGD
from fastkeras.optimizers.adam import Adam, AdamW
from fastkeras.optimizers.rmsprop import RMSprop
from fastkeras.optimizers.adagrad import Adagrad, Adadelta
from fastkeras.optimizers.adamax import Adamax, Nadam, Lion

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "schedules", "get", "serialize", "deserialize"]

_BY_NAME = {c.__name__.lower(): c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax,
                                             Nadam, Lion)}


def get(identifier):
    """An optimizer from a name ("adam", "SGD"...), a config dict or an instance (None
    stays None, as in Keras)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. "
                             f"Known names: {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    """Keras 3's form: {"module", "class_name", "config", "registered_name"} (a custom
    optimizer under its module and registered name)."""
    from fastkeras.saving.serialization_lib import serialize_keras_object

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize: `optimizer` must be an Optimizer, got {optimizer!r}")
    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from serialize's dict (or Keras 2's); custom optimizer classes come
    from custom_objects, the active custom_object_scope or the registry."""
    from fastkeras.saving.object_registration import known_objects

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: `config` must be a dict with a 'class_name', got "
                         f"{config!r}")
    name = config["class_name"]
    if name.startswith("Custom>"):  # how Keras 2 .h5 files name the built-in optimizers
        name = name[len("Custom>"):]
    custom = known_objects(custom_objects)
    cls = custom.get(config.get("registered_name") or name) or custom.get(name) or \
        _BY_NAME.get(name.lower())
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ValueError(f"Unknown optimizer {name!r}")
    return cls.from_config(dict(config.get("config") or {}), custom_objects)
