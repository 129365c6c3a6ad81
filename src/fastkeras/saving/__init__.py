"""fastkeras.saving: ``.keras`` model files and ``.weights.h5`` weights files (h5py).

Loading is safe for untrusted files (see the README's "Safe loading"): a file is read only
after it passed the checks of saving.hdf5_guard, within the load budget, and anything
wrong with it raises ``FileFormatError`` (a ValueError)."""
from fastkeras._limits import get_load_budget, set_load_budget
from fastkeras.saving.errors import FileFormatError
from fastkeras.saving.model_file import load_model, save_model
from fastkeras.saving.weights import load_weights, save_weights

__all__ = ["save_weights", "load_weights", "save_model", "load_model", "FileFormatError",
           "set_load_budget", "get_load_budget"]
