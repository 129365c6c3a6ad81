"""keras-io guides/training_with_built_in_methods.py: custom losses (a function and a
Loss subclass with a regularization factor, on one-hot targets made with ops.one_hot) and
a custom Metric (CategoricalTruePositives with add_variable / assign_add / reset_state).

Port: MNIST -> scikit-learn digits (64 features); epochs 1 as in the guide.
"""
import numpy as np

from ..harness import digits, history, seed_weights

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000]

    def get_uncompiled_model():
        inputs = keras.Input(shape=(64,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    model = get_uncompiled_model()
    seed_weights(model, 0)
    model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    h = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0, shuffle=False)
    out["function_loss_history"] = history(h)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    model = get_uncompiled_model()
    seed_weights(model, 1)
    model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
    h = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0, shuffle=False)
    out["class_loss_history"] = history(h)
    loss = CustomMSE()
    probe = np.asarray(model.predict(x[1000:1010], verbose=0))
    out["class_loss_value"] = float(loss(ops.one_hot(y[1000:1010], 10), probe))

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
            values = ops.cast(values, "float32")
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, "float32")
                values = ops.multiply(values, sample_weight)
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0.0)

    model = get_uncompiled_model()
    seed_weights(model, 2)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    h = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0, shuffle=False)
    out["custom_metric_history"] = history(h)
    m = CategoricalTruePositives()
    m.update_state(np.array([[1], [2], [3]]), np.eye(10)[[1, 2, 4]])
    out["custom_metric_alone"] = float(m.result())
    m.reset_state()
    out["custom_metric_after_reset"] = float(m.result())
    return out
