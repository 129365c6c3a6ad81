"""MobileNet (keras.applications.mobilenet): Howard et al., "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications" (2017). Keras' layer names
and order, so Keras' weights files load into it (``weights=<local path>``)."""
from fastkeras.applications import imagenet_utils

__all__ = ["MobileNet", "preprocess_input", "decode_predictions"]

# the square input sizes Keras has ImageNet weights for (any other size builds as well)
_WEIGHT_SIZES = (128, 160, 192, 224)


def _conv_block(x, filters, alpha, strides):
    """The stem: a 3x3 convolution (int(filters * alpha) filters), batch norm, ReLU6."""
    from fastkeras import layers

    x = layers.Conv2D(int(filters * alpha), (3, 3), padding="same", use_bias=False,
                      strides=strides, name="conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(x, pointwise_filters, alpha, depth_multiplier, block_id,
                          strides=(1, 1)):
    """A 3x3 depthwise convolution and a 1x1 pointwise one, each followed by batch norm
    and ReLU6. A strided block pads the bottom and right by one, then convolves 'valid'."""
    from fastkeras import layers

    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides,
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


# (pointwise filters, strides) of blocks 1..13
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3,
              include_top=True, weights="imagenet", input_tensor=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=None):
    """The MobileNet model (default input 224x224x3, at least 32x32).

    alpha: the width multiplier (each layer has int(filters * alpha) filters);
    depth_multiplier: the depthwise convolutions' depth multiplier; dropout: the rate
    before the classifier (include_top). weights: None (random initialization) or the path
    to a local weights file (Keras' ``mobilenet_<alpha>_<size>_tf[_no_top].h5``, or a
    ``.weights.h5`` file); "imagenet", Keras' default, raises a ValueError: fastkeras never
    downloads weights. pooling: None, "avg" or "max", when include_top is False. name
    defaults to ``mobilenet_<alpha:.2f>_<rows>``."""
    from fastkeras import layers

    imagenet_utils.validate_weights(
        weights, include_top, classes,
        ("mobilenet_1_0_224_tf.h5", "mobilenet_1_0_224_tf_no_top.h5"))
    default_size = 224
    if input_shape is not None and input_shape[0] == input_shape[1] \
            and input_shape[0] in _WEIGHT_SIZES:
        default_size = input_shape[0]
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format="channels_last",
        require_flatten=include_top, weights=weights)
    rows = input_shape[0]
    img_input = imagenet_utils.model_input(input_tensor, input_shape)

    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, block_id,
                                  strides=(stride, stride))
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights)


def preprocess_input(x, data_format=None):
    """MobileNet's preprocessing: pixels in [0, 255] scaled to [-1, 1] ("tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions: it needs the ImageNet class index file
    (imagenet_class_index.json), which fastkeras does not provide nor download."""
    return imagenet_utils.decode_predictions(preds, top=top)
