"""keras-io guides/serialization_and_saving.py, custom objects: a custom layer and a
custom activation registered with keras.saving.register_keras_serializable, saved and
loaded; the same classes passed through custom_objects= and through
keras.saving.custom_object_scope; keras.saving.get_registered_name.

Port: the guide's 4 x 4 random training data with a fixed seed.
"""
import os

import numpy as np

from ..harness import seed_weights, tmpdir, to_numpy

SOURCE = "guides/serialization_and_saving.py"


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)

    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x ** 2

    out["registered_names"] = [keras.saving.get_registered_name(CustomLayer),
                               keras.saving.get_registered_name(custom_fn)]

    def get_model():
        inputs = keras.Input(shape=(4,))
        mid = CustomLayer(0.5)(inputs)
        outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        return model

    test_input = rng.random((4, 4)).astype("float32")
    model = seed_weights(get_model(), 0)
    model.fit(rng.random((4, 4)), rng.random((4, 1)), verbose=0, shuffle=False)
    with tmpdir() as d:
        path = os.path.join(d, "custom_model.keras")
        model.save(path)
        reconstructed = keras.models.load_model(path)
        out["registered_reload_equal"] = bool(np.allclose(model.predict(test_input, verbose=0),
                                                          reconstructed.predict(test_input,
                                                                                verbose=0)))
        out["reloaded_layer_types"] = [type(layer).__name__ for layer in reconstructed.layers]
        out["reloaded_factor"] = reconstructed.layers[1].factor

        class PlainLayer(keras.layers.Layer):
            def __init__(self, factor, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, x):
                return x * self.factor

            def get_config(self):
                config = super().get_config()
                config["factor"] = self.factor
                return config

        inputs = keras.Input(shape=(4,))
        outputs = keras.layers.Dense(2)(PlainLayer(3.0)(inputs))
        plain = seed_weights(keras.Model(inputs, outputs), 1)
        path2 = os.path.join(d, "plain.keras")
        plain.save(path2)
        loaded = keras.models.load_model(path2, custom_objects={"PlainLayer": PlainLayer})
        out["custom_objects_outputs"] = to_numpy(loaded(test_input))
        with keras.saving.custom_object_scope({"PlainLayer": PlainLayer}):
            scoped = keras.models.load_model(path2)
        out["scope_equal"] = bool(np.allclose(to_numpy(scoped(test_input)),
                                              to_numpy(plain(test_input))))
    return out
