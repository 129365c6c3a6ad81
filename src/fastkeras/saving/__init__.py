"""fastkeras.saving: weights files (Keras 3's ``.weights.h5`` layout, written with h5py)."""
from fastkeras.saving.weights import load_weights, save_weights

__all__ = ["save_weights", "load_weights"]
