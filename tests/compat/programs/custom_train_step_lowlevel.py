"""keras-io guides/custom_train_step_in_tensorflow.py, "Going lower-level": compile()
only configures the optimizer; train_step computes its own loss and updates its own Mean
and MeanAbsoluteError trackers, listed in the `metrics` property so that fit resets them
each epoch.

Port: tf.GradientTape -> lib.GradientTape; 200 samples, epochs 5 as in the guide.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "guides/custom_train_step_in_tensorflow.py"


def run(lib):
    keras = lib.keras
    out = {}

    class CustomModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            with lib.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.loss_fn(y, y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    seed_weights(model, 0)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    x = rng.random((200, 32)).astype("float32")
    y = rng.random((200, 1)).astype("float32")
    h = model.fit(x, y, epochs=5, verbose=0, shuffle=False)
    out["history"] = history(h)
    out["weights_after"] = [np.asarray(w) for w in model.get_weights()]
    return out
