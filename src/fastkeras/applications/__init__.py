"""keras.applications: the classic image-classification architectures.

Each family lives in its own module, as in Keras (``applications.vgg16``,
``applications.resnet``, ``applications.densenet``...), with its ``preprocess_input``
and ``decode_predictions``. Nothing is ever downloaded: ``weights`` is ``None``
(random initialisation) or the path of a local weights file (see
``imagenet_utils.load_application_weights``).

Names load on first use, so ``import fastkeras.applications`` is cheap.
"""
import importlib

# public model builders -> the submodule that defines them
_MODEL_MODULES = {
    "VGG16": "vgg16",
    "VGG19": "vgg19",
    "ResNet50": "resnet",
    "ResNet101": "resnet",
    "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2",
    "ResNet101V2": "resnet_v2",
    "ResNet152V2": "resnet_v2",
    "DenseNet121": "densenet",
    "DenseNet169": "densenet",
    "DenseNet201": "densenet",
    "MobileNet": "mobilenet",
    "MobileNetV2": "mobilenet_v2",
    "EfficientNetB0": "efficientnet",
    "EfficientNetB1": "efficientnet",
    "EfficientNetB2": "efficientnet",
    "EfficientNetB3": "efficientnet",
    "EfficientNetB4": "efficientnet",
    "EfficientNetB5": "efficientnet",
    "EfficientNetB6": "efficientnet",
    "EfficientNetB7": "efficientnet",
}

# submodules reachable as attributes (keras.applications.resnet50.preprocess_input)
_SUBMODULES = frozenset({
    "imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "densenet",
    "mobilenet", "mobilenet_v2", "efficientnet",
})


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _MODEL_MODULES:
        module = importlib.import_module(f"{__name__}.{_MODEL_MODULES[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_MODEL_MODULES))


__all__ = sorted(_MODEL_MODULES)
