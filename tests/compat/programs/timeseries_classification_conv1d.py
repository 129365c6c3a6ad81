"""keras-io examples/timeseries/timeseries_classification_from_scratch.py: a fully
convolutional network (three Conv1D + BatchNormalization + ReLU blocks,
GlobalAveragePooling1D, softmax) trained with ModelCheckpoint(save_best_only),
ReduceLROnPlateau and EarlyStopping on val_loss, then the best model reloaded with
keras.models.load_model and evaluated.

Port: the FordA download -> two classes of noisy sine waves (seeded; 500 steps -> 64,
3,601 series -> 240, labels -1/1 mapped to 0/1 as the example does); epochs 500 -> 6,
ReduceLROnPlateau patience 20 -> 2, EarlyStopping patience 50 -> 3.
"""
import os

import numpy as np

from ..harness import history, seed_weights, tmpdir

SOURCE = "examples/timeseries/timeseries_classification_from_scratch.py"
# six epochs through three BatchNormalization layers and a ReduceLROnPlateau: float32
# rounding differences grow to a few 1e-4 relative by the last epoch
TOLERANCES = {"history": (2e-3, 1e-5), "test": (2e-3, 1e-5)}


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 64)

    def make(n):
        labels = rng.choice([-1, 1], size=n)
        freq = np.where(labels == 1, 1.0, 1.6)[:, None]
        series = np.sin(freq * t[None, :] + rng.random((n, 1)) * 2 * np.pi)
        series += 0.3 * rng.normal(size=series.shape)
        return series.astype("float32"), labels

    x_train, y_train = make(240)
    x_test, y_test = make(80)
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
    num_classes = len(np.unique(y_train))
    y_train[y_train == -1] = 0
    y_test[y_test == -1] = 0

    def make_model(input_shape):
        input_layer = keras.layers.Input(input_shape)
        conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
        conv1 = keras.layers.BatchNormalization()(conv1)
        conv1 = keras.layers.ReLU()(conv1)
        conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
        conv2 = keras.layers.BatchNormalization()(conv2)
        conv2 = keras.layers.ReLU()(conv2)
        conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
        conv3 = keras.layers.BatchNormalization()(conv3)
        conv3 = keras.layers.ReLU()(conv3)
        gap = keras.layers.GlobalAveragePooling1D()(conv3)
        output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
        return keras.models.Model(inputs=input_layer, outputs=output_layer)

    model = make_model(input_shape=x_train.shape[1:])
    out["params"] = model.count_params()
    seed_weights(model, 0)
    with tmpdir() as d:
        best = os.path.join(d, "best_model.keras")
        callbacks = [
            keras.callbacks.ModelCheckpoint(best, save_best_only=True, monitor="val_loss"),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
                                              min_lr=0.0001),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, verbose=0),
        ]
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        h = model.fit(x_train, y_train, batch_size=32, epochs=6, callbacks=callbacks,
                      validation_split=0.2, verbose=0, shuffle=False)
        out["history"] = history(h)
        model = keras.models.load_model(best)
        test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    out["test"] = [float(test_loss), float(test_acc)]
    return out
