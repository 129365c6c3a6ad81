"""keras-io guides/training_with_built_in_methods.py: a model with an image input and a
time-series input and two outputs (score and class); losses and metrics as lists, loss
weights as a dict, targets as lists and as dicts, and a None loss for one output.

Port: the guide's random data, 100 samples as in the guide, epochs 1, batch 32 -> 25.
Two Keras 3.15 quirks are kept out of the comparison (findings F4): with a list of
losses, a dict of loss_weights is applied in sorted-name order (the guide's weights
swapped), so the list compile takes loss_weights=[2.0, 1.0]; and the per-output loss logs
count a partial last batch like a full one, so the batch size divides the 100 samples.
The loss=[None, ...] compile is on a fresh model, since Keras 3.15's compile() keeps the
previous metrics when given none (findings F3).
"""
import numpy as np

from ..harness import history, seed_weights, shape

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)
    x2 = layers.Conv1D(3, 3)(timeseries_input)
    x2 = layers.GlobalMaxPooling1D()(x2)
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = keras.Model(inputs=[image_input, timeseries_input],
                        outputs=[score_output, class_output])
    out["params"] = model.count_params()
    out["output_shapes"] = [shape(o.shape) for o in model.outputs]
    initial = seed_weights(model, 0).get_weights()

    rng = np.random.default_rng(0)
    img_data = rng.random(size=(100, 32, 32, 3)).astype("float32")
    ts_data = rng.random(size=(100, 20, 10)).astype("float32")
    score_targets = rng.random(size=(100, 1)).astype("float32")
    class_targets = rng.random(size=(100, 5)).astype("float32")

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
        metrics=[
            [keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
            [keras.metrics.CategoricalAccuracy()],
        ],
        loss_weights=[2.0, 1.0],
    )
    h = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=25,
                  epochs=1, verbose=0, shuffle=False)
    out["list_history_keys"] = sorted(h.history)
    out["list_history"] = history(h)

    model.set_weights(initial)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"score_output": keras.losses.MeanSquaredError(),
              "class_output": keras.losses.CategoricalCrossentropy()},
        metrics={"score_output": [keras.metrics.MeanAbsolutePercentageError(),
                                  keras.metrics.MeanAbsoluteError()],
                 "class_output": [keras.metrics.CategoricalAccuracy()]},
        loss_weights={"score_output": 2.0, "class_output": 1.0},
    )
    h = model.fit({"img_input": img_data, "ts_input": ts_data},
                  {"score_output": score_targets, "class_output": class_targets},
                  batch_size=25, epochs=1, verbose=0, shuffle=False)
    out["dict_history"] = history(h)

    model = keras.Model(inputs=[image_input, timeseries_input],
                        outputs=[score_output, class_output])
    model.set_weights(initial)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[None, keras.losses.CategoricalCrossentropy()])
    h = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=25,
                  epochs=1, verbose=0, shuffle=False)
    out["none_loss_history"] = history(h)
    preds = model.predict({"img_input": img_data[:4], "ts_input": ts_data[:4]}, verbose=0)
    out["predict_shapes"] = [shape(p.shape) for p in preds]
    return out
