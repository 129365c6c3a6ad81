"""EfficientNetB0..B7 (keras.applications.efficientnet): Tan & Le, "EfficientNet:
Rethinking Model Scaling for Convolutional Neural Networks" (ICML 2019). Keras' layer
names and order, so Keras' weights files load into it (``weights=<local path>``).

The input preprocessing is part of the model (a Rescaling(1/255) and a Normalization
layer whose mean and variance are weights of the model, zeros and ones until weights are
loaded), so the models take pixels in [0, 255] and ``preprocess_input`` is the identity.
"""
import copy
import math

from fastkeras.applications import imagenet_utils
from fastkeras.applications.mobilenet_v2 import correct_pad

__all__ = ["EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
           "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
           "preprocess_input", "decode_predictions"]

DEFAULT_BLOCKS_ARGS = [
    dict(kernel_size=3, repeats=1, filters_in=32, filters_out=16, expand_ratio=1,
         id_skip=True, strides=1, se_ratio=0.25),
    dict(kernel_size=3, repeats=2, filters_in=16, filters_out=24, expand_ratio=6,
         id_skip=True, strides=2, se_ratio=0.25),
    dict(kernel_size=5, repeats=2, filters_in=24, filters_out=40, expand_ratio=6,
         id_skip=True, strides=2, se_ratio=0.25),
    dict(kernel_size=3, repeats=3, filters_in=40, filters_out=80, expand_ratio=6,
         id_skip=True, strides=2, se_ratio=0.25),
    dict(kernel_size=5, repeats=3, filters_in=80, filters_out=112, expand_ratio=6,
         id_skip=True, strides=1, se_ratio=0.25),
    dict(kernel_size=5, repeats=4, filters_in=112, filters_out=192, expand_ratio=6,
         id_skip=True, strides=2, se_ratio=0.25),
    dict(kernel_size=3, repeats=1, filters_in=192, filters_out=320, expand_ratio=6,
         id_skip=True, strides=1, se_ratio=0.25),
]

# He-style initialisation for convolutions, as Keras (fan_out, truncated normal)
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out",
                                       "distribution": "uniform"}}

# ImageNet's RGB standard deviations; with weights="imagenet" Keras follows the stem's
# Normalization by a Rescaling(1 / sqrt(std)) (tensorflow#49930). fastkeras never loads
# "imagenet", so that layer never appears, as in Keras for weights=None or a path.
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]

# (width, depth, default size, dropout) per model, and the files Keras would download
_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}


def round_filters(filters, width_coefficient, divisor=8):
    """filters * width_coefficient rounded to a multiple of `divisor` (at least
    `divisor`), never more than 10% below the product."""
    filters *= width_coefficient
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * filters:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats, depth_coefficient):
    """The number of blocks of a stage: ceil(depth_coefficient * repeats)."""
    return int(math.ceil(depth_coefficient * repeats))


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32, filters_out=16,
          kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.0, id_skip=True):
    """The MBConv block: 1x1 expansion (expand_ratio != 1), depthwise convolution,
    squeeze-and-excitation (0 < se_ratio <= 1), linear 1x1 projection, and an identity
    skip with drop-connect (Dropout(drop_rate) over whole samples) when the shapes
    allow it."""
    from fastkeras import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=3, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        squeezed = max(1, int(filters_in * se_ratio))
        se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
        se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
        se = layers.Conv2D(squeezed, 1, padding="same", activation=activation,
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_reduce")(se)
        se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_expand")(se)
        x = layers.multiply([x, se], name=f"{name}se_excite")
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1),
                               name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                 drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 blocks_args="default", name="efficientnet", include_top=True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", weights_name=None):
    """The EfficientNet family builder (Keras' keras.src.applications.efficientnet
    .EfficientNet): the stem, the seven stages of MBConv blocks of `blocks_args`
    scaled by `width_coefficient` / `depth_coefficient`, the 1x1 top convolution, then
    the classifier (global average pooling, Dropout(dropout_rate), Dense) or the optional
    pooling. The drop-connect rate grows linearly from 0 to `drop_connect_rate` over
    the blocks."""
    from fastkeras import layers

    if isinstance(blocks_args, str) and blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS
    files = None
    if weights_name is not None:
        files = (f"{name}.h5", f"{name}_notop.h5")
    imagenet_utils.validate_weights(weights, include_top, classes, files)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format="channels_last",
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)

    def filters_of(n):
        return round_filters(n, width_coefficient, depth_divisor)

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=3)(x)
    x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(filters_of(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    total = float(sum(round_repeats(args["repeats"], depth_coefficient)
                      for args in blocks_args))
    b = 0
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ValueError("The number of repeats in `EfficientNet` must be > 0. "
                             f"Received: repeats={args['repeats']}")
        args["filters_in"] = filters_of(args["filters_in"])
        args["filters_out"] = filters_of(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"), depth_coefficient)):
            if j > 0:  # only a stage's first block strides and changes the width
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = block(x, activation, drop_connect_rate * b / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(filters_of(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights)


def _variant(key):
    width, depth, size, dropout = _SCALING[key]
    model_name = f"EfficientNet{key.upper()}"

    def builder(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name=f"efficientnet{key}"):
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top,
                            weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=key)

    builder.__name__ = builder.__qualname__ = model_name
    builder.__doc__ = (
        f"""The {model_name} model (width x{width}, depth x{depth}, default input
    {size}x{size}x3, at least 32x32; dropout {dropout} before the classifier).

    Takes pixels in [0, 255]: the rescaling and normalization are layers of the model.
    weights: None (random initialization) or the path to a local weights file (Keras'
    ``efficientnet{key}[_notop].h5``, or a ``.weights.h5`` file); "imagenet", Keras'
    default, raises a ValueError: fastkeras never downloads weights. pooling: None, "avg"
    or "max", when include_top is False.""")
    return builder


EfficientNetB0 = _variant("b0")
EfficientNetB1 = _variant("b1")
EfficientNetB2 = _variant("b2")
EfficientNetB3 = _variant("b3")
EfficientNetB4 = _variant("b4")
EfficientNetB5 = _variant("b5")
EfficientNetB6 = _variant("b6")
EfficientNetB7 = _variant("b7")


def preprocess_input(x, data_format=None):
    """The identity, kept for Keras' API: EfficientNet's preprocessing is part of the
    model, which takes pixels in [0, 255]."""
    return x


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions: it needs the ImageNet class index file
    (imagenet_class_index.json), which fastkeras does not provide nor download."""
    return imagenet_utils.decode_predictions(preds, top=top)
