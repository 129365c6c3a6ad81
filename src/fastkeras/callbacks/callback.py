"""The Callback base class and the helpers that turn ``logs`` into plain Python values.

The hooks and the ``logs`` dicts follow tf.keras."""
import numpy as np


HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override any hook; ``self.model`` and ``self.params`` are set by fit."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    # tf.keras 1/2 names, called by the train-batch hooks
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def overrides_hook(cb, hook):
    if hook in vars(cb) or (hook in ("on_train_batch_begin", "on_train_batch_end") and
                           hook.replace("train_", "") in vars(cb)):
        return True  # set on the instance (LambdaCallback)
    own = getattr(type(cb), hook, None)
    base = getattr(Callback, hook)
    if own is not base:
        return True
    legacy = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
    return hook in legacy and getattr(type(cb), legacy[hook]) is not getattr(Callback,
                                                                             legacy[hook])


def log_value(v):
    """A log value as Keras' pythonify_logs leaves it: numbers and 0-d arrays / tensors as
    Python floats, anything else (a batch of predictions, a string) as it is."""
    if isinstance(v, float):
        return v
    if isinstance(v, (int, np.number)):
        return float(v)
    if getattr(v, "ndim", None) == 0 and hasattr(v, "__float__"):
        return float(v)
    return v


def pythonify_logs(logs):
    """The logs as callbacks receive them (Keras' pythonify_logs): always a dict, a nested
    dict's entries merged in (compile()'s metrics), scalars as Python floats."""
    out = {}
    for k, v in (logs or {}).items():
        if isinstance(v, dict):
            out.update(pythonify_logs(v))
        else:
            out[k] = log_value(v)
    return out


def as_logs(logs):
    if logs is None:
        return {}
    if type(logs) is dict and all(type(v) is float for v in logs.values()):
        return logs  # already plain: the same dict, so what a callback adds others see
    return pythonify_logs(logs)
