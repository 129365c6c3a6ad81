"""VGG19 (keras.applications.vgg19): VGG16 with four convolutions in blocks 3 to 5."""
from fastkeras.applications import imagenet_utils
from fastkeras.applications.vgg16 import build_vgg

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]

_WEIGHTS_FILES = ("vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                  "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 model (default input 224x224x3, at least 32x32); arguments as VGG16's."""
    return build_vgg((2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name, _WEIGHTS_FILES)


def preprocess_input(x, data_format=None):
    """VGG's preprocessing: RGB to BGR, each channel less ImageNet's mean ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """See imagenet_utils.decode_predictions (needs a local class index file)."""
    return imagenet_utils.decode_predictions(preds, top=top)
