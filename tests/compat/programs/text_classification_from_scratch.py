"""keras-io examples/nlp/text_classification_from_scratch.py: raw strings standardized
(lowercase, <br /> stripped, punctuation removed) and vectorized by a TextVectorization
layer (max_tokens, output_mode="int", output_sequence_length) adapted on the text, a 1D
convnet (Embedding, Dropout, two Conv1D(128, 7, strides=3), GlobalMaxPooling1D, Dense,
Dropout, sigmoid), binary crossentropy; then an end-to-end model taking raw strings.

Port: the aclImdb download -> seeded synthetic reviews from two small vocabularies; the
example's custom_standardization (tf.strings regexes) -> the same cleaning in Python
before the built-in "lower_and_strip_punctuation";
tf.data -> Python lists of strings / NumPy arrays; max_features 20,000 -> 2,000,
sequence_length 500 -> 64, epochs 3 -> 2. Dropout differs between libraries: training
numbers are compared loosely.
"""
import re
import string

import numpy as np

from ..harness import history, seed_weights

SOURCE = "examples/nlp/text_classification_from_scratch.py"
TOLERANCES = {"history": (0.1, 0.05)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(0)
    good = "great wonderful loved brilliant superb moving fun charming".split()
    bad = "awful boring hated dull terrible weak messy tedious".split()
    filler = "the movie film plot actor scene was and it a of this story".split()

    def review(positive):
        words = list(rng.choice(filler, size=20)) + list(rng.choice(good if positive else bad,
                                                                     size=4))
        rng.shuffle(words)
        return " ".join(words).capitalize() + ".<br />The End!"

    labels = rng.integers(0, 2, 240)
    texts = [review(bool(v)) for v in labels]

    max_features, embedding_dim, sequence_length = 2000, 128, 64
    vectorize_layer = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation", max_tokens=max_features,
        output_mode="int", output_sequence_length=sequence_length)
    cleaned = [re.sub(f"[{re.escape(string.punctuation)}]", " ", t.replace("<br />", " "))
               for t in texts]
    vectorize_layer.adapt(cleaned)
    x = np.asarray(vectorize_layer(cleaned))
    out["vocabulary_head"] = list(vectorize_layer.get_vocabulary()[:4])
    out["vectorized_shape"] = list(x.shape)

    inputs = keras.Input(shape=(None,), dtype="int64")
    h = layers.Embedding(max_features, embedding_dim)(inputs)
    h = layers.Dropout(0.5)(h)
    h = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(h)
    h = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(h)
    h = layers.GlobalMaxPooling1D()(h)
    h = layers.Dense(128, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(h)
    model = keras.Model(inputs, predictions)
    out["params"] = model.count_params()
    seed_weights(model, 0)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    hist = model.fit(x[:200], labels[:200], validation_data=(x[200:], labels[200:]), epochs=2,
                     batch_size=32, verbose=0, shuffle=False)
    out["history"] = history(hist)

    string_input = keras.Input(shape=(1,), dtype="string")
    indices = vectorize_layer(string_input)
    end_to_end = keras.Model(string_input, model(indices))
    raw = keras.ops.convert_to_tensor([[c] for c in cleaned[:3]])
    probs = np.asarray(end_to_end.predict(raw, verbose=0))
    out["end_to_end_shape"] = list(probs.shape)
    return out
