"""keras-io guides/transfer_learning.py: trainable / non-trainable weight counts (Dense,
BatchNormalization, a frozen Dense), a frozen layer left unchanged by fit, recursive
freezing of a nested model, and the typical workflow up to fine-tuning: a base model
frozen and called with training=False (BatchNormalization in inference mode) under a new
head, trained (the fine-tuning step is transfer_learning_fine_tune).

Port: the ImageNet Xception base -> a small convolutional base trained here on digits
0-4 (16x16 images); the new task is digits 5-9 odd / even, a binary head with
BinaryCrossentropy(from_logits=True) as in the guide; epochs cut to 2.
"""
import numpy as np

from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "guides/transfer_learning.py"


def run(lib):
    keras = lib.keras
    out = {}
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    out["dense_counts"] = [len(layer.weights), len(layer.trainable_weights),
                           len(layer.non_trainable_weights)]
    layer = keras.layers.BatchNormalization()
    layer.build((None, 4))
    out["bn_counts"] = [len(layer.weights), len(layer.trainable_weights),
                        len(layer.non_trainable_weights)]
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    layer.trainable = False
    out["frozen_counts"] = [len(layer.weights), len(layer.trainable_weights),
                            len(layer.non_trainable_weights)]

    layer1 = keras.layers.Dense(3, activation="relu")
    layer2 = keras.layers.Dense(3, activation="sigmoid")
    model = keras.Sequential([keras.Input(shape=(3,)), layer1, layer2])
    seed_weights(model, 0)
    layer1.trainable = False
    initial_layer1_weights_values = layer1.get_weights()
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((2, 3)), rng.random((2, 3)), verbose=0)
    out["frozen_unchanged"] = all(np.array_equal(a, b) for a, b in
                                  zip(initial_layer1_weights_values, layer1.get_weights()))

    inner_model = keras.Sequential([keras.Input(shape=(3,)),
                                    keras.layers.Dense(3, activation="relu"),
                                    keras.layers.Dense(3, activation="relu")])
    model = keras.Sequential([keras.Input(shape=(3,)), inner_model,
                              keras.layers.Dense(3, activation="sigmoid")])
    model.trainable = False
    out["recursive_freeze"] = [inner_model.trainable, inner_model.layers[0].trainable,
                               len(model.trainable_weights)]
    workflow(lib, out)
    return out


def workflow(lib, out):
    """The typical workflow: pretrain a base, freeze it, train a new head on top."""
    keras = lib.keras
    x, y = digits(size=16)
    first = y < 5
    base_model = keras.Sequential([
        keras.Input((16, 16, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
    ], name="base")
    pretrain = keras.Sequential([base_model, keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(5)])
    seed_weights(pretrain, 1)
    pretrain.compile(optimizer="adam",
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    h0 = pretrain.fit(x[first][:500], y[first][:500], batch_size=50, epochs=1, verbose=0,
                      shuffle=False)
    out["pretrain_history"] = history(h0)

    base_model.trainable = False
    inputs = keras.Input(shape=(16, 16, 1))
    h = base_model(inputs, training=False)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(1)(h)
    model = keras.Model(inputs, outputs)
    seed_weights(model.layers[-1], 2)
    out["head_trainable_weights"] = len(model.trainable_weights)
    xs, ys = x[~first][:400], (y[~first][:400] % 2).astype("float32")
    moving_before = to_numpy(base_model.layers[1].moving_mean).copy()
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    h1 = model.fit(xs, ys, batch_size=50, epochs=2, validation_split=0.25, verbose=0,
                   shuffle=False)
    out["head_history"] = history(h1)
    out["bn_statistics_frozen"] = bool(np.array_equal(
        moving_before, to_numpy(base_model.layers[1].moving_mean)))
    return model, base_model, xs, ys, moving_before
