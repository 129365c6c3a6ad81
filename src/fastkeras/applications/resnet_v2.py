"""ResNet50V2, ResNet101V2, ResNet152V2 (keras.applications.resnet_v2): He et al.,
"Identity Mappings in Deep Residual Networks" (ECCV 2016), pre-activation blocks. Keras'
layer names and order, so Keras' weights files load into them (``weights=<local path>``)."""
from fastkeras.applications import imagenet_utils
from fastkeras.applications.resnet import _DOC, build_resnet, stack_residual_blocks_v2

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "preprocess_input",
           "decode_predictions"]


def _v2_stacks(counts):
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, counts[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, counts[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, counts[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, counts[3], stride1=1, name="conv5")
    return stack_fn


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="resnet50v2"):
    return build_resnet(_v2_stacks((3, 4, 6, 3)), True, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet101v2"):
    return build_resnet(_v2_stacks((3, 4, 23, 3)), True, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet152v2"):
    return build_resnet(_v2_stacks((3, 8, 36, 3)), True, True, include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name, "resnet152v2")


ResNet50V2.__doc__ = _DOC.format(title="ResNet50V2", weights_name="resnet50v2")
ResNet101V2.__doc__ = _DOC.format(title="ResNet101V2", weights_name="resnet101v2")
ResNet152V2.__doc__ = _DOC.format(title="ResNet152V2", weights_name="resnet152v2")


def preprocess_input(x, data_format=None):
    """ResNetV2's preprocessing: pixels scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions (needs a local class index file)."""
    return imagenet_utils.decode_predictions(preds, top=top)
