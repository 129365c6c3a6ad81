"""keras-io guides/understanding_masking_and_padding.py: pad_sequences, the masks made by
Embedding(mask_zero=True) and Masking (read as ._keras_mask), masks flowing through a
functional model into an LSTM and passed by hand in a subclassed layer, a layer that
transforms the mask (TemporalSplit.compute_mask), a custom embedding making a mask
(compute_mask with ops.not_equal), supports_masking, and a layer consuming the mask
(TemporalSoftmax).

Port: as written (np.random -> a seeded generator); the RNN weights are seeded.
"""
import numpy as np

from ..harness import seed_weights, shape, to_numpy

SOURCE = "guides/understanding_masking_and_padding.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    rng = np.random.default_rng(0)

    raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
    padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
    out["padded"] = np.asarray(padded_inputs).tolist()
    out["padded_pre_maxlen4"] = np.asarray(keras.utils.pad_sequences(raw_inputs, maxlen=4)).tolist()

    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded_inputs)
    out["embedding_mask"] = to_numpy(masked_output._keras_mask).tolist()

    masking_layer = layers.Masking()
    unmasked_embedding = ops.cast(
        ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), "float32")
    masked_embedding = masking_layer(unmasked_embedding)
    out["masking_mask"] = to_numpy(masked_embedding._keras_mask).tolist()

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)
    seed_weights(model, 0)
    out["functional_lstm"] = to_numpy(model(padded_inputs))

    class MyLayer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
            self.lstm = layers.LSTM(32)

        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            return self.lstm(x, mask=mask)

    layer = MyLayer()
    x = (rng.random((32, 10)) * 100).astype("int32")
    x[:, 7:] = 0
    layer(x)
    seed_weights(layer, 1)
    out["subclassed_lstm"] = to_numpy(layer(x))[:4]

    class TemporalSplit(keras.layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    first_half, second_half = TemporalSplit()(masked_embedding)
    out["split_masks"] = [to_numpy(first_half._keras_mask).tolist(),
                          to_numpy(second_half._keras_mask).tolist()]

    class CustomEmbedding(keras.layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim = input_dim
            self.output_dim = output_dim
            self.mask_zero = mask_zero

        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer="random_normal", dtype="float32")

        def call(self, inputs):
            inputs = ops.cast(inputs, "int32")
            return ops.take(self.embeddings, inputs)

        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero:
                return None
            return ops.not_equal(inputs, 0)

    layer = CustomEmbedding(10, 32, mask_zero=True)
    x = (rng.random((3, 10)) * 9).astype("int32")
    y = layer(x)
    out["custom_embedding_shape"] = shape(y.shape)
    out["custom_mask"] = to_numpy(layer.compute_mask(x)).tolist()

    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    x = MyActivation()(x)
    out["mask_found_symbolic"] = getattr(x, "_keras_mask", None) is not None
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)
    seed_weights(model, 2)
    data = rng.integers(0, 5000, size=(8, 12))
    data[:, 9:] = 0
    out["supports_masking_model"] = to_numpy(model(data))

    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    outputs = TemporalSoftmax()(x)
    model = keras.Model(inputs, outputs)
    seed_weights(model, 3)
    data = rng.integers(0, 10, size=(4, 6))
    out["temporal_softmax"] = to_numpy(model(data))
    return out
