"""keras-io guides/training_with_built_in_methods.py: losses that do not fit the
loss_fn(y_true, y_pred) signature: an ActivityRegularizationLayer calling add_loss, and
the LogisticEndpoint layer (targets as a model input, compile without a loss, fit on a
dict of inputs).

Port: MNIST -> digits (64 features); ops.sum as in the Keras 3 guide.
"""
import numpy as np

from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000]

    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(64,), name="digits")
    x1 = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x1 = ActivityRegularizationLayer()(x1)
    x1 = layers.Dense(64, activation="relu", name="dense_2")(x1)
    outputs = layers.Dense(10, name="predictions")(x1)
    model = keras.Model(inputs=inputs, outputs=outputs)
    seed_weights(model, 0)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    h = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0, shuffle=False)
    out["activity_reg_history"] = history(h)
    model(x_train[:5])
    out["losses_after_call"] = len(model.losses)
    out["activity_loss"] = float(to_numpy(model.losses[0]))

    class LogisticEndpoint(layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    seed_weights(model, 1)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    h = model.fit(data, verbose=0, epochs=3, shuffle=False)
    out["endpoint_history"] = history(h)
    out["endpoint_predictions"] = to_numpy(model.predict(data, verbose=0))
    return out
