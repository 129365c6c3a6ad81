"""keras-io guides/intro_to_keras_for_engineers.py, "Writing cross-framework custom
components": a MyDense layer (keras.activations.get, GlorotNormal / Zeros initializer
objects, keras.ops.matmul), a MyDropout layer (keras.random.dropout with a
SeedGenerator), a MyModel subclass holding a Sequential conv base built on first call,
compiled and fit with validation_split, then fit on batched data from another source.

Port: MNIST -> digits 16x16 (480 samples); filters cut to 16/32; the PyTorch DataLoader /
tf.data sources -> a Python generator of batches with steps_per_epoch. Dropout masks
differ between libraries: losses within 10%, accuracies within 0.15.
"""
import numpy as np

from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "guides/intro_to_keras_for_engineers.py"
TOLERANCES = {"loss": (0.1, 0.0), "acc": (0.0, 0.15)}


def run(lib):
    keras = lib.keras
    out = {}

    class MyDense(keras.layers.Layer):
        def __init__(self, units, activation=None, name=None):
            super().__init__(name=name)
            self.units = units
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            input_dim = input_shape[-1]
            self.w = self.add_weight(shape=(input_dim, self.units),
                                     initializer=keras.initializers.GlorotNormal(),
                                     name="kernel", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer=keras.initializers.Zeros(),
                                     name="bias", trainable=True)

        def call(self, inputs):
            x = keras.ops.matmul(inputs, self.w) + self.b
            return self.activation(x)

    class MyDropout(keras.layers.Layer):
        def __init__(self, rate, name=None):
            super().__init__(name=name)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)

    class MyModel(keras.Model):
        def __init__(self, num_classes):
            super().__init__()
            self.conv_base = keras.Sequential([
                keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
                keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
            ])
            self.dp = MyDropout(0.5)
            self.dense = MyDense(num_classes, activation="softmax")

        def call(self, x):
            x = self.conv_base(x)
            x = self.dp(x)
            return self.dense(x)

    dense = MyDense(3, activation="relu")
    dense(np.zeros((1, 4), "float32"))
    seed_weights(dense, 0)
    out["my_dense"] = to_numpy(dense(np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)))

    x, y = digits(size=16)
    x_train, y_train = x[:480], y[:480]
    model = MyModel(num_classes=10)
    model(x_train[:2])
    seed_weights(model, 1)
    out["params"] = model.count_params()
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                  optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    h = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.15, verbose=0,
                  shuffle=False)
    hist = history(h)
    out["history_keys"] = sorted(hist)

    def batches():
        while True:
            for i in range(0, len(x_train), 128):
                yield x_train[i:i + 128], y_train[i:i + 128]

    h2 = model.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0)
    hist2 = history(h2)
    out["loss"] = [hist["loss"], hist["val_loss"], hist2["loss"]]
    out["acc"] = [hist["acc"], hist["val_acc"], hist2["acc"]]
    return out
