"""keras-io guides/functional_api.py: the first model (784-64-64-10), training,
evaluation and inference, then save and load_model.

Port: MNIST -> scikit-learn digits flattened to 64 features (the guide's 784), first
1,000 images for training and the rest for test; epochs 2 as in the guide.
"""
import os

import numpy as np

from ..harness import digits, history, seed_weights, shape, tmpdir, to_numpy

SOURCE = "guides/functional_api.py"
TOLERANCES = {"history": (1e-4, 1e-5), "test_*": (1e-4, 1e-5)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}

    inputs = keras.Input(shape=(64,))
    out["input_shape"] = shape(inputs.shape)
    out["input_dtype"] = str(inputs.dtype)
    img_inputs = keras.Input(shape=(32, 32, 3))
    out["img_input_shape"] = shape(img_inputs.shape)

    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    out["name"] = model.name
    out["params"] = model.count_params()
    seed_weights(model, 0)

    x_all, y_all = digits(flat=True)
    x_train, y_train = x_all[:1000], y_all[:1000]
    x_test, y_test = x_all[1000:], y_all[1000:]

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )
    h = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2,
                  verbose=0, shuffle=False)
    out["history"] = history(h)
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    out["test_loss"], out["test_accuracy"] = float(test_scores[0]), float(test_scores[1])

    before = to_numpy(model.predict(x_test[:8], verbose=0))
    with tmpdir() as d:
        path = os.path.join(d, "path_to_my_model.keras")
        model.save(path)
        del model
        model = keras.models.load_model(path)
    after = to_numpy(model.predict(x_test[:8], verbose=0))
    out["reloaded_predictions_equal"] = bool(np.allclose(before, after, rtol=1e-6, atol=1e-6))
    out["reloaded_predictions"] = after
    out["reloaded_evaluate"] = [float(v) for v in model.evaluate(x_test, y_test, verbose=0)]
    return out
