"""keras-io guides/functional_api.py: one graph of layers for several models (encoder /
autoencoder), models called like layers (encoder + decoder), ensembling with
layers.average, the model with three inputs and two outputs, and shared layers.

Port: the guide's random dummy data keeps its shapes but not its size (1280 -> 64 samples,
10,000 words -> 1,000); LSTM(128) / LSTM(32) keep their sizes.
"""
import numpy as np

from ..harness import history, seed_weights, shape, to_numpy

SOURCE = "guides/functional_api.py"
TOLERANCES = {"history": (1e-4, 1e-5)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(0)

    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    out["encoder_params"] = encoder.count_params()
    out["autoencoder_params"] = autoencoder.count_params()
    out["autoencoder_output_shape"] = shape(autoencoder.output_shape)
    out["autoencoder_layers"] = len(autoencoder.layers)

    # all models are callable, just like layers
    encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    seed_weights(autoencoder, 1)
    out["nested_layer_names"] = [layer.name for layer in autoencoder.layers]
    out["nested_params"] = autoencoder.count_params()
    images = rng.random((2, 28, 28, 1)).astype("float32")
    out["nested_output_mean"] = float(np.mean(to_numpy(autoencoder(images))))
    out["encoder_alone_equals_nested_part"] = bool(np.allclose(
        to_numpy(encoder(images)), to_numpy(autoencoder.get_layer("encoder")(images))))

    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    y1, y2, y3 = model1(inputs), model2(inputs), model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    seed_weights(ensemble_model, 2)
    probe = rng.random((4, 128)).astype("float32")
    out["ensemble"] = to_numpy(ensemble_model(probe))
    out["ensemble_is_mean"] = bool(np.allclose(
        to_numpy(ensemble_model(probe)),
        (to_numpy(model1(probe)) + to_numpy(model2(probe)) + to_numpy(model3(probe))) / 3,
        rtol=1e-5, atol=1e-6))

    # three inputs, two outputs
    num_tags, num_words, num_departments = 12, 1000, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input],
                        outputs=[priority_pred, department_pred])
    seed_weights(model, 3)
    out["ticket_params"] = model.count_params()
    out["ticket_output_shapes"] = [shape(o.shape) for o in model.outputs]
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "priority": keras.losses.BinaryCrossentropy(from_logits=True),
            "department": keras.losses.CategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.2},
    )
    title_data = rng.integers(num_words, size=(64, 10))
    body_data = rng.integers(num_words, size=(64, 20))
    tags_data = rng.integers(2, size=(64, num_tags)).astype("float32")
    priority_targets = rng.random(size=(64, 1))
    dept_targets = rng.integers(2, size=(64, num_departments))
    h = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                  {"priority": priority_targets, "department": dept_targets},
                  epochs=2, batch_size=32, verbose=0, shuffle=False)
    out["history"] = history(h)

    # shared layers
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    shared = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b])
    out["shared_weights"] = len(shared.weights)
    ids = rng.integers(1000, size=(2, 5))
    a, b = shared([ids, ids])
    out["shared_same_vectors"] = bool(np.array_equal(to_numpy(a), to_numpy(b)))
    return out
