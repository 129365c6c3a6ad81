"""fastkeras.saving: ``.keras`` model files and ``.weights.h5`` weights files (h5py)."""
from fastkeras.saving.model_file import load_model, save_model
from fastkeras.saving.weights import load_weights, save_weights

__all__ = ["save_weights", "load_weights", "save_model", "load_model"]
