"""keras-io guides/working_with_rnns.py, "Performance optimization and CuDNN kernels":
MNIST rows as a sequence, LSTM(64) + BatchNormalization + Dense(10) trained with SGD and
sparse crossentropy from logits, validation on the test split, then predictions on a
sample.

Port: MNIST 28x28 -> scikit-learn digits 8x8 (8 steps of 8 features; 1,000 train,
300 test), epochs 1 -> 2.
"""
from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "guides/working_with_rnns.py"


def run(lib):
    keras = lib.keras
    out = {}
    batch_size = 64
    input_dim = 8
    units = 64
    output_size = 10

    def build_model():
        lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
        return keras.models.Sequential([
            lstm_layer,
            keras.layers.BatchNormalization(),
            keras.layers.Dense(output_size),
        ])

    x, y = digits()
    x = x[..., 0]
    x_train, y_train = x[:1000], y[:1000]
    x_test, y_test = x[1000:1300], y[1000:1300]
    model = build_model()
    out["params"] = model.count_params()
    out["non_trainable"] = len(model.non_trainable_weights)
    seed_weights(model, 0)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="sgd", metrics=["accuracy"])
    h = model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size,
                  epochs=2, verbose=0, shuffle=False)
    out["history"] = history(h)
    out["predictions"] = to_numpy(model.predict(x_test[:4], verbose=0))
    out["moving_mean"] = to_numpy(model.layers[1].moving_mean)[:8]
    return out
