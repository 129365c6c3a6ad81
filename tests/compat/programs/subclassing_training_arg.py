"""keras-io guides/making_new_layers_and_models_via_subclassing.py: the privileged
`training` argument (a CustomDropout layer with keras.random.dropout and a
SeedGenerator) and the backend-agnostic layer example.

Port: as written; values depend on each library's random stream, so only what does not
(training=False passes inputs through; the kept fraction is roughly 1 - rate) is compared.
"""
import numpy as np

from ..harness import to_numpy

SOURCE = "guides/making_new_layers_and_models_via_subclassing.py"


def run(lib):
    keras = lib.keras
    out = {}

    class CustomDropout(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
            return inputs

    layer = CustomDropout(0.5)
    x = np.ones((100, 100), "float32")
    out["inference_identity"] = bool(np.array_equal(to_numpy(layer(x, training=False)), x))
    dropped = to_numpy(layer(x, training=True))
    out["kept_fraction_close_to_half"] = bool(abs((dropped > 0).mean() - 0.5) < 0.05)
    out["kept_values_scaled"] = bool(np.allclose(dropped[dropped > 0], 2.0))

    inputs = keras.Input((100,))
    model = keras.Model(inputs, CustomDropout(0.2)(keras.layers.Dense(8)(inputs)))
    out["model_output_shape"] = list(model.output_shape)
    return out
