"""keras-io guides/training_with_built_in_methods.py, "Using a PyDataset instance": a
keras.utils.PyDataset subclass (__len__, __getitem__, on_epoch_end) passed to fit as
training and validation data and to evaluate; then a plain Python generator with
steps_per_epoch (the port's stand-in for the guide's tf.data.Dataset section).

Port: MNIST -> digits (64 features, 960 train, 320 validation); batch 64, epochs 2;
shuffle=False (Keras shuffles a PyDataset's batch order by default).
"""
import math

import numpy as np

from ..harness import digits, history, seed_weights

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:960], y[:960]
    x_val, y_val = x[960:1280], y[960:1280]

    def get_compiled_model():
        inputs = keras.Input(shape=(64,), name="digits")
        h = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        h = layers.Dense(64, activation="relu", name="dense_2")(h)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(h)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    epochs_ended = []

    class ExamplePyDataset(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x = x
            self.y = y
            self.batch_size = batch_size

        def __len__(self):
            return int(math.ceil(len(self.x) / float(self.batch_size)))

        def __getitem__(self, idx):
            batch_x = self.x[idx * self.batch_size:(idx + 1) * self.batch_size]
            batch_y = self.y[idx * self.batch_size:(idx + 1) * self.batch_size]
            return batch_x, batch_y

        def on_epoch_end(self):
            epochs_ended.append(len(self.x))

    train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=64)
    val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=64)
    out["len"] = [len(train_py_dataset), len(val_py_dataset)]
    model = seed_weights(get_compiled_model(), 0)
    h = model.fit(train_py_dataset, validation_data=val_py_dataset, epochs=2, verbose=0,
                  shuffle=False)
    out["pydataset_history"] = history(h)
    out["pydataset_evaluate"] = [float(v) for v in model.evaluate(val_py_dataset, verbose=0)]
    out["on_epoch_end_calls"] = len(epochs_ended) > 0

    def batches():
        while True:
            for i in range(0, len(x_train), 64):
                yield x_train[i:i + 64], y_train[i:i + 64]

    model = seed_weights(get_compiled_model(), 0)
    h = model.fit(batches(), steps_per_epoch=15, epochs=2, verbose=0)
    out["generator_history"] = history(h)
    out["same_as_pydataset"] = bool(np.allclose(out["generator_history"]["loss"],
                                                out["pydataset_history"]["loss"], rtol=1e-5))
    return out
