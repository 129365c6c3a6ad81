"""fastkeras.models: Model (functional and subclassed) and Sequential."""
from fastkeras.models.model import Functional, Model, Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with ``model.save("....keras")`` (see fastkeras.saving)."""
    from fastkeras.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "Functional", "load_model"]
