"""keras-io guides/training_with_built_in_methods.py: EarlyStopping on val_loss, a
LossHistory callback collecting per-batch losses, ModelCheckpoint with save_best_only and
an {epoch} file name, and an ExponentialDecay schedule passed as the learning rate.

Port: MNIST -> digits (64 features); epochs 20 -> 8.
"""
import os

import numpy as np

from ..harness import digits, history, seed_weights, tmpdir

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:800], y[:800]

    def get_compiled_model(optimizer="rmsprop"):
        inputs = keras.Input(shape=(64,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    model = get_compiled_model()
    seed_weights(model, 0)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2,
                                               patience=2, verbose=0)]
    h = model.fit(x_train, y_train, epochs=8, batch_size=64, callbacks=callbacks,
                  validation_split=0.2, verbose=0, shuffle=False)
    out["early_stopping_epochs"] = len(h.history["loss"])
    out["early_stopping_history"] = history(h)

    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    model = get_compiled_model()
    seed_weights(model, 1)
    loss_history = LossHistory()
    model.fit(x_train, y_train, epochs=1, batch_size=100, callbacks=[loss_history], verbose=0,
              shuffle=False)
    out["per_batch_losses"] = [float(v) for v in loss_history.per_batch_losses]

    with tmpdir() as d:
        model = get_compiled_model()
        seed_weights(model, 2)
        callbacks = [keras.callbacks.ModelCheckpoint(
            filepath=os.path.join(d, "mymodel_{epoch}.keras"), save_best_only=True,
            monitor="val_loss", verbose=0)]
        h = model.fit(x_train, y_train, epochs=3, batch_size=64, callbacks=callbacks,
                      validation_split=0.2, verbose=0, shuffle=False)
        out["checkpoint_files"] = sorted(os.listdir(d))
        best = int(np.argmin(h.history["val_loss"])) + 1
        restored = keras.models.load_model(os.path.join(d, f"mymodel_{best}.keras"))
        out["checkpoint_reloaded_evaluate"] = [float(v) for v in
                                               restored.evaluate(x[800:], y[800:], verbose=0)]

    initial_learning_rate = 0.1
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True)
    optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
    model = get_compiled_model(optimizer)
    seed_weights(model, 3)
    h = model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0, shuffle=False)
    out["schedule_history"] = history(h)
    out["schedule_value_at_200000"] = float(lr_schedule(200000))
    return out
