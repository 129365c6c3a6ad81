"""keras-io guides/writing_your_own_callbacks.py: a CustomCallback overriding every
hook, passed to fit (with validation_split), evaluate and predict: the order of the
calls and the log keys each hook receives; then LossAndErrorPrintingCallback reading
logs["loss"] and logs["mean_absolute_error"].

Port: MNIST flattened -> digits (64 features, first 1,000 train / 200 test as the
guide's 1,000 / 1,000); the prints become recorded events.
"""
from ..harness import digits, seed_weights

SOURCE = "guides/writing_your_own_callbacks.py"


def run(lib):
    keras = lib.keras
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000].astype("float32")
    x_test, y_test = x[1000:1200], y[1000:1200].astype("float32")

    def get_model():
        model = keras.Sequential()
        model.add(keras.Input((64,)))
        model.add(keras.layers.Dense(1))
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
                      loss="mean_squared_error", metrics=["mean_absolute_error"])
        return model

    events = []

    class CustomCallback(keras.callbacks.Callback):
        def _log(self, hook, logs):
            events.append(f"{hook}: {sorted(logs.keys()) if logs else []}")

        def on_train_begin(self, logs=None):
            self._log("on_train_begin", logs)

        def on_train_end(self, logs=None):
            self._log("on_train_end", logs)

        def on_epoch_begin(self, epoch, logs=None):
            self._log(f"on_epoch_begin {epoch}", logs)

        def on_epoch_end(self, epoch, logs=None):
            self._log(f"on_epoch_end {epoch}", logs)

        def on_test_begin(self, logs=None):
            self._log("on_test_begin", logs)

        def on_test_end(self, logs=None):
            self._log("on_test_end", logs)

        def on_predict_begin(self, logs=None):
            self._log("on_predict_begin", logs)

        def on_predict_end(self, logs=None):
            self._log("on_predict_end", logs)

        def on_train_batch_begin(self, batch, logs=None):
            self._log(f"on_train_batch_begin {batch}", logs)

        def on_train_batch_end(self, batch, logs=None):
            self._log(f"on_train_batch_end {batch}", logs)

        def on_test_batch_begin(self, batch, logs=None):
            self._log(f"on_test_batch_begin {batch}", logs)

        def on_test_batch_end(self, batch, logs=None):
            self._log(f"on_test_batch_end {batch}", logs)

        def on_predict_batch_begin(self, batch, logs=None):
            self._log(f"on_predict_batch_begin {batch}", logs)

        def on_predict_batch_end(self, batch, logs=None):
            self._log(f"on_predict_batch_end {batch}", logs)

    model = seed_weights(get_model(), 0)
    model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0, validation_split=0.5,
              callbacks=[CustomCallback()], shuffle=False)
    out["fit_events"] = list(events)
    events.clear()
    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])
    out["evaluate_events"] = list(events)
    out["evaluate"] = [float(v) for v in res]
    events.clear()
    model.predict(x_test, batch_size=128, callbacks=[CustomCallback()], verbose=0)
    out["predict_events"] = list(events)

    seen = []

    class LossAndErrorPrintingCallback(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("train", batch, float(logs["loss"])))

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test", batch, float(logs["loss"])))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch, float(logs["loss"]), float(logs["mean_absolute_error"])))

    model = seed_weights(get_model(), 1)
    model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0,
              callbacks=[LossAndErrorPrintingCallback()], shuffle=False)
    model.evaluate(x_test, y_test, batch_size=128, verbose=0,
                   callbacks=[LossAndErrorPrintingCallback()])
    out["printed_kinds"] = [s[:2] for s in seen]
    out["printed_values"] = [list(s[2:]) for s in seen]
    return out
