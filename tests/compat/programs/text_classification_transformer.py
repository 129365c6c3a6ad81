"""keras-io examples/nlp/text_classification_with_transformer.py: a TransformerBlock layer
(MultiHeadAttention, a Sequential feed-forward net, two LayerNormalizations, two Dropouts)
on a TokenAndPositionEmbedding layer (two Embeddings, positions from ``ops.arange`` inside
``call``), GlobalAveragePooling1D, Dropout, Dense; sparse categorical crossentropy, Adam.

Port: the IMDB download -> random integer reviews (seeded) whose label is whether word ids
below 50 are frequent, padded with keras.utils.pad_sequences; vocab 20,000 -> 500, maxlen
200 -> 24, 25,000 reviews -> 256 (64 for validation); epochs 2 as in the example. The
dropout masks differ between the libraries, so the example's training is compared loosely;
the same model with every dropout rate at 0 (``rate=0.0``) is trained as well and compared
closely, and so are the untrained model's predictions.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "examples/nlp/text_classification_with_transformer.py"
# Keras 3 on TensorFlow squares an Embedding's IndexedSlices gradient before summing rows
# repeated in a batch (Adam's second moment); the oracle runs with dense gradients, which
# is Adam's definition and fastkeras' (harness.dense_oracle_gradients).
ORACLE_DENSE_GRADIENTS = True
# the example's Dropout(0.1) layers draw different masks in each library (the twin
# without dropout keeps the default tolerances)
TOLERANCES = {"history": (0.1, 0.1)}


def run(lib):
    keras = lib.keras
    ops = keras.ops
    layers = keras.layers
    out = {}

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential(
                [
                    layers.Dense(ff_dim, activation="relu"),
                    layers.Dense(embed_dim),
                ]
            )
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output)
            return self.layernorm2(out1 + ffn_output)

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = ops.shape(x)[-1]
            positions = ops.arange(start=0, stop=maxlen, step=1)
            positions = self.pos_emb(positions)
            x = self.token_emb(x)
            return x + positions

    vocab_size = 500
    maxlen = 24
    rng = np.random.default_rng(0)

    def reviews(n):
        seqs, labels = [], []
        for _ in range(n):
            length = int(rng.integers(8, 40))
            positive = rng.random() < 0.5
            low = rng.random(length) < (0.6 if positive else 0.1)
            words = np.where(low, rng.integers(1, 50, length),
                             rng.integers(50, vocab_size, length))
            seqs.append(words.tolist())
            labels.append(int(positive))
        return seqs, np.array(labels)

    x_train, y_train = reviews(256)
    x_val, y_val = reviews(64)
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

    embed_dim = 32  # Embedding size for each token
    num_heads = 2  # Number of attention heads
    ff_dim = 32  # Hidden layer size in feed forward network inside transformer

    def classifier(rate):
        inputs = layers.Input(shape=(maxlen,))
        embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
        x = embedding_layer(inputs)
        transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim, rate=rate)
        x = transformer_block(x)
        out["block_output_shape"] = list(x.shape)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dropout(rate)(x)
        x = layers.Dense(20, activation="relu")(x)
        x = layers.Dropout(rate)(x)
        outputs = layers.Dense(2, activation="softmax")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    model = classifier(0.1)
    out["params"] = model.count_params()
    out["n_weights"] = len(model.weights)
    seed_weights(model, 0)
    out["initial_predictions"] = np.asarray(model.predict(x_val[:8], verbose=0))
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    h = model.fit(
        x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val),
        verbose=0, shuffle=False,
    )
    out["history"] = history(h)

    # the same model without dropout: training is deterministic, compared closely
    twin = classifier(0.0)
    seed_weights(twin, 0)
    twin.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    h = twin.fit(
        x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val),
        verbose=0, shuffle=False,
    )
    out["nodrop_history"] = history(h)
    out["nodrop_predictions"] = np.asarray(twin.predict(x_val[:8], verbose=0))
    return out
