"""keras-io examples/vision/image_classification_efficientnet_fine_tuning.py, "Transfer
learning from pretrained weights": EfficientNetB0(include_top=False, input_tensor=inputs)
frozen (model.trainable = False), a new top (GlobalAveragePooling2D "avg_pool",
BatchNormalization, Dropout(0.2) "top_dropout", Dense softmax "pred") trained with
Adam(1e-2) and categorical_crossentropy on one-hot labels from a keras.utils.PyDataset;
then unfreeze_model: the last 20 layers made trainable except BatchNormalization,
Adam(1e-5), trained again.

Port: weights="imagenet" -> a local weights file: an EfficientNetB0 whose kernels come
from seed_weights and whose normalization statistics are calibrated on the images
(calibrate), saved with save_weights and passed as weights=<path>, as Keras does with
its downloaded file; the new top's Dense from seed_weights too. Stanford Dogs (224x224,
120 classes) -> scikit-learn digits upsampled to 32x32 RGB pixels in [0, 255] (128 train,
64 test, 10 classes), resized once up front (keras.ops.image.resize in the PyDataset is
not in fastkeras). The random augmentation layers are left out, and the Dropout rates
(the base's drop-connect and top_dropout) are recorded and then set to 0: their masks
differ between the libraries, and with them training could only be compared loosely.
The PyDataset does not shuffle and fit gets shuffle=False (fit's default shuffles a
PyDataset's batch order). Batch 64 -> 32, epochs 25 / 4 -> 3 / 1, no validation during
the first fit (the oracle's traced test step costs more than the rest).
"""
import os

import numpy as np

from ..harness import digits, history, seed_weights, shape, tmpdir, to_numpy

SOURCE = "examples/vision/image_classification_efficientnet_fine_tuning.py"
# the calibrated base's batch statistics are float32 means over up to 32x16x16 values,
# summed in a different order by each library (~1e-5 relative); the features grow to
# ~40 and the softmax of the new top sharpens the differences
TOLERANCES = {"*features": (1e-3, 1e-3), "initial_predictions": (2e-3, 1e-4)}

IMG_SIZE = 32
BATCH_SIZE = 32
NUM_CLASSES = 10


def _data():
    x, y = digits(size=IMG_SIZE)
    x = np.repeat(x, 3, axis=-1) * 255.0
    return (x[:128], y[:128]), (x[128:192], y[128:192])


def calibrate(keras, model, images):
    """The stand-in for ImageNet pretraining: the stem's Normalization adapted to the
    images scaled to [0, 1] (what Keras' ImageNet statistics are), then every
    BatchNormalization's moving statistics set to its batch statistics on 32 images (one
    training-mode call with momentum 0 and the drop-connect Dropouts off), so that the
    seeded kernels give features of unit scale instead of vanishing ones."""
    layers = keras.layers
    norm = [l for l in model.layers if isinstance(l, layers.Normalization)][0]
    norm.adapt(images / 255.0)
    bns = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
    drops = [l for l in model.layers if isinstance(l, layers.Dropout)]
    rates = [l.rate for l in drops]
    for layer in bns:
        layer.momentum = 0.0
    for layer in drops:
        layer.rate = 0.0
    model(images[:32], training=True)
    for layer in bns:
        layer.momentum = 0.99
    for layer, rate in zip(drops, rates):
        layer.rate = rate


def run(lib):
    keras = lib.keras
    layers = keras.layers
    EfficientNetB0 = keras.applications.EfficientNetB0
    out = {}
    (train_images, train_labels), (test_images, test_labels) = _data()

    class DigitsDataset(keras.utils.PyDataset):
        def __init__(self, images, labels, num_classes, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.images = images
            self.labels = labels
            self.num_classes = num_classes
            self.batch_size = batch_size
            self.indices = np.arange(len(labels))

        def __len__(self):
            return len(self.indices) // self.batch_size

        def __getitem__(self, idx):
            batch_indices = self.indices[idx * self.batch_size:(idx + 1) * self.batch_size]
            batch_images = self.images[batch_indices]
            batch_labels = np.array(
                keras.ops.one_hot(self.labels[batch_indices], self.num_classes))
            return batch_images, batch_labels

    ds_train = DigitsDataset(train_images, train_labels, NUM_CLASSES, BATCH_SIZE)
    ds_test = DigitsDataset(test_images, test_labels, NUM_CLASSES, BATCH_SIZE)

    with tmpdir() as d:
        # the "pretrained" file: what weights="imagenet" would have downloaded
        pretrained = EfficientNetB0(include_top=False, weights=None,
                                    input_shape=(IMG_SIZE, IMG_SIZE, 3))
        seed_weights(pretrained, 0)
        calibrate(keras, pretrained, train_images)
        weights_path = os.path.join(d, "efficientnetb0_notop.weights.h5")
        pretrained.save_weights(weights_path)
        probe = test_images[:4]
        out["pretrained_features"] = to_numpy(pretrained(probe, training=False))

        def build_model(num_classes):
            inputs = layers.Input(shape=(IMG_SIZE, IMG_SIZE, 3))
            model = EfficientNetB0(include_top=False, input_tensor=inputs,
                                   weights=weights_path)

            # Freeze the pretrained weights
            model.trainable = False

            # Rebuild top
            x = layers.GlobalAveragePooling2D(name="avg_pool")(model.output)
            x = layers.BatchNormalization()(x)

            top_dropout_rate = 0.2
            x = layers.Dropout(top_dropout_rate, name="top_dropout")(x)
            outputs = layers.Dense(num_classes, activation="softmax", name="pred")(x)

            # Compile
            model = keras.Model(inputs, outputs, name="EfficientNet")
            optimizer = keras.optimizers.Adam(learning_rate=1e-2)
            model.compile(optimizer=optimizer, loss="categorical_crossentropy",
                          metrics=["accuracy"])
            return model

        model = build_model(num_classes=NUM_CLASSES)
    # the new top's initial weights from the shared stream (the base's came from the file)
    seed_weights(model.get_layer("pred"), 1)
    # the Dropout layers (the base's drop-connect and top_dropout) draw different masks in
    # each library: their rates are recorded, then set to 0 so that training is compared
    # number for number
    dropouts = [l for l in model.layers if isinstance(l, layers.Dropout)]
    out["dropout_rates"] = [round(l.rate, 6) for l in dropouts]
    for layer in dropouts:
        layer.rate = 0.0
    base_layers = [l for l in model.layers if l.name.startswith(("stem_", "block", "top_"))
                   and l.name != "top_dropout"]
    out["params"] = model.count_params()
    out["layer_count"] = len(model.layers)
    out["output_shape"] = shape(model.output.shape)
    out["trainable_weights_frozen"] = len(model.trainable_weights)
    out["non_trainable_weights_frozen"] = len(model.non_trainable_weights)
    loaded = [w for l in base_layers for w in l.get_weights()]
    out["base_loaded_from_file"] = all(
        np.array_equal(a, b) for a, b in zip(loaded, pretrained.get_weights()[3:]))
    features = keras.Model(model.inputs, model.get_layer("top_activation").output)
    out["base_features"] = to_numpy(features(probe, training=False))
    out["initial_predictions"] = to_numpy(model(test_images[:16], training=False))
    head_bn = model.layers[-3]
    head_bn_before = to_numpy(head_bn.moving_mean).copy()

    hist = history(model.fit(ds_train, epochs=3, verbose=0, shuffle=False))
    out["loss"] = hist["loss"]
    out["loss_decreased"] = hist["loss"][-1] < hist["loss"][0]
    out["accuracy"] = hist["accuracy"]
    out["base_unchanged_by_fit"] = all(
        np.array_equal(a, b) for a, b in zip([w for l in base_layers for w in l.get_weights()],
                                             loaded))
    out["head_bn_statistics_moved"] = not np.array_equal(head_bn_before,
                                                         to_numpy(head_bn.moving_mean))

    def unfreeze_model(model, layers_to_unfreeze=20, learning_rate=1e-5,
                       loss="categorical_crossentropy", metrics=None):
        if metrics is None:
            metrics = ["accuracy"]
        if isinstance(layers_to_unfreeze, str):
            unfreeze_from = None
            for i, layer in enumerate(model.layers):
                if layers_to_unfreeze in layer.name:
                    unfreeze_from = i
                    break
            if unfreeze_from is None:
                raise ValueError(f"No layer name contains {layers_to_unfreeze!r}.")
            layers_to_process = model.layers[unfreeze_from:]
        elif isinstance(layers_to_unfreeze, int):
            n_layers_to_unfreeze = min(layers_to_unfreeze, len(model.layers))
            layers_to_process = model.layers[-n_layers_to_unfreeze:]
        else:
            raise TypeError("layers_to_unfreeze must be an int or str, received: "
                            f"{type(layers_to_unfreeze)}")

        # We keep BatchNorm layers frozen
        for layer in layers_to_process:
            if not isinstance(layer, layers.BatchNormalization):
                layer.trainable = True

        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        return model

    model = unfreeze_model(model)
    out["unfrozen_layers"] = [l.name for l in model.layers if l.trainable]
    out["trainable_weights_fine_tune"] = len(model.trainable_weights)
    # the base's batch norms in the unfrozen range stay frozen (the top's one was trainable)
    frozen_bn = [l for l in model.layers[-20:]
                 if isinstance(l, layers.BatchNormalization) and not l.trainable]
    out["frozen_bn_layers"] = [l.name for l in frozen_bn]
    bn_before = [to_numpy(w).copy() for l in frozen_bn for w in l.weights]
    early = [w for l in base_layers[:-16] for w in l.get_weights()]

    hist = history(model.fit(ds_train, epochs=1, validation_data=ds_test, verbose=0,
                             shuffle=False))
    out["fine_tune_loss"] = [hist["loss"], hist["val_loss"]]
    out["fine_tune_accuracy"] = [hist["accuracy"], hist["val_accuracy"]]
    out["frozen_bn_unchanged"] = all(
        np.array_equal(a, to_numpy(w)) for a, w in
        zip(bn_before, [w for l in frozen_bn for w in l.weights]))
    out["early_layers_unchanged"] = all(
        np.array_equal(a, b) for a, b in
        zip(early, [w for l in base_layers[:-16] for w in l.get_weights()]))
    out["score"] = [float(v) for v in model.evaluate(ds_test, verbose=0)]
    return out
