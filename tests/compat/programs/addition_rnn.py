"""keras-io examples/nlp/addition_rnn.py: learning to add numbers given as strings: a
CharacterTable one-hot encoding, an LSTM(128) encoder, RepeatVector(DIGITS + 1), an
LSTM(128, return_sequences=True) decoder and a Dense softmax over characters applied to
every step; categorical crossentropy, Adam, accuracy; decoded predictions.

Port: 50,000 questions -> 320 (a seeded generator instead of np.random), DIGITS 3, not
reversed; 30 iterations of 1 epoch -> 2 epochs, validation_data as in the example.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "examples/nlp/addition_rnn.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    TRAINING_SIZE, DIGITS = 320, 3
    MAXLEN = DIGITS + 1 + DIGITS

    class CharacterTable:
        def __init__(self, chars):
            self.chars = sorted(set(chars))
            self.char_indices = dict((c, i) for i, c in enumerate(self.chars))
            self.indices_char = dict((i, c) for i, c in enumerate(self.chars))

        def encode(self, C, num_rows):
            x = np.zeros((num_rows, len(self.chars)))
            for i, c in enumerate(C):
                x[i, self.char_indices[c]] = 1
            return x

        def decode(self, x, calc_argmax=True):
            if calc_argmax:
                x = x.argmax(axis=-1)
            return "".join(self.indices_char[int(v)] for v in x)

    chars = "0123456789+ "
    ctable = CharacterTable(chars)
    rng = np.random.default_rng(0)
    questions, expected, seen = [], [], set()
    while len(questions) < TRAINING_SIZE:
        def f():
            return int("".join(rng.choice(list("0123456789"))
                               for _ in range(int(rng.integers(1, DIGITS + 1)))))
        a, b = f(), f()
        key = tuple(sorted((a, b)))
        if key in seen:
            continue
        seen.add(key)
        q = f"{a}+{b}"
        questions.append(q + " " * (MAXLEN - len(q)))
        ans = str(a + b)
        expected.append(ans + " " * (DIGITS + 1 - len(ans)))

    x = np.zeros((len(questions), MAXLEN, len(chars)), dtype=bool)
    y = np.zeros((len(questions), DIGITS + 1, len(chars)), dtype=bool)
    for i, sentence in enumerate(questions):
        x[i] = ctable.encode(sentence, MAXLEN)
    for i, sentence in enumerate(expected):
        y[i] = ctable.encode(sentence, DIGITS + 1)
    split_at = len(x) - len(x) // 10
    (x_train, x_val), (y_train, y_val) = (x[:split_at], x[split_at:]), (y[:split_at], y[split_at:])

    num_layers = 1
    model = keras.Sequential()
    model.add(layers.Input((MAXLEN, len(chars))))
    model.add(layers.LSTM(128))
    model.add(layers.RepeatVector(DIGITS + 1))
    for _ in range(num_layers):
        model.add(layers.LSTM(128, return_sequences=True))
    model.add(layers.Dense(len(chars), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    out["params"] = model.count_params()
    seed_weights(model, 0)
    h = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val),
                  verbose=0, shuffle=False)
    out["history"] = history(h)
    preds = np.argmax(model.predict(x_val[:5], verbose=0), axis=-1)
    out["decoded"] = [ctable.decode(p, calc_argmax=False) for p in preds]
    return out
