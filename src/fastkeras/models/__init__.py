"""fastkeras.models: Model (functional and subclassed) and Sequential."""
from fastkeras.models.model import Functional, Model, Sequential

__all__ = ["Model", "Sequential", "Functional"]
