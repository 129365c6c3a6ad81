"""MobileNetV2 (keras.applications.mobilenet_v2): Sandler et al., "MobileNetV2: Inverted
Residuals and Linear Bottlenecks" (CVPR 2018). Keras' layer names and order, so Keras'
weights files load into it (``weights=<local path>``)."""
from fastkeras import backend
from fastkeras.applications import imagenet_utils

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions"]

# the square input sizes Keras has ImageNet weights for (any other size builds as well)
_WEIGHT_SIZES = (96, 128, 160, 192, 224)
_BN = dict(axis=-1, epsilon=1e-3, momentum=0.999)

# (filters, stride, expansion) of blocks 0..16
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6),
           (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6))


def correct_pad(inputs, kernel_size):
    """The ZeroPadding2D padding before a stride-2 'valid' convolution that gives the
    output size of TensorFlow's 'same' padding: ((top, bottom), (left, right)). An
    unknown spatial size is treated as even (Keras' imagenet_utils.correct_pad)."""
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    rows, cols = inputs.shape[1:3]
    adjust = tuple(1 if d is None else 1 - d % 2 for d in (rows, cols))
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def _make_divisible(v, divisor, min_value=None):
    """v rounded to the nearest multiple of `divisor` (at least `min_value`, default
    `divisor`), and never more than 10% below v."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * v:
        rounded += divisor
    return rounded


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    """Expand (1x1 conv, except block 0), 3x3 depthwise conv, linear 1x1 projection to
    _make_divisible(int(filters * alpha), 8) channels; a residual Add where the shapes
    allow it."""
    from fastkeras import layers

    in_channels = inputs.shape[-1]
    out_channels = _make_divisible(int(filters * alpha), 8)
    x = inputs
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(name=f"{prefix}expand_BN", **_BN)(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(name=f"{prefix}depthwise_BN", **_BN)(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(name=f"{prefix}project_BN", **_BN)(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _default_size(input_shape, input_tensor):
    """224, or the square size Keras has weights for that the input has."""
    if input_shape is not None:
        rows, cols = input_shape[0], input_shape[1]
    elif input_tensor is not None and backend.is_keras_tensor(input_tensor):
        rows, cols = input_tensor.shape[1], input_tensor.shape[2]
    else:
        return 224
    return rows if rows == cols and rows in _WEIGHT_SIZES else 224


def _check_input_tensor(input_shape, input_tensor):
    """Keras' checks of `input_tensor` against `input_shape` (channels_last)."""
    if input_tensor is None:
        return
    if not backend.is_keras_tensor(input_tensor):
        raise ValueError("input_tensor is not a Keras tensor; "
                         f"Received `input_tensor={input_tensor}`")
    if input_shape is not None and input_tensor.shape[2] != input_shape[1]:
        raise ValueError("input_tensor.shape[2] must equal input_shape[1]; Received "
                         f"`input_tensor.shape={input_tensor.shape}`, "
                         f"`input_shape={input_shape}`")


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None):
    """The MobileNetV2 model (default input 224x224x3, at least 32x32).

    alpha: the width multiplier (block widths rounded to multiples of 8; the last 1x1
    convolution grows with alpha only above 1). weights: None (random initialization) or
    the path to a local weights file (Keras'
    ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_<alpha>_<size>[_no_top].h5``, or a
    ``.weights.h5`` file); "imagenet", Keras' default, raises a ValueError: fastkeras never
    downloads weights. pooling: None, "avg" or "max", when include_top is False. name
    defaults to ``mobilenetv2_<alpha:.2f>_<rows>``."""
    from fastkeras import layers

    imagenet_utils.validate_weights(
        weights, include_top, classes,
        ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
         "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"))
    _check_input_tensor(input_shape, input_tensor)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=_default_size(input_shape, input_tensor), min_size=32,
        data_format="channels_last", require_flatten=include_top, weights=weights)
    rows = input_shape[0]
    img_input = imagenet_utils.model_input(input_tensor, input_shape)

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(name="bn_Conv1", **_BN)(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                expansion=expansion, block_id=block_id)
    # as in the paper, the last convolution is not narrowed for alpha < 1
    last_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(name="Conv_1_bn", **_BN)(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights)


def preprocess_input(x, data_format=None):
    """MobileNetV2's preprocessing: pixels in [0, 255] scaled to [-1, 1] ("tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions: it needs the ImageNet class index file
    (imagenet_class_index.json), which fastkeras does not provide nor download."""
    return imagenet_utils.decode_predictions(preds, top=top)
