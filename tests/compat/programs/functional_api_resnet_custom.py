"""keras-io guides/functional_api.py: the toy ResNet (residual connections with
layers.add), a CustomDense layer with get_config and Model.from_config(custom_objects=),
and a custom RNN layer (tf.zeros / tf.stack -> keras.ops) mixed with a Conv1D in a
functional model whose Input has a static batch_shape.

Port: CIFAR-10 -> random 32x32x3 images with random labels (100 samples, as the guide
trains on a 1,000-sample slice); tf.matmul -> ops.matmul. The toy ResNet keeps its
Dropout(0.5), so its training loss is compared loosely (different dropout masks).
"""
import numpy as np

from ..harness import history, seed_weights, shape, to_numpy

SOURCE = "guides/functional_api.py"
TOLERANCES = {"resnet_history": (0.1, 0.05)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    rng = np.random.default_rng(0)

    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    seed_weights(model, 0)
    out["resnet_params"] = model.count_params()
    out["resnet_layers"] = len(model.layers)
    x_train = rng.random((100, 32, 32, 3)).astype("float32")
    y_train = keras.utils.to_categorical(rng.integers(10, size=(100, 1)), 10)
    out["to_categorical_shape"] = shape(y_train.shape)
    probe = to_numpy(model(x_train[:4], training=False))
    out["resnet_inference"] = probe
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["acc"])
    h = model.fit(x_train, y_train, batch_size=64, epochs=1, validation_split=0.2, verbose=0,
                  shuffle=False)
    out["resnet_history_keys"] = sorted(h.history)
    out["resnet_history"] = {k: v for k, v in history(h).items() if "loss" in k}

    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                     trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {"units": self.units}

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    seed_weights(model, 1)
    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    out["custom_dense_params"] = new_model.count_params()
    out["custom_dense_layer_types"] = [type(layer).__name__ for layer in new_model.layers]
    new_model.set_weights(model.get_weights())
    probe = rng.random((3, 4)).astype("float32")
    out["from_config_same_outputs"] = bool(np.allclose(to_numpy(model(probe)),
                                                       to_numpy(new_model(probe))))

    units, timesteps, input_dim, batch_size = 32, 10, 5, 16

    class CustomRNN(layers.Layer):
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = layers.Dense(1)

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN()(x)
    model = keras.Model(inputs, outputs)
    out["custom_rnn_output_shape"] = shape(model.output_shape)
    seed_weights(model, 2)
    data = rng.random((batch_size, timesteps, input_dim)).astype("float32")
    out["custom_rnn_outputs"] = to_numpy(model(data))
    rnn_model = CustomRNN()
    out["custom_rnn_alone_shape"] = shape(rnn_model(ops.zeros((1, 10, 5))).shape)
    return out
