"""keras-io guides/working_with_rnns.py, "Bidirectional RNNs": a Sequential model with
Bidirectional(LSTM(64, return_sequences=True)) and Bidirectional(LSTM(32)), and the
backward_layer argument.
"""
import numpy as np

from ..harness import seed_weights, shape, to_numpy

SOURCE = "guides/working_with_rnns.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    model = keras.Sequential()
    model.add(keras.Input(shape=(5, 10)))
    model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True)))
    model.add(layers.Bidirectional(layers.LSTM(32)))
    model.add(layers.Dense(10))
    out["params"] = model.count_params()
    out["layer_shapes"] = [shape(layer.output.shape) for layer in model.layers]
    seed_weights(model, 0)
    x = np.random.default_rng(0).random((4, 5, 10)).astype("float32")
    out["outputs"] = to_numpy(model(x))

    forward_layer = layers.LSTM(10, return_sequences=True)
    backward_layer = layers.LSTM(10, activation="relu", return_sequences=True,
                                 go_backwards=True)
    bi = layers.Bidirectional(forward_layer, backward_layer=backward_layer, merge_mode="sum")
    out["custom_backward_shape"] = shape(bi(x).shape)
    return out
