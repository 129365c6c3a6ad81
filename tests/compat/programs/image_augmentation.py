"""keras-io examples/vision/image_classification_from_scratch.py: a data_augmentation
Sequential (RandomFlip("horizontal"), RandomRotation(0.1)) applied to the training
batches (the example's option 2, ``train_ds.map(lambda img, label: (data_augmentation(img),
label))``), a small Xception-like network (Rescaling, Conv2D / BatchNormalization entry
block, SeparableConv2D blocks with strided 1x1 residual projections added back,
GlobalAveragePooling2D, Dropout(0.5), Dense(1, sigmoid)), binary_crossentropy with Adam
(1e-3), ModelCheckpoint("save_at_{epoch}.keras"), and predict with augmentation and dropout
inactive. The example's option 1 (augmentation inside the model) is run too.

Port: Kaggle cats vs dogs (180x180 JPEGs via image_dataset_from_directory) -> 24x24 RGB
synthetic images in [0, 255] (class 0 a filled disc, class 1 a ring, random colours,
centres and noise; 160 train, 64 validation); filter sizes 32/64, [128, 256, 512, 728],
1024 -> 8/16, [16, 32], 48; epochs 25 -> 2, batch 32; the tf.data map -> augmenting each
NumPy batch; jit_compile dropped; plot_model and matplotlib dropped.

The augmentation draws differ between the libraries (and so do Dropout's masks), so the
training history and the trained model's predictions are compared loosely; shapes,
parameter counts, the untrained model's predictions and everything in inference mode
(augmentation is the identity there) exactly.
"""
import os

import numpy as np

from ..harness import history, seed_weights, shape, tmpdir, to_numpy

SOURCE = "examples/vision/image_classification_from_scratch.py"
# random augmentation and Dropout(0.5) differ between the libraries: the training numbers
# say both train alike, not that they match
TOLERANCES = {"loss": (0.25, 0.05), "accuracy": (0.0, 0.2), "trained_predictions": (0.0, 0.03),
              "option1_*": (0.25, 0.2)}


def synthetic_images(n, size, seed):
    """Discs (label 0) and rings (label 1): invariant to flips and rotations, as the
    example's cats and dogs are to the augmentation."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype("float32")
    x = np.empty((n, size, size, 3), "float32")
    y = np.arange(n) % 2
    for i in range(n):
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        r = np.hypot(yy - cy, xx - cx)
        radius = rng.uniform(size * 0.22, size * 0.32)
        shape_mask = r < radius if y[i] == 0 else np.abs(r - radius) < size * 0.07
        colour = rng.uniform(120, 255, 3)
        img = rng.uniform(0, 60, (size, size, 3))
        img[shape_mask] = colour
        x[i] = img
    return x, y.astype("float32")


def make_model(keras, layers, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Entry block
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [16, 32]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(
            previous_block_activation)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(48, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        activation = "sigmoid"
        units = 1
    else:
        activation = "softmax"
        units = num_classes

    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(units, activation=activation)(x)
    return keras.Model(inputs, outputs)


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    image_size = (24, 24)
    x_train, y_train = synthetic_images(160, image_size[0], seed=0)
    x_val, y_val = synthetic_images(64, image_size[0], seed=1)

    data_augmentation = keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
    ])
    # "applying data_augmentation repeatedly to the first image in the dataset"
    images = x_train[:9]
    augmented = [to_numpy(data_augmentation(images)) for _ in range(3)]
    out["augmented_shape"] = shape(augmented[0].shape)
    out["augmented_dtype"] = str(augmented[0].dtype)
    out["augmented_draws_differ"] = bool(not np.allclose(augmented[0], augmented[1]))
    # reflect fill and bilinear weights keep each pixel within the image's value range
    out["augmented_within_range"] = bool(all(
        a.min() >= images.min() - 1e-3 and a.max() <= images.max() + 1e-3 for a in augmented))
    inference = to_numpy(data_augmentation(images, training=False))
    out["inference_is_identity"] = bool(np.array_equal(inference, images))
    out["augmentation_config"] = [layer.get_config()["name"].rstrip("_0123456789")
                                  for layer in data_augmentation.layers]
    out["rotation_factor"] = [float(v) for v in data_augmentation.layers[1].get_config()["factor"]]

    model = make_model(keras, layers, input_shape=image_size + (3,), num_classes=2)
    out["params"] = model.count_params()
    out["output_shapes"] = [shape(layer.output.shape) for layer in model.layers]
    seed_weights(model, 0)
    out["initial_predictions"] = to_numpy(model.predict(x_val[:8], verbose=0)).ravel().tolist()

    epochs = 2
    with tmpdir() as d:
        callbacks = [keras.callbacks.ModelCheckpoint(os.path.join(d, "save_at_{epoch}.keras"))]
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                      metrics=["accuracy"])
        # train_ds.map(lambda img, label: (data_augmentation(img), label)) batch by batch,
        # a fresh augmentation of the training set for each epoch
        hist = {}
        for epoch in range(epochs):
            x_aug = np.concatenate([to_numpy(data_augmentation(x_train[i:i + 32]))
                                    for i in range(0, len(x_train), 32)])
            h = model.fit(x_aug, y_train, batch_size=32, epochs=epoch + 1, initial_epoch=epoch,
                          callbacks=callbacks, validation_data=(x_val, y_val), verbose=0,
                          shuffle=False)
            for k, v in history(h).items():
                hist.setdefault(k, []).extend(v)
        out["loss"] = [hist["loss"], hist["val_loss"]]
        out["accuracy"] = [hist["accuracy"], hist["val_accuracy"]]
        out["checkpoints"] = sorted(f for f in os.listdir(d) if f.endswith(".keras"))
        predictions = to_numpy(model.predict(x_val[:8], verbose=0))
        out["trained_predictions"] = predictions.ravel().tolist()
        reloaded = keras.models.load_model(os.path.join(d, f"save_at_{epochs}.keras"))
        out["reloaded_predicts_the_same"] = bool(np.allclose(
            to_numpy(reloaded.predict(x_val[:8], verbose=0)), predictions, rtol=1e-5,
            atol=1e-6))

    # option 1: the augmentation inside the model, active only in fit
    inputs = keras.Input(shape=image_size + (3,))
    x = data_augmentation(inputs)
    option1 = keras.Model(inputs, model(x))
    out["option1_params"] = option1.count_params()
    out["option1_predict_matches_model"] = bool(np.allclose(
        to_numpy(option1.predict(x_val[:8], verbose=0)), predictions, rtol=1e-6, atol=1e-7))
    option1.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                    metrics=["accuracy"])
    h = history(option1.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0,
                            shuffle=False))
    out["option1_history"] = [h["loss"], h["accuracy"]]
    out["option1_score"] = [float(v) for v in option1.evaluate(x_val, y_val, verbose=0)]
    return out
