"""fastkeras.models: Model (functional and subclassed) and Sequential; load_model /
save_model, model_from_json, clone_model."""
from fastkeras.models.model import Functional, Model, Sequential
from fastkeras.models.cloning import clone_model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with ``model.save("....keras")`` (see fastkeras.saving)."""
    from fastkeras.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """``model.save(filepath)`` (keras.models.save_model)."""
    from fastkeras.saving import save_model as _save

    return _save(model, filepath, overwrite=overwrite)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model from ``model.to_json()`` (see fastkeras.saving.model_file.model_from_json)."""
    from fastkeras.saving.model_file import model_from_json as _from_json

    return _from_json(json_string, custom_objects=custom_objects, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "model_from_json",
           "clone_model"]
