"""The source documents' model code (../shared/seeds/001-003), with
``import fastkeras as keras`` and fastkeras.ops where they write tf.*: it runs, and
prints the documents' numbers (summaries, output shapes)."""
import numpy as np
import pytest

import fastkeras as keras
from fastkeras import constraints, layers, models, ops, regularizers


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def test_seed_003_regularized_sequential_summary_is_printed_as_the_document():
    layers.base.clear_session()
    model = models.Sequential()
    model.add(layers.Dense(64, input_dim=64,
                           kernel_regularizer=regularizers.l2(0.01),
                           activity_regularizer=regularizers.l1(0.01),
                           kernel_constraint=constraints.MaxNorm(max_value=2, axis=0)))
    model.add(layers.Dense(10, kernel_regularizer=regularizers.l1_l2(0.01, 0.01),
                           activation="sigmoid"))
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["AUC"])
    expected = """Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
dense (Dense)                (None, 64)                4160
_________________________________________________________________
dense_1 (Dense)              (None, 10)                650
=================================================================
Total params: 4,810
Trainable params: 4,810
Non-trainable params: 0
_________________________________________________________________"""
    assert "\n".join(_summary(model)) == expected
    x = np.random.default_rng(0).random((200, 64)).astype("float32")
    y = (np.random.default_rng(1).random((200, 10)) > 0.5).astype("float32")
    hist = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "auc"} and len(hist.history["loss"]) == 2
    # the MaxNorm constraint holds after training
    assert (np.linalg.norm(model.layers[0].kernel.numpy(), axis=0) <= 2 + 1e-5).all()


def test_seed_001_functional_model():
    layers.base.clear_session()
    inputs = keras.Input(shape=(3,))
    x = layers.Dense(4, activation="relu")(inputs)
    outputs = layers.Dense(5, activation=keras.activations.softmax)(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    text = "\n".join(_summary(model))
    assert "input_layer (InputLayer)     [(None, 3)]               0" in text
    assert "dense (Dense)                (None, 4)                 16" in text
    assert "dense_1 (Dense)              (None, 5)                 25" in text
    assert "Total params: 41" in text
    assert model.output_shape == (None, 5)


def test_seed_001_subclassed_model_fits():
    data = np.random.random((1000, 32))
    labels = np.random.random((1000, 5))

    class MyModel(keras.Model):
        def __init__(self):
            super(MyModel, self).__init__()
            self.dense1 = layers.Dense(4, activation=ops.relu)
            self.dense2 = layers.Dense(5, activation=ops.softmax)
            self.dropout = layers.Dropout(0.5)

        def call(self, inputs, training=False):
            x = self.dense1(inputs)
            if training:
                x = self.dropout(x, training=training)
            return self.dense2(x)

    model = MyModel()
    model.compile(optimizer=keras.optimizers.RMSprop(0.001),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(data, labels, batch_size=32, epochs=5, verbose=0)
    assert len(hist.history["loss"]) == 5 and "accuracy" in hist.history
    text = "\n".join(_summary(model))
    assert "multiple" in text and "Total params: 157" in text


def test_seed_001_sequential_shapes():
    model = keras.Sequential()
    model.add(layers.Dense(8, input_shape=(32,)))
    model.add(layers.Dense(4))
    assert "Total params: 300" in "\n".join(_summary(model))
    model = models.Sequential()
    model.add(keras.Input(shape=(16,)))
    model.add(layers.Dense(32, activation="relu"))
    model.add(layers.Dense(32))
    assert model.output_shape == (None, 32)
    model = keras.Sequential()
    model.add(layers.Reshape((3, 4), input_shape=(12,)))
    assert model.output_shape == (None, 3, 4)
    model = keras.Sequential()
    model.add(layers.Conv2D(64, 3, 3, input_shape=(3, 32, 32)))
    assert model.output_shape == (None, 1, 10, 64)
    model.add(layers.Flatten())
    assert model.output_shape == (None, 640)


def _uncompiled_mnist_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


@pytest.fixture
def mnist_like():
    rng = np.random.default_rng(3)
    x = rng.random((512, 784)).astype("float32")
    y = rng.integers(0, 10, 512).astype("float32")
    return x[:384], y[:384], x[384:], y[384:]


def test_seed_002_custom_losses_and_metric_train(mnist_like):
    x_train, y_train, x_val, y_val = mnist_like

    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred))

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred))
            reg = ops.mean(ops.square(0.5 - y_pred))
            return mse + reg * self.regularization_factor

    def innerLoss(y_true, y_pred, regularrization):
        mse = ops.mean(ops.square(y_true - y_pred))
        reg = ops.mean(ops.square(0.5 - y_pred))
        return mse + reg * regularrization

    def CustomMSE_closure(regularrization):
        def inner(y_true, y_pred):
            return innerLoss(y_true, y_pred, regularrization)
        return inner

    y_train_one_hot = ops.one_hot(ops.cast(y_train, dtype="int32"), 10)
    y_val_one_hot = ops.one_hot(ops.cast(y_val, dtype="int32"), 10)
    for loss in (custom_mean_squared_error, CustomMSE(0.4), CustomMSE_closure(0.4)):
        model = _uncompiled_mnist_model()
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss)
        history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=2, verbose=0,
                            validation_data=(x_val, y_val_one_hot))
        h = history.history
        assert set(h) == {"loss", "val_loss"} and h["loss"][1] < h["loss"][0]

    from _seed_code import CategoricalTruePositives

    model = _uncompiled_mnist_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    h = model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0).history
    assert 0 <= h["categorical_true_positives"][-1] <= len(x_train) * 10


def test_seed_000_focal_losses_train():
    def focal_loss(gamma=2., alpha=0.75):
        def focal_loss_fixed(y_true, y_pred):
            bce = keras.losses.binary_crossentropy(y_true, y_pred)
            p_t = (y_true * y_pred) + ((1 - y_true) * (1 - y_pred))
            alpha_factor = y_true * alpha + (1 - y_true) * (1 - alpha)
            modulating_factor = ops.power(1.0 - p_t, gamma)
            return ops.sum(alpha_factor * modulating_factor * bce, axis=-1)
        return focal_loss_fixed

    class FocalLoss(keras.losses.Loss):
        def __init__(self, gamma=2.0, alpha=0.75, name="focal_loss"):
            self.gamma = gamma
            self.alpha = alpha

        def call(self, y_true, y_pred):
            bce = keras.losses.binary_crossentropy(y_true, y_pred)
            p_t = (y_true * y_pred) + ((1 - y_true) * (1 - y_pred))
            alpha_factor = y_true * self.alpha + (1 - y_true) * (1 - self.alpha)
            modulating_factor = ops.power(1.0 - p_t, self.gamma)
            return ops.sum(alpha_factor * modulating_factor * bce, axis=-1)

    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :1] + 0.3 * x[:, 1:2] > 0).astype("float32")
    for loss in (focal_loss(), FocalLoss()):
        model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                                   layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss=loss, metrics=["AUC"])
        h = model.fit(x, y, batch_size=32, epochs=5, verbose=0).history
        # as written, bce (batch,) broadcasts against (batch, 1) factors (in TensorFlow too);
        # the loss still goes down
        assert h["loss"][-1] < h["loss"][0] and 0 <= h["auc"][-1] <= 1
