"""VGG16 (keras.applications.vgg16): Simonyan & Zisserman, "Very Deep Convolutional
Networks for Large-Scale Image Recognition" (ICLR 2015). Keras' layer names and order, so
Keras' weights files load into it (``weights=<local path>``)."""
from fastkeras.applications import imagenet_utils

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]

_WEIGHTS_FILES = ("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                  "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")


def build_vgg(convs_per_block, include_top, weights, input_tensor, input_shape, pooling,
              classes, classifier_activation, name, weights_files):
    """The VGG body: five blocks of 3x3 ReLU convolutions (`convs_per_block` in each,
    64, 128, 256, 512, 512 filters) each closed by a 2x2 max-pool, then the classifier
    (Flatten, fc1 and fc2 of 4096 units, predictions) or the optional global pooling."""
    from fastkeras import layers

    imagenet_utils.validate_weights(weights, include_top, classes, weights_files)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format="channels_last",
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block),
                                             start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 model (default input 224x224x3, at least 32x32).

    weights: None (random initialization) or the path to a local weights file (Keras'
    ``vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5``, or a ``.weights.h5`` file);
    "imagenet", Keras' default, raises a ValueError: fastkeras never downloads weights.
    pooling: None, "avg" or "max", when include_top is False."""
    return build_vgg((2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name, _WEIGHTS_FILES)


def preprocess_input(x, data_format=None):
    """VGG's preprocessing: RGB to BGR, each channel less ImageNet's mean ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions (needs a local class index file)."""
    return imagenet_utils.decode_predictions(preds, top=top)
