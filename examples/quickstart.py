"""fastkeras quick start: a small CNN on scikit-learn's handwritten digits.

1,797 8x8 images (load_digits ships with scikit-learn, no download), 80% to train,
20% to test. Written exactly as tf.keras code, with ``import fastkeras as keras``.

Run:  pip install ".[examples]" && python examples/quickstart.py
"""
import time

import numpy as np

import fastkeras as keras
from fastkeras import layers


def load_digits_split(seed=0):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit("This example needs scikit-learn: pip install \"fastkeras[examples]\"")
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # (1797, 8, 8, 1) in [0, 1]
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    split = int(0.8 * len(y))
    return (x[:split], y[:split]), (x[split:], y[split:])


def build_model():
    return keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])


def main(epochs=30, verbose=2):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits_split()
    model = build_model()
    model.summary()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1,
              verbose=verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\ntest accuracy {accuracy:.2%} (loss {loss:.4f}) on {len(y_test)} held-out digits; "
          f"training took {seconds:.1f} s")
    return accuracy


if __name__ == "__main__":
    main()
