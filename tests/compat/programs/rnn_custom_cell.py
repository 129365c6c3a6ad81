"""keras-io guides/working_with_rnns.py, "Performance optimization and CuDNN kernels": the
RNN layer wrapping a cell (keras.layers.RNN(keras.layers.LSTMCell(64))) against the
fused LSTM(64) with the same weights, in the guide's MNIST-rows model, trained one epoch.

Port: MNIST rows (28 x 28) -> random rows of the same shape, 64 samples. The guide's
NestedCell example (nested input and state structures) is left out: it fails on Keras 3.15
itself (its build() receives only the first input's shape: IndexError).
"""
import numpy as np

from ..harness import history, seed_weights, to_numpy

SOURCE = "guides/working_with_rnns.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(0)
    x = rng.random((4, 28, 28)).astype("float32")

    fused = keras.Sequential([keras.Input((None, 28)), layers.LSTM(64), layers.Dense(10)])
    wrapped = keras.Sequential([keras.Input((None, 28)), layers.RNN(layers.LSTMCell(64)),
                                layers.Dense(10)])
    seed_weights(fused, 0)
    wrapped.set_weights(fused.get_weights())
    out["rnn_cell_matches_fused"] = bool(np.allclose(to_numpy(fused(x)), to_numpy(wrapped(x)),
                                                     rtol=1e-5, atol=1e-6))
    out["rnn_cell_outputs"] = to_numpy(wrapped(x))
    wrapped.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    optimizer="sgd", metrics=["accuracy"])
    h = wrapped.fit(rng.random((64, 28, 28)).astype("float32"), rng.integers(0, 10, 64),
                    batch_size=32, epochs=1, verbose=0, shuffle=False)
    out["history"] = history(h)
    return out
