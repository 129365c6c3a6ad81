"""keras-io examples/timeseries/timeseries_weather_forecasting.py: features normalized
with the training split's mean and std, past windows sampled every `step` hours to
predict the temperature `future` hours later, an LSTM(32) + Dense(1) regressor trained
with MSE, EarlyStopping(min_delta=0, patience=5) and ModelCheckpoint(save_weights_only,
save_best_only), then predictions on validation windows.

Port: the Jena climate CSV -> seeded synthetic hourly series with the example's seven
selected features (daily and yearly cycles plus noise); keras.utils.timeseries_dataset_
from_array (a tf.data pipeline) -> NumPy windows; past 720 h / step 6 -> past 96 h /
step 6; epochs 10 -> 3.
"""
import os

import numpy as np

from ..harness import history, seed_weights, tmpdir, to_numpy

SOURCE = "examples/timeseries/timeseries_weather_forecasting.py"


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)
    hours = np.arange(2400)
    daily = np.sin(2 * np.pi * hours / 24)
    yearly = np.sin(2 * np.pi * hours / (24 * 365))
    temp = 10 + 8 * daily + 5 * yearly + rng.normal(0, 1, hours.size)
    features = np.stack([
        1000 + 5 * yearly + rng.normal(0, 1, hours.size),          # p (mbar)
        temp,                                                       # T (degC)
        0.8 * temp + rng.normal(0, 0.5, hours.size),                # VPmax
        temp - 3 + rng.normal(0, 0.5, hours.size),                  # VPdef proxy
        2 + daily + rng.normal(0, 0.2, hours.size),                 # sh (g/kg)
        1200 - 3 * temp + rng.normal(0, 1, hours.size),             # rho
        np.abs(rng.normal(2, 1, hours.size)),                       # wv (m/s)
    ], axis=1).astype("float32")

    split_fraction = 0.715
    train_split = int(split_fraction * len(features))
    step, past, future = 6, 96, 12
    batch_size = 64

    def normalize(data, train_split):
        data_mean = data[:train_split].mean(axis=0)
        data_std = data[:train_split].std(axis=0)
        return (data - data_mean) / data_std

    features = normalize(features, train_split)
    train_data = features[:train_split]
    val_data = features[train_split:]

    def windows(data, targets_from):
        xs, ys = [], []
        for start in range(0, len(data) - past - future, 7):
            xs.append(data[start:start + past:step])
            ys.append(targets_from[start + past + future - 1, 1])
        return np.asarray(xs, "float32"), np.asarray(ys, "float32")[:, None]

    x_train, y_train = windows(train_data, train_data)
    x_val, y_val = windows(val_data, val_data)
    out["window_shapes"] = [list(x_train.shape), list(y_train.shape)]

    inputs = keras.layers.Input(shape=(x_train.shape[1], x_train.shape[2]))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
    out["params"] = model.count_params()
    seed_weights(model, 0)
    with tmpdir() as d:
        path_checkpoint = os.path.join(d, "model_checkpoint.weights.h5")
        es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
        modelckpt_callback = keras.callbacks.ModelCheckpoint(
            monitor="val_loss", filepath=path_checkpoint, verbose=0, save_weights_only=True,
            save_best_only=True)
        h = model.fit(x_train, y_train, epochs=3, batch_size=batch_size,
                      validation_data=(x_val, y_val),
                      callbacks=[es_callback, modelckpt_callback], verbose=0, shuffle=False)
        out["history"] = history(h)
        model.load_weights(path_checkpoint)
    out["predictions"] = to_numpy(model.predict(x_val[:5], verbose=0))
    return out
