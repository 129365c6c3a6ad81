"""keras-io guides/writing_a_custom_training_loop_in_tensorflow.py: a training loop from
scratch (GradientTape, loss_fn, optimizer.apply), metrics handled by hand
(SparseCategoricalAccuracy update_state / result / reset_state, a validation loop), the
step under tf.function, and an activity-regularization layer whose add_loss terms are
summed from model.losses.

Port: tf.data.Dataset.from_tensor_slices(...).batch(32) -> a generator of NumPy slices
(no shuffle); tf.function -> lib.function (fastkeras.function runs eagerly);
tf.reduce_sum -> ops.sum; MNIST -> digits (64 features, 512 train, 128 validation).
"""
import numpy as np

from ..harness import digits, seed_weights

SOURCE = "guides/writing_a_custom_training_loop_in_tensorflow.py"


def run(lib):
    keras = lib.keras
    ops = keras.ops
    out = {}

    def get_model():
        inputs = keras.Input(shape=(64,), name="digits")
        x1 = keras.layers.Dense(64, activation="relu")(inputs)
        x2 = keras.layers.Dense(64, activation="relu")(x1)
        outputs = keras.layers.Dense(10, name="predictions")(x2)
        return keras.Model(inputs=inputs, outputs=outputs)

    x, y = digits(flat=True)
    x_train, y_train = x[:512], y[:512]
    x_val, y_val = x[512:640], y[512:640]
    batch_size = 32

    def batches(xs, ys):
        for i in range(0, len(xs), batch_size):
            yield xs[i:i + batch_size], ys[i:i + batch_size]

    model = seed_weights(get_model(), 0)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    step_losses = []
    for epoch in range(2):
        for step, (x_batch_train, y_batch_train) in enumerate(batches(x_train, y_train)):
            with lib.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            if step % 4 == 0:
                step_losses.append(float(loss_value))
    out["basic_loop_losses"] = step_losses

    model = seed_weights(get_model(), 1)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    accs = []
    for epoch in range(2):
        for x_batch_train, y_batch_train in batches(x_train, y_train):
            with lib.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            train_acc_metric.update_state(y_batch_train, logits)
        accs.append(float(train_acc_metric.result()))
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in batches(x_val, y_val):
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        accs.append(float(val_acc_metric.result()))
        val_acc_metric.reset_state()
    out["metrics_loop_accuracies"] = accs

    @lib.function
    def train_step(x, y):
        with lib.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        train_acc_metric.update_state(y, logits)
        return loss_value

    @lib.function
    def test_step(x, y):
        val_logits = model(x, training=False)
        val_acc_metric.update_state(y, val_logits)

    losses = []
    for x_batch_train, y_batch_train in batches(x_train, y_train):
        losses.append(float(train_step(x_batch_train, y_batch_train)))
    for x_batch_val, y_batch_val in batches(x_val, y_val):
        test_step(x_batch_val, y_batch_val)
    out["function_losses"] = losses[::4]
    out["function_accuracies"] = [float(train_acc_metric.result()), float(val_acc_metric.result())]

    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * ops.sum(inputs))
            return inputs

    inputs = keras.Input(shape=(64,), name="digits")
    h = keras.layers.Dense(64, activation="relu")(inputs)
    h = ActivityRegularizationLayer()(h)
    h = keras.layers.Dense(64, activation="relu")(h)
    outputs = keras.layers.Dense(10, name="predictions")(h)
    model = seed_weights(keras.Model(inputs=inputs, outputs=outputs), 2)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)

    @lib.function
    def train_step_with_losses(x, y):
        with lib.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
            loss_value += sum(model.losses)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        return loss_value

    out["add_loss_losses"] = [float(train_step_with_losses(xb, yb))
                              for xb, yb in batches(x_train, y_train)][::4]
    out["model_losses_count"] = len(model.losses)
    return out
