"""ResNet50, ResNet101, ResNet152 (keras.applications.resnet): He et al., "Deep Residual
Learning for Image Recognition" (CVPR 2015), with bottleneck blocks (v1: batch norm after
each convolution). The body is shared with resnet_v2 (pre-activation blocks). Keras' layer
names and order, so Keras' weights files load into them (``weights=<local path>``)."""
from fastkeras.applications import imagenet_utils

__all__ = ["ResNet50", "ResNet101", "ResNet152", "preprocess_input", "decode_predictions"]

_BN_AXIS = 3  # channels_last
_BN_EPSILON = 1.001e-5


def _weights_files(weights_name):
    base = f"{weights_name}_weights_tf_dim_ordering_tf_kernels"
    return (f"{base}.h5", f"{base}_notop.h5")


def _bn(name):
    from fastkeras import layers

    return layers.BatchNormalization(axis=_BN_AXIS, epsilon=_BN_EPSILON, name=name)


def build_resnet(stack_fn, preact, use_bias, include_top, weights, input_tensor, input_shape,
                 pooling, classes, classifier_activation, name, weights_name):
    """The stem (7x7/2 convolution, 3x3/2 max-pool), the stacks `stack_fn` adds, and the
    head: global average pooling and `predictions`, or the optional pooling. `preact`
    (v2): no batch norm in the stem, one (post_bn) after the stacks."""
    from fastkeras import layers

    imagenet_utils.validate_weights(weights, include_top, classes, _weights_files(weights_name))
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format="channels_last",
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights)


def residual_block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Bottleneck block: 1x1 (stride), kxk, 1x1 (4 * filters) convolutions each followed
    by batch norm; the shortcut a 1x1 convolution with batch norm, or the identity."""
    from fastkeras import layers

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="SAME", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` v1 blocks, the first with a convolution shortcut and stride `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck block (batch norm and ReLU before the convolutions); the
    stride is on the kxk convolution, and an identity shortcut is subsampled by a 1x1
    max-pool when the block strides."""
    from fastkeras import layers

    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` v2 blocks: the first with a convolution shortcut, the last strided."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _v1_stacks(counts):
    def stack_fn(x):
        x = stack_residual_blocks_v1(x, 64, counts[0], stride1=1, name="conv2")
        x = stack_residual_blocks_v1(x, 128, counts[1], name="conv3")
        x = stack_residual_blocks_v1(x, 256, counts[2], name="conv4")
        return stack_residual_blocks_v1(x, 512, counts[3], name="conv5")
    return stack_fn


_DOC = """The {title} model (default input 224x224x3, at least 32x32).

    weights: None (random initialization) or the path to a local weights file (Keras'
    ``{weights_name}_weights_tf_dim_ordering_tf_kernels[_notop].h5``, or a ``.weights.h5``
    file); "imagenet", Keras' default, raises a ValueError: fastkeras never downloads
    weights. pooling: None, "avg" or "max", when include_top is False."""


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50"):
    return build_resnet(_v1_stacks((3, 4, 6, 3)), False, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet50")


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet101"):
    return build_resnet(_v1_stacks((3, 4, 23, 3)), False, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet101")


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet152"):
    return build_resnet(_v1_stacks((3, 8, 36, 3)), False, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet152")


ResNet50.__doc__ = _DOC.format(title="ResNet50", weights_name="resnet50")
ResNet101.__doc__ = _DOC.format(title="ResNet101", weights_name="resnet101")
ResNet152.__doc__ = _DOC.format(title="ResNet152", weights_name="resnet152")


def preprocess_input(x, data_format=None):
    """ResNet's preprocessing: RGB to BGR, each channel less ImageNet's mean ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions (needs a local class index file)."""
    return imagenet_utils.decode_predictions(preds, top=top)
