"""fastkeras.saving: ``.keras`` model files and ``.weights.h5`` weights files (h5py), and
Keras 3's object-saving API (registration, custom object scopes, serialize /
deserialize_keras_object).

Loading is safe for untrusted files (see the README's "Safe loading"): a file is read only
after it passed the checks of saving.hdf5_guard, within the load budget, and anything
wrong with it raises ``FileFormatError`` (a ValueError). Names in a config resolve only
to registered objects, custom_objects and fastkeras' own classes and functions."""
from fastkeras._limits import get_load_budget, set_load_budget
from fastkeras.saving.errors import FileFormatError
from fastkeras.saving.model_file import load_model, save_model
from fastkeras.saving.object_registration import (CustomObjectScope, custom_object_scope,
                                                  get_custom_objects, get_registered_name,
                                                  get_registered_object,
                                                  register_keras_serializable)
from fastkeras.saving.serialization_lib import (SafeModeScope, deserialize_keras_object,
                                                serialize_keras_object)
from fastkeras.saving.weights import load_weights, save_weights

__all__ = ["save_weights", "load_weights", "save_model", "load_model", "FileFormatError",
           "set_load_budget", "get_load_budget", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope",
           "serialize_keras_object", "deserialize_keras_object", "get_registered_name",
           "get_registered_object", "SafeModeScope"]
