"""keras-io examples/vision/autoencoder.py: a convolutional autoencoder (Conv2D +
MaxPooling2D(padding="same") encoder, Conv2DTranspose(strides=2) decoder, sigmoid
output) trained with binary crossentropy to reconstruct images, then to denoise them.

Port: MNIST -> scikit-learn digits upsampled to 16x16 (400 train, 100 test), noise from a
seeded generator; epochs 50 / 100 -> 2 / 2, batch 128; shuffle=False so both libraries
see the same batches.
"""
import numpy as np

from ..harness import digits, history, seed_weights, shape, to_numpy

SOURCE = "examples/vision/autoencoder.py"
TOLERANCES = {"*history": (2e-4, 1e-5)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(0)

    def noise(array):
        noise_factor = 0.4
        noisy_array = array + noise_factor * rng.normal(loc=0.0, scale=1.0, size=array.shape)
        return np.clip(noisy_array, 0.0, 1.0).astype("float32")

    x, _ = digits(size=16)
    train_data, test_data = x[:400], x[400:500]
    noisy_train_data, noisy_test_data = noise(train_data), noise(test_data)

    input = layers.Input(shape=(16, 16, 1))
    h = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
    h = layers.MaxPooling2D((2, 2), padding="same")(h)
    h = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(h)
    h = layers.MaxPooling2D((2, 2), padding="same")(h)
    h = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(h)
    h = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(h)
    h = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(h)
    autoencoder = keras.Model(input, h)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    out["params"] = autoencoder.count_params()
    out["output_shape"] = shape(autoencoder.output_shape)
    seed_weights(autoencoder, 0)
    h1 = autoencoder.fit(x=train_data, y=train_data, epochs=2, batch_size=128, shuffle=False,
                         validation_data=(test_data, test_data), verbose=0)
    out["reconstruct_history"] = history(h1)
    predictions = autoencoder.predict(test_data, verbose=0)
    out["prediction_mean"] = float(np.mean(to_numpy(predictions)))
    h2 = autoencoder.fit(x=noisy_train_data, y=train_data, epochs=2, batch_size=128,
                         shuffle=False, validation_data=(noisy_test_data, test_data),
                         verbose=0)
    out["denoise_history"] = history(h2)
    return out
