"""fastkeras.callbacks: the Callback base, CallbackList, History and ProgbarLogger.

The hooks and the ``logs`` dicts follow tf.keras. A CallbackList only dispatches
the batch hooks that some callback overrides, so hooks nobody uses cost nothing
per batch."""
import sys
import time

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar"]

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
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


def _overrides(cb, hook):
    own = getattr(type(cb), hook, None)
    base = getattr(Callback, hook)
    if own is not base:
        return True
    legacy = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
    return hook in legacy and getattr(type(cb), legacy[hook]) is not getattr(Callback,
                                                                             legacy[hook])


class CallbackList:
    """Dispatches each hook to the callbacks that implement it, in order."""

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        self.model = model
        self.params = params
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)
        self._active = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _HOOKS}

    def append(self, cb):
        self.callbacks.append(cb)
        if self.model is not None:
            cb.set_model(self.model)
        cb.set_params(self.params)
        for h in _HOOKS:
            if _overrides(cb, h):
                self._active[h].append(cb)

    def _call(self, hook, *args):
        for cb in self._active[hook]:
            getattr(cb, hook)(*args)

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


class History(Callback):
    """Records the epoch logs: ``history.history[name]`` is a list per metric."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _fmt(v):
    v = float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class Progbar:
    """The tf.keras progress bar: ``32/32 [======] - 0s 2ms/step - loss: 0.6931``.

    On a terminal it redraws in place; elsewhere (logs, CI) it writes the final line."""

    def __init__(self, target, width=30, verbose=1, stateful_metrics=None, unit_name="step",
                 file=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.unit_name = unit_name
        self.file = file or sys.stdout
        self._dynamic = hasattr(self.file, "isatty") and self.file.isatty()
        self._start = time.perf_counter()
        self._last_len = 0

    def update(self, current, values=None, finalize=None):
        values = values or []
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose != 1 or (not self._dynamic and not finalize):
            if self.verbose == 2 and finalize:
                self._line(current, values, bar=False)
            return
        self._line(current, values, bar=True, finalize=finalize)

    def _line(self, current, values, bar, finalize=True):
        now = time.perf_counter()
        elapsed = now - self._start
        if bar:
            if self.target is not None:
                digits = len(str(self.target))
                done = int(self.width * current / self.target) if self.target else self.width
                arrow = "=" * max(done - 1, 0) + (">" if done < self.width else "=") if done \
                    else ""
                text = f"{current:{digits}d}/{self.target} [{arrow:.<{self.width}}]"
            else:
                text = f"{current}/Unknown"
        else:
            text = f"{current}/{self.target}" if self.target else f"{current}"
        per = elapsed / max(current, 1)
        if finalize:
            unit = f"{per * 1e3:.0f}ms/{self.unit_name}" if per >= 1e-3 else \
                f"{per * 1e6:.0f}us/{self.unit_name}"
            text += f" - {elapsed:.0f}s {unit}"
        else:
            eta = per * ((self.target or current) - current)
            text += f" - ETA: {eta:.0f}s"
        for k, v in values:
            text += f" - {k}: {_fmt(v)}"
        if self._dynamic and bar:
            pad = max(self._last_len - len(text), 0)
            self.file.write("\r" + text + " " * pad + ("\n" if finalize else ""))
            self._last_len = len(text)
        else:
            self.file.write(text + "\n")
        self.file.flush()


class ProgbarLogger(Callback):
    """Prints the progress of fit / evaluate (verbose 1: a bar per epoch; 2: a line)."""

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self.count_mode = count_mode
        self.verbose = 1
        self._bar = None
        self._seen = 0

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _new_bar(self, target):
        self._bar = Progbar(target, verbose=self.verbose)
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.verbose == 1:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None and self.verbose:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._seen = batch + 1
            if self.verbose == 1:
                self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False) and \
                self._bar is not None and self.verbose:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)


def _to_float_logs(logs):
    return {k: float(np.asarray(v)) for k, v in logs.items()}
