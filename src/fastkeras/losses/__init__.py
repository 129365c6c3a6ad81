"""fastkeras.losses: tf.keras' loss functions and classes (names and semantics)."""
from fastkeras.losses.loss import Loss, LossFunctionWrapper, reduce_weighted_values
from fastkeras.losses.crossentropy import (
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from fastkeras.losses import regression as _regression
from fastkeras.losses.regression import (
    BinaryCrossentropy,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    binary_crossentropy,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)

from fastkeras.losses import more as _more
from fastkeras.losses.more import *  # noqa: F401,F403  (names in more.__all__)

mse = MSE = mean_squared_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "reduce_weighted_values",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    *_regression.__all__,
    *_more.__all__,
    "mse", "mae", "mape", "msle", "kld", "logcosh", "kullback_leibler_divergence",
    "get",
    "serialize",
    "deserialize",
]

_BY_NAME = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    **{name: getattr(_regression, name) for name in _regression.__all__},
    **{name: getattr(_more, name) for name in _more.__all__},
    "kld": kl_divergence, "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh,
    "huber_loss": huber,
    "mse": mean_squared_error, "mae": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
}


def get(identifier):
    """A loss from its name, config dict, class, instance or function (keras.losses.get)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        from fastkeras.saving.object_registration import lookup

        # custom_object_scope and the registry first, by exact name, as Keras; then the
        # built-ins; then a registered "package>name" by its name alone
        obj = lookup(identifier, suffix=False) or (
            None if identifier in _BY_NAME else lookup(identifier))
        if obj is not None:
            return obj() if isinstance(obj, type) else obj
        try:
            obj = _BY_NAME[identifier]
        except KeyError:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. "
                f"Known names: {sorted(_BY_NAME)}"
            ) from None
        return obj() if isinstance(obj, type) else obj
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """{"class_name": ..., "config": ...} for a Loss instance (Keras' layout)."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    if callable(loss) and getattr(loss, "__name__", None) in _BY_NAME:
        return loss.__name__
    raise ValueError(f"Cannot serialize {loss!r}")


def deserialize(config, custom_objects=None):
    """Inverse of serialize."""
    if isinstance(config, str):
        return get(config)
    from fastkeras.saving.object_registration import lookup

    name = config.get("class_name")
    cls = lookup(name, custom_objects) or _BY_NAME.get(name)
    if not isinstance(cls, type):
        raise ValueError(f"Unknown loss class {name!r}")
    return cls.from_config(config.get("config", {}))
