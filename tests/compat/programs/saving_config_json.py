"""keras-io guides/serialization_and_saving.py, architecture only: layer get_config /
from_config (the configs' keys are compared in layer_configs), Sequential and functional get_config / from_config, to_json /
keras.models.model_from_json, keras.models.clone_model, and
keras.saving.serialize_keras_object / deserialize_keras_object.
"""
import json

import numpy as np

from ..harness import seed_weights, shape, to_numpy

SOURCE = "guides/serialization_and_saving.py"


def run(lib):
    keras = lib.keras
    out = {}
    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    new_layer = keras.layers.Dense.from_config(layer_config)
    out["dense_roundtrip"] = [new_layer.units, new_layer.get_config()["activation"]]

    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    new_model = keras.Sequential.from_config(config)
    out["sequential_config_layers"] = len(config["layers"])
    out["sequential_roundtrip_params"] = new_model.count_params()

    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    out["functional_config_keys"] = sorted(config)  # Keras' from_config consumes the dict
    new_model = keras.Model.from_config(config)
    out["functional_roundtrip_params"] = new_model.count_params()

    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    out["json_class_name"] = json.loads(json_config)["class_name"]
    new_model = keras.models.model_from_json(json_config)
    out["json_roundtrip_params"] = new_model.count_params()

    seed_weights(model, 0)
    clone = keras.models.clone_model(model)
    out["clone_params"] = clone.count_params()
    out["clone_has_fresh_weights"] = not np.array_equal(model.get_weights()[0],
                                                        clone.get_weights()[0])
    clone.set_weights(model.get_weights())
    probe = np.linspace(0, 1, 64, dtype="float32").reshape(2, 32)
    out["clone_outputs"] = to_numpy(clone(probe))

    serialized = keras.saving.serialize_keras_object(keras.layers.Dense(4, name="d4"))
    out["serialized_keys"] = sorted(serialized)
    restored = keras.saving.deserialize_keras_object(serialized)
    out["deserialized"] = [type(restored).__name__, restored.units, restored.name]
    out["deserialized_output_shape"] = shape(restored(np.ones((2, 3), "float32")).shape)
    return out
