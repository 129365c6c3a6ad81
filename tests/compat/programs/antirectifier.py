"""keras-io examples/keras_recipes/antirectifier.py: a custom Antirectifier layer
(initializer fetched with keras.initializers.get, a kernel made in build, mean-centring,
concatenated relu(x) / relu(-x), a matmul) with get_config, inside a Sequential MNIST
classifier with Dropout, SparseCategoricalCrossentropy(from_logits=True), RMSprop,
SparseCategoricalAccuracy, validation_split, evaluate.

Port: MNIST 784 -> digits 64 (1,200 train, 597 test); epochs 20 -> 2. The Dropout(0.1)
layer draws different masks in each library, so training numbers are compared loosely.
"""
import numpy as np

from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "examples/keras_recipes/antirectifier.py"
TOLERANCES = {"history": (0.1, 0.03), "test": (0.1, 0.03)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}

    class Antirectifier(layers.Layer):
        def __init__(self, initializer="he_normal", **kwargs):
            super().__init__(**kwargs)
            self.initializer = keras.initializers.get(initializer)

        def build(self, input_shape):
            output_dim = input_shape[-1]
            self.kernel = self.add_weight(shape=(output_dim * 2, output_dim),
                                          initializer=self.initializer, name="kernel",
                                          trainable=True)

        def call(self, inputs):
            inputs -= ops.mean(inputs, axis=-1, keepdims=True)
            pos = ops.relu(inputs)
            neg = ops.relu(-inputs)
            concatenated = ops.concatenate([pos, neg], axis=-1)
            return ops.matmul(concatenated, self.kernel)

        def get_config(self):
            base_config = super().get_config()
            config = {"initializer": keras.initializers.serialize(self.initializer)}
            return dict(list(base_config.items()) + list(config.items()))

    layer = Antirectifier()
    layer.build((None, 4))
    seed_weights(layer, 0)
    probe = np.array([[1.0, -2.0, 3.0, 0.5]], "float32")
    out["layer_output"] = to_numpy(layer(probe))
    config = layer.get_config()
    out["config_initializer_class"] = config["initializer"]["class_name"]
    out["config_roundtrip"] = type(Antirectifier.from_config(config).initializer).__name__

    x, y = digits(flat=True)
    x_train, y_train = x[:1200], y[:1200]
    x_test, y_test = x[1200:], y[1200:]
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.1),
        layers.Dense(10),
    ])
    out["params"] = model.count_params()
    seed_weights(model, 1)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    h = model.fit(x_train, y_train, batch_size=128, epochs=2, validation_split=0.15, verbose=0,
                  shuffle=False)
    out["history"] = history(h)
    out["test"] = [float(v) for v in model.evaluate(x_test, y_test, verbose=0)]
    return out
