"""keras-io examples/nlp/bidirectional_lstm_imdb.py: Embedding(20000, 128) and two
Bidirectional LSTMs on pad_sequences-padded reviews, binary crossentropy, Adam.

Port: the IMDB download -> random integer reviews of random lengths (seeded) whose label
is whether word ids below 100 are frequent; keras.preprocessing.sequence.pad_sequences ->
keras.utils.pad_sequences (Keras 3's home for it); 25,000 reviews of maxlen 200 -> 256
reviews of maxlen 40; epochs 2 as in the example.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "examples/nlp/bidirectional_lstm_imdb.py"
# Keras 3 on TensorFlow squares an Embedding's IndexedSlices gradient before summing rows
# repeated in a batch (Adam's second moment g1^2 + g2^2); the oracle runs with dense
# gradients, which is Adam's definition and fastkeras' (harness.dense_oracle_gradients).
ORACLE_DENSE_GRADIENTS = True


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    max_features = 20000
    maxlen = 40
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    out["params"] = model.count_params()
    seed_weights(model, 0)

    rng = np.random.default_rng(0)

    def reviews(n):
        seqs, labels = [], []
        for _ in range(n):
            length = int(rng.integers(10, 60))
            positive = rng.random() < 0.5
            low = rng.random(length) < (0.6 if positive else 0.1)
            words = np.where(low, rng.integers(1, 100, length), rng.integers(100, max_features,
                                                                             length))
            seqs.append(words.tolist())
            labels.append(int(positive))
        return seqs, np.array(labels)

    x_train, y_train = reviews(256)
    x_val, y_val = reviews(64)
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val),
                  verbose=0, shuffle=False)
    out["history"] = history(h)
    return out
