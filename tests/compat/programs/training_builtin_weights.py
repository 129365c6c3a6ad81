"""keras-io guides/training_with_built_in_methods.py: class weights (class 5 counts
double) and sample weights (the same through an array).

Port: MNIST -> digits (64 features).
"""
import numpy as np

from ..harness import digits, history, seed_weights

SOURCE = "guides/training_with_built_in_methods.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000]

    def get_compiled_model():
        inputs = keras.Input(shape=(64,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0,
                    5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0}
    model = get_compiled_model()
    seed_weights(model, 0)
    h = model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1,
                  verbose=0, shuffle=False)
    out["class_weight_history"] = history(h)

    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    model = get_compiled_model()
    seed_weights(model, 0)
    h = model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1,
                  verbose=0, shuffle=False)
    out["sample_weight_history"] = history(h)
    out["same_as_class_weight"] = bool(np.allclose(out["sample_weight_history"]["loss"],
                                                   out["class_weight_history"]["loss"],
                                                   rtol=1e-5))
    ev = model.evaluate(x[1000:], y[1000:], sample_weight=np.linspace(0.5, 1.5, len(y) - 1000),
                        verbose=0)
    out["weighted_evaluate"] = [float(v) for v in ev]
    return out
