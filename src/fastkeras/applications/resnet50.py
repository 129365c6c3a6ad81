"""keras.applications.resnet50: ResNet50 and its preprocess_input / decode_predictions
(the same functions as keras.applications.resnet's)."""
from fastkeras.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "preprocess_input", "decode_predictions"]
