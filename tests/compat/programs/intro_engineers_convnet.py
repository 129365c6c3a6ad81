"""keras-io guides/intro_to_keras_for_engineers.py, "A first example: A MNIST convnet": a
Sequential convnet (Conv2D 64/64, MaxPooling, Conv2D 128/128, GlobalAveragePooling2D,
Dropout(0.5), softmax), SparseCategoricalCrossentropy + Adam + a named
SparseCategoricalAccuracy("acc"), ModelCheckpoint each epoch and EarlyStopping on
val_loss, validation_split=0.15, evaluate, model.save and keras.saving.load_model,
predict.

Port: MNIST 28x28 -> digits 16x16 (600 train, 200 test); filters 64/128 -> 16/32;
epochs 20 -> 3. Dropout(0.5) masks differ between libraries: losses within 10% and
accuracies within 0.2 (both train alike), structure and file names exactly.
"""
import os

import numpy as np

from ..harness import digits, history, seed_weights, shape, tmpdir, to_numpy

SOURCE = "guides/intro_to_keras_for_engineers.py"
# (acc: 0.2, the validation accuracy of 90 digits after 3 epochs moves by ~0.16 between
# dropout streams; Dropout draws from its SeedGenerator since the seed state is tracked)
TOLERANCES = {"loss": (0.1, 0.0), "acc": (0.0, 0.2), "score": (0.1, 0.15)}


def run(lib):
    keras = lib.keras
    out = {}
    x, y = digits(size=16)
    x_train, y_train = x[:600], y[:600]
    x_test, y_test = x[600:800], y[600:800]
    out["shapes"] = [shape(x_train.shape), shape(y_train.shape)]
    num_classes, input_shape = 10, (16, 16, 1)
    model = keras.Sequential([
        keras.layers.Input(shape=input_shape),
        keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    out["params"] = model.count_params()
    seed_weights(model, 0)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                  optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    with tmpdir() as d:
        callbacks = [
            keras.callbacks.ModelCheckpoint(filepath=os.path.join(d, "model_at_epoch_{epoch}.keras")),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
        ]
        h = model.fit(x_train, y_train, batch_size=128, epochs=3, validation_split=0.15,
                      callbacks=callbacks, verbose=0, shuffle=False)
        out["checkpoints"] = sorted(os.listdir(d))
        hist = history(h)
        out["history_keys"] = sorted(hist)
        out["loss"] = [hist["loss"], hist["val_loss"]]
        out["acc"] = [hist["acc"], hist["val_acc"]]
        out["score"] = [float(v) for v in model.evaluate(x_test, y_test, verbose=0)]
        before = to_numpy(model.predict(x_test, verbose=0))
        model.save(os.path.join(d, "final_model.keras"))
        model = keras.saving.load_model(os.path.join(d, "final_model.keras"))
        predictions = to_numpy(model.predict(x_test, verbose=0))
    out["predictions_shape"] = shape(predictions.shape)
    out["reloaded_predictions_equal"] = bool(np.allclose(before, predictions, rtol=1e-5,
                                                         atol=1e-6))
    out["rows_sum_to_one"] = bool(np.allclose(predictions.sum(axis=1), 1.0, atol=1e-5))
    return out
