"""keras-io guides/custom_train_step_in_tensorflow.py: a Model subclass overriding
train_step with a GradientTape, self.compute_loss, self.optimizer.apply and the compiled
metrics in self.metrics (the "loss" tracker first); then the same with sample_weight
unpacked from data; then a custom test_step for evaluate.

Port: tf.GradientTape -> keras.GradientTape (lib.GradientTape); 1000 x 32 random data as in
the guide, 200 samples; epochs 3 as in the guide.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "guides/custom_train_step_in_tensorflow.py"


def run(lib):
    keras = lib.keras
    out = {}

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with lib.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    rng = np.random.default_rng(0)
    x = rng.random((200, 32)).astype("float32")
    y = rng.random((200, 1)).astype("float32")
    sw = rng.random((200, 1)).astype("float32")

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    seed_weights(model, 0)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h = model.fit(x, y, epochs=3, verbose=0, shuffle=False)
    out["basic_history"] = history(h)
    out["metric_names"] = [m.name for m in model.metrics]

    class WeightedModel(keras.Model):
        def train_step(self, data):
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                sample_weight = None
                x, y = data
            with lib.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = WeightedModel(inputs, outputs)
    seed_weights(model, 0)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h = model.fit(x, y, sample_weight=sw, epochs=3, verbose=0, shuffle=False)
    out["sample_weight_history"] = history(h)

    class EvalModel(keras.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = EvalModel(inputs, outputs)
    seed_weights(model, 1)
    model.compile(loss="mse", metrics=["mae"])
    out["custom_evaluate"] = [float(v) for v in model.evaluate(x, y, verbose=0)]
    return out
