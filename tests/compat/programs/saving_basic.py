"""keras-io guides/serialization_and_saving.py: model.save / keras.models.load_model
(predictions equal, the optimizer state kept so training resumes identically),
save_weights / load_weights (.weights.h5), get_weights / set_weights between two models
of the same architecture (one functional, one subclassed), and load_model(compile=False).

Port: np.random.random data with a fixed seed; files in a temporary directory.
"""
import os

import numpy as np

from ..harness import history, seed_weights, tmpdir, to_numpy

SOURCE = "guides/serialization_and_saving.py"


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)

    def get_model():
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
        return model

    test_input = rng.random((128, 32)).astype("float32")
    test_target = rng.random((128, 1)).astype("float32")
    model = seed_weights(get_model(), 0)
    model.fit(test_input, test_target, verbose=0, shuffle=False)
    with tmpdir() as d:
        path = os.path.join(d, "my_model.keras")
        model.save(path)
        reconstructed_model = keras.models.load_model(path)
        out["predictions_equal"] = bool(np.allclose(model.predict(test_input, verbose=0),
                                                    reconstructed_model.predict(test_input,
                                                                                verbose=0)))
        out["reloaded_optimizer"] = type(reconstructed_model.optimizer).__name__
        out["reloaded_iterations"] = int(np.asarray(reconstructed_model.optimizer.iterations))
        h1 = model.fit(test_input, test_target, verbose=0, shuffle=False)
        h2 = reconstructed_model.fit(test_input, test_target, verbose=0, shuffle=False)
        out["resumed_training"] = [history(h1)["loss"], history(h2)["loss"]]
        uncompiled = keras.models.load_model(path, compile=False)
        out["compile_false_predicts"] = to_numpy(uncompiled.predict(test_input[:2], verbose=0))

        weights_path = os.path.join(d, "ckpt.weights.h5")
        model.save_weights(weights_path)
        other = get_model()
        other.load_weights(weights_path)
        out["load_weights_equal"] = bool(all(np.array_equal(a, b) for a, b in
                                             zip(model.get_weights(), other.get_weights())))

    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    seed_weights(layer_1, 1)
    layer_2 = create_layer()
    layer_2.set_weights(layer_1.get_weights())
    out["layer_transfer_equal"] = bool(all(np.array_equal(a, b) for a, b in
                                           zip(layer_1.get_weights(), layer_2.get_weights())))

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
    seed_weights(functional_model, 2)

    class SubclassedModel(keras.Model):
        def __init__(self, output_dim, name=None):
            super().__init__(name=name)
            self.output_dim = output_dim
            self.dense_1 = keras.layers.Dense(64, activation="relu", name="dense_1")
            self.dense_2 = keras.layers.Dense(64, activation="relu", name="dense_2")
            self.dense_3 = keras.layers.Dense(output_dim, name="predictions")

        def call(self, inputs):
            x = self.dense_1(inputs)
            x = self.dense_2(x)
            return self.dense_3(x)

    subclassed_model = SubclassedModel(10)
    subclassed_model(np.ones((1, 784)))
    subclassed_model.set_weights(functional_model.get_weights())
    probe = rng.random((2, 784)).astype("float32")
    out["subclassed_transfer_outputs"] = to_numpy(subclassed_model(probe))
    out["subclassed_transfer_equal"] = bool(np.allclose(to_numpy(subclassed_model(probe)),
                                                        to_numpy(functional_model(probe))))
    return out
