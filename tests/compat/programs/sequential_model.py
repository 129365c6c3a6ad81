"""keras-io guides/sequential_model.py ("The Sequential model").

Port: ``import keras`` -> ``lib.keras``; ``tf.ones`` -> ``keras.ops.ones``; summaries are
read as each layer's output shape; the pretrained-weights blueprint trains a frozen
stack on random data instead of loading weights.
"""
import numpy as np

from ..harness import seed_weights, shape, to_numpy

SOURCE = "guides/sequential_model.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}

    model = keras.Sequential([
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ])
    x = ops.ones((3, 3))
    y = model(x)
    out["called_shape"] = shape(y.shape)

    # the same computation as three layers called in a row
    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")
    y2 = layer3(layer2(layer1(ops.ones((3, 3)))))
    out["chained_shape"] = shape(y2.shape)

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    out["layers_after_pop"] = len(model.layers)

    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))
    out["names"] = [model.name] + [layer.name for layer in model.layers]

    layer = layers.Dense(3)
    out["weights_before_call"] = len(layer.weights)
    layer(ops.ones((1, 4)))
    out["weight_shapes_after_call"] = [shape(w.shape) for w in layer.weights]

    model = keras.Sequential([
        layers.Dense(2, activation="relu"),
        layers.Dense(3, activation="relu"),
        layers.Dense(4),
    ])
    model(ops.ones((1, 4)))
    out["weights_after_model_call"] = len(model.weights)

    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    out["input_not_in_layers"] = len(model.layers)
    out["params_with_input"] = model.count_params()

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    out["params_with_input_shape"] = model.count_params()

    # add() + summary() debugging workflow: watch the feature maps shrink
    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    out["shape_after_first_block"] = shape(model.output_shape)
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    out["shape_after_third_block"] = shape(model.output_shape)
    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    out["conv_stack_params"] = model.count_params()
    out["conv_stack_layer_shapes"] = [shape(lay.output.shape) for lay in model.layers]

    # feature extraction through layer.output
    initial_model = keras.Sequential([
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(32, 3, activation="relu"),
    ])
    seed_weights(initial_model, 1)
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=[layer.output for layer in initial_model.layers],
    )
    image = np.random.default_rng(0).random((1, 250, 250, 3)).astype("float32")
    features = feature_extractor(image)
    out["features_shapes"] = [shape(f.shape) for f in features]
    out["features_last_mean"] = float(np.mean(to_numpy(features[-1])))
    one = keras.Model(inputs=initial_model.inputs,
                      outputs=initial_model.get_layer(name="my_intermediate_layer").output)
    out["intermediate_sum"] = float(np.sum(to_numpy(one(image))))

    # transfer-learning blueprint: freeze all layers except the last one
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
    ])
    seed_weights(model, 2)
    for layer in model.layers[:-1]:
        layer.trainable = False
    out["trainable_weights_after_freeze"] = len(model.trainable_weights)
    frozen_before = [to_numpy(w).copy() for w in model.layers[0].weights]
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(3)
    xs, ys = rng.random((64, 784)).astype("float32"), rng.random((64, 10)).astype("float32")
    h = model.fit(xs, ys, epochs=2, batch_size=32, verbose=0, shuffle=False)
    out["frozen_unchanged"] = all(np.array_equal(a, to_numpy(b))
                                  for a, b in zip(frozen_before, model.layers[0].weights))
    out["fit_loss"] = [float(v) for v in h.history["loss"]]
    return out
