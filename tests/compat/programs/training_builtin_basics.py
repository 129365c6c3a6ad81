"""keras-io guides/training_with_built_in_methods.py: the end-to-end example (compile with
objects and with strings, fit with validation_data, history, evaluate, predict) and
validation_split.

Port: MNIST 784 -> scikit-learn digits 64 (1,000 train, 297 validation, 500 test).
"""
from ..harness import digits, history, seed_weights, shape, to_numpy

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000]
    x_val, y_val = x[1000:1297], y[1000:1297]
    x_test, y_test = x[1297:], y[1297:]

    def get_uncompiled_model():
        inputs = keras.Input(shape=(64,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    def get_compiled_model():
        model = get_uncompiled_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    model = get_uncompiled_model()
    seed_weights(model, 0)
    model.compile(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    h = model.fit(x_train, y_train, batch_size=64, epochs=2,
                  validation_data=(x_val, y_val), verbose=0, shuffle=False)
    out["history"] = history(h)
    results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    out["evaluate"] = [float(v) for v in results]
    predictions = model.predict(x_test[:3], verbose=0)
    out["predictions_shape"] = shape(predictions.shape)
    out["predictions"] = to_numpy(predictions)

    model = get_compiled_model()
    seed_weights(model, 1)
    h = model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0,
                  shuffle=False)
    out["validation_split_history"] = history(h)
    out["evaluate_dict"] = {k: float(v) for k, v in
                            model.evaluate(x_test, y_test, verbose=0, return_dict=True).items()}
    return out
