"""keras-io examples/structured_data/regression_boston_housing.py: a Sequential MLP
(input_shape from the data, Dense 32 relu x 2, Dense(1)) regressing a 1-D target with
mse, metrics ["mae", "mse"], EarlyStopping(patience=10) on val_loss with
validation_split=0.3; evaluate unpacked as loss, mae, mse; predict().flatten().

Port: the Boston housing download -> scikit-learn's diabetes data (442 x 10, a 1-D
target like the example's prices), split 70:30 with a seeded permutation; epochs 100 -> 15.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "examples/structured_data/regression_boston_housing.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    order = np.random.default_rng(42).permutation(len(data.target))
    x_all = (data.data[order] * 10).astype("float32")
    y_all = (data.target[order] / 100).astype("float32")
    split = int(len(y_all) * 0.7)
    x_train, y_train = x_all[:split], y_all[:split]
    x_test, y_test = x_all[split:], y_all[split:]
    out["dimensions"] = [list(x_train.shape), list(x_test.shape)]

    def build_model():
        model = keras.Sequential([
            layers.Dense(32, activation="relu", input_shape=[x_train.shape[1]]),
            layers.Dense(32, activation="relu"),
            layers.Dense(1),
        ])
        model.compile(loss="mse", optimizer="adam", metrics=["mae", "mse"])
        return model

    model = build_model()
    out["params"] = model.count_params()
    seed_weights(model, 0)
    early_stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    h = model.fit(x_train, y_train, batch_size=32, epochs=15, verbose=0, validation_split=0.3,
                  callbacks=[early_stop], shuffle=False)
    out["history"] = history(h)
    loss, mae, mse = model.evaluate(x_test, y_test, verbose=0)
    out["test"] = [float(loss), float(mae), float(mse)]
    prediction = model.predict(x_test, verbose=0).flatten()
    out["prediction_head"] = np.asarray(prediction[:5], "float64")
    out["prediction_shape"] = list(prediction.shape)
    return out
