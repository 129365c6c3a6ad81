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
    """An optimizer from a name ("adam", "SGD"...), a config dict or an instance."""
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
    """Keras 3's form: {"module", "class_name", "config", "registered_name"}."""
    builtin = type(optimizer).__module__.startswith("fastkeras.")
    name = type(optimizer).__name__
    return {"module": "keras.optimizers" if builtin else type(optimizer).__module__,
            "class_name": name, "config": optimizer.get_config(),
            "registered_name": None if builtin else name}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    if name.startswith("Custom>"):  # how Keras 2 .h5 files name the built-in optimizers
        name = name[len("Custom>"):]
    custom = custom_objects or {}
    cls = custom.get(config.get("registered_name") or name) or custom.get(name) or \
        _BY_NAME.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer {name!r}")
    return cls.from_config(config.get("config", {}), custom_objects)
