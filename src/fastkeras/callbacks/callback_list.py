"""CallbackList: the dispatcher fit, evaluate and predict use. It only dispatches the
batch hooks that some callback overrides, so hooks nobody uses cost nothing per batch."""
from fastkeras.callbacks.callback import HOOKS, as_logs, overrides_hook
from fastkeras.callbacks.history import History
from fastkeras.callbacks.progbar_logger import ProgbarLogger


class CallbackList:
    """Dispatches each hook to the callbacks that implement it, in order. Every hook gets a
    dict of logs (empty where there is nothing to report: the *_begin hooks), with Python
    floats for scalars. ``add_history`` / ``add_progbar`` append a History / ProgbarLogger
    unless one is already there, as Keras' CallbackList does."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        self.callbacks = list(callbacks or [])
        samples = params.pop("_samples", None)  # (samples, batch_size): count_mode="samples"
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        self.model = model
        self.params = params
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                cb._samples_info = samples
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)
        self._active = {h: [cb for cb in self.callbacks if overrides_hook(cb, h)] for h in HOOKS}

    def append(self, cb):
        self.callbacks.append(cb)
        if self.model is not None:
            cb.set_model(self.model)
        cb.set_params(self.params)
        for h in HOOKS:
            if overrides_hook(cb, h):
                self._active[h].append(cb)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook, *args):
        active = self._active[hook]
        if not active:
            return
        *head, logs = args
        logs = as_logs(logs)
        for cb in active:
            getattr(cb, hook)(*head, logs)

    def has(self, hook):
        return bool(self._active[hook])

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, b, logs=None): self._call("on_train_batch_begin", b, logs)
    def on_train_batch_end(self, b, logs=None): self._call("on_train_batch_end", b, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_test_batch_begin(self, b, logs=None): self._call("on_test_batch_begin", b, logs)
    def on_test_batch_end(self, b, logs=None): self._call("on_test_batch_end", b, logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)
    def on_predict_batch_begin(self, b, logs=None): self._call("on_predict_batch_begin", b, logs)
    def on_predict_batch_end(self, b, logs=None): self._call("on_predict_batch_end", b, logs)
    # the tf.keras 1/2 names
    def on_batch_begin(self, b, logs=None): self._call("on_train_batch_begin", b, logs)
    def on_batch_end(self, b, logs=None): self._call("on_train_batch_end", b, logs)
