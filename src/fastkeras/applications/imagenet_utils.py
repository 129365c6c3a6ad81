"""What the ImageNet models share (keras.applications.imagenet_utils): ``preprocess_input``
in Keras' three modes, ``decode_predictions``, the input-shape and argument checks the
model builders run, and ``load_application_weights``.

Nothing here downloads anything. ``weights="imagenet"`` is refused with a ValueError
that says to pass the path of a local weights file instead (Keras' own downloadable
ImageNet files are Keras 2 HDF5 weights files, which ``Model.load_weights`` reads).
``decode_predictions`` reads the ImageNet class index from the file Keras caches,
``$KERAS_HOME/models/imagenet_class_index.json`` (``~/.keras`` when KERAS_HOME is unset),
or from the path given to ``set_class_index_path``; without one it raises.
"""
import json
import os
import warnings

import numpy as np

from fastkeras import config

__all__ = ["preprocess_input", "decode_predictions", "obtain_input_shape",
           "validate_weights", "load_application_weights", "set_class_index_path"]

# ImageNet's per-channel statistics (RGB order), as Keras uses them
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

_CLASS_INDEX = None
_CLASS_INDEX_PATH = None
_MAX_CLASS_INDEX_BYTES = 1 << 20  # Keras' file is ~35 KB


def _check_mode_format(mode, data_format):
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode}")
    if data_format is None:
        return config.image_data_format()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")
    return data_format


def _channel_shape(ndim, data_format):
    """The broadcast shape of a per-channel constant for a 3-D or 4-D batch."""
    if data_format == "channels_first":
        return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    return (1,) * (ndim - 1) + (3,)


def _channel_axis(ndim, data_format):
    if data_format == "channels_first":
        return 0 if ndim == 3 else 1
    return ndim - 1


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of images (values in [0, 255], 3-D or 4-D, 3 channels).

    mode "caffe": RGB to BGR, then each channel less ImageNet's mean (no scaling);
    "tf": scaled to [-1, 1]; "torch": scaled to [0, 1], then each channel normalised by
    ImageNet's mean and standard deviation. A float NumPy array is written over in place,
    as in Keras (pass ``np.copy(x)`` to keep it); integer arrays become ``floatx()``.
    Tensors (eager or symbolic) go through ``fastkeras.ops`` and are not changed."""
    data_format = _check_mode_format(mode, data_format)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _preprocess_numpy(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    shape = _channel_shape(x.ndim, data_format)
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        axis = _channel_axis(x.ndim, data_format)
        x = np.flip(x, axis=axis)  # a view, as Keras' slicing: the input is written over
        mean, std = _CAFFE_MEAN_BGR, None
    x -= np.asarray(mean, x.dtype).reshape(shape)
    if std is not None:
        x /= np.asarray(std, x.dtype).reshape(shape)
    return x


def _preprocess_tensor(x, data_format, mode):
    from fastkeras import ops

    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = ops.convert_to_tensor(x)
    if not np.issubdtype(np.dtype(x.dtype), np.floating):
        x = ops.cast(x, config.floatx())
    dtype = np.dtype(x.dtype).name
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = _channel_shape(ndim, data_format)
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        axis = _channel_axis(ndim, data_format)
        x = ops.flip(x, axis=axis)
        mean, std = _CAFFE_MEAN_BGR, None
    x = x + ops.convert_to_tensor(-np.asarray(mean, dtype).reshape(shape), dtype=dtype)
    if std is not None:
        x = x / ops.convert_to_tensor(np.asarray(std, dtype).reshape(shape), dtype=dtype)
    return x


def set_class_index_path(path):
    """Where ``decode_predictions`` reads the ImageNet class index (Keras'
    ``imagenet_class_index.json``: ``{"0": ["n01440764", "tench"], ...}``); None goes back
    to Keras' cache location. fastkeras never downloads it."""
    global _CLASS_INDEX, _CLASS_INDEX_PATH
    _CLASS_INDEX_PATH = None if path is None else os.fspath(path)
    _CLASS_INDEX = None


def _default_class_index_path():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", "imagenet_class_index.json")


def _class_index():
    global _CLASS_INDEX
    if _CLASS_INDEX is not None:
        return _CLASS_INDEX
    path = _CLASS_INDEX_PATH or _default_class_index_path()
    if not os.path.isfile(path):
        raise ValueError(
            "decode_predictions needs the ImageNet class index file imagenet_class_index.json, "
            f"which fastkeras never downloads; none was found at {path}. Put Keras' file "
            "there (it is where Keras caches it) or call "
            "keras.applications.imagenet_utils.set_class_index_path(path)")
    if os.path.getsize(path) > _MAX_CLASS_INDEX_BYTES:
        raise ValueError(f"{path} is larger than {_MAX_CLASS_INDEX_BYTES:,} bytes: not an "
                         "ImageNet class index")
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    ok = isinstance(index, dict) and all(
        str(i) in index and isinstance(index[str(i)], list) and len(index[str(i)]) == 2
        and all(isinstance(v, str) for v in index[str(i)]) for i in range(1000))
    if not ok:
        raise ValueError(f"{path} is not an ImageNet class index: expected a JSON object "
                         'mapping "0".."999" to [wnid, name] pairs')
    _CLASS_INDEX = index
    return index


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each row of `preds` (shape (samples, 1000)), as lists
    of ``(class_name, class_description, score)`` tuples, best first."""
    from fastkeras import ops

    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Received array with shape: {preds.shape}")
    index = _class_index()
    preds = np.asarray(ops.convert_to_numpy(preds))
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        row = [tuple(index[str(i)]) + (pred[i],) for i in best]
        row.sort(key=lambda r: r[2], reverse=True)
        results.append(row)
    return results


def validate_weights(weights, include_top, classes, weights_files=None):
    """The checks every builder runs on `weights` first: None or an existing local file.
    "imagenet" is refused (nothing is downloaded); `weights_files` names the files Keras
    would have downloaded, (with top, without top), for the message."""
    if isinstance(weights, str) and weights == "imagenet":
        hint = ""
        if weights_files:
            hint = f" (Keras' file for this model is {weights_files[0 if include_top else 1]})"
        raise ValueError(
            "weights='imagenet' needs pretrained weights, which fastkeras never downloads. "
            "Pass weights=None (random initialization) or the path to a local weights file "
            "(a Keras 2 .h5 weights file such as the ImageNet file Keras downloads" + hint +
            ", or a .weights.h5 file). Received: weights='imagenet'")
    if not (weights is None or (isinstance(weights, (str, os.PathLike))
                                and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the path "
                         f"to the weights file to be loaded.  Received: weights={weights}")


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten,
                       weights=None):
    """The model's input shape (without the batch axis): `input_shape` checked, or the
    default one. Keras' rules and messages (imagenet_utils.obtain_input_shape)."""
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {channels} input channels.",
                          stacklevel=3)
        default_shape = ((input_shape[0], default_size, default_size) if channels_first
                         else (default_size, default_size, input_shape[-1]))
    else:
        default_shape = ((3, default_size, default_size) if channels_first
                         else (default_size, default_size, 3))
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default_shape}.  Received: "
                             f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received "
                             f"`input_shape={input_shape}`")
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in tuple(input_shape):
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return tuple(input_shape)


def validate_activation(classifier_activation, weights):
    """With pretrained weights the classifier's activation must be softmax or None."""
    if weights is None:
        return
    from fastkeras import activations

    fn = activations.get(classifier_activation)
    if fn not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, "
                         "with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")


def model_input(input_tensor, input_shape):
    """The image input: a new ``Input(shape=input_shape)``, or `input_tensor` (a symbolic
    tensor) as it is."""
    from fastkeras import backend, layers

    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not backend.is_keras_tensor(input_tensor):
        raise ValueError("Argument `input_tensor` must be a KerasTensor (the output of "
                         f"keras.Input() or of a layer). Received: input_tensor={input_tensor}")
    return input_tensor


def source_inputs(tensor):
    """The model inputs a symbolic tensor is computed from (keras.utils.get_source_inputs),
    in the order first reached."""
    from fastkeras.layers.base import InputLayer, _node_inputs

    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        history = t._keras_history
        if history is None or isinstance(history[0], InputLayer):
            found.append(t)
            continue
        stack.extend(reversed(_node_inputs(history[1])))
    return found[0] if len(found) == 1 else found


def load_application_weights(model, weights):
    """weights=None: the model keeps its random initialisation; a path: its weights are
    read from that local file, a Keras 3 ``.weights.h5`` file or a Keras 2 HDF5 weights
    file (Keras' downloadable ImageNet files, by layer order as Keras reads them)."""
    if weights is None:
        return model
    if isinstance(weights, str) and weights == "imagenet":
        validate_weights(weights, True, 1000)
    model.load_weights(os.fspath(weights))
    return model


def finish_model(img_input, input_tensor, outputs, name, weights):
    """The functional model from the image input (or from `input_tensor`'s own sources,
    so layers before it stay part of the model, as in Keras) to `outputs`, its weights
    then loaded by load_application_weights."""
    from fastkeras.models import Model

    inputs = source_inputs(input_tensor) if input_tensor is not None else img_input
    model = Model(inputs, outputs, name=name)
    return load_application_weights(model, weights)
