"""fastkeras.callbacks: the Callback base, CallbackList, History and ProgbarLogger.

The hooks and the ``logs`` dicts follow tf.keras. A CallbackList only dispatches
the batch hooks that some callback overrides, so hooks nobody uses cost nothing
per batch."""
import csv
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar", "TerminateOnNaN",
           "EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
           "LambdaCallback", "RemoteMonitor", "TensorBoard", "BackupAndRestore",
           "ModelCheckpoint"]

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


def _log_value(v):
    """A log value as Keras' pythonify_logs leaves it: numbers and 0-d arrays / tensors as
    Python floats, anything else (a batch of predictions, a string) as it is."""
    if isinstance(v, float):
        return v
    if isinstance(v, (int, np.number)):
        return float(v)
    if getattr(v, "ndim", None) == 0 and hasattr(v, "__float__"):
        return float(v)
    return v


def _pythonify_logs(logs):
    """The logs as callbacks receive them (Keras' pythonify_logs): always a dict, a nested
    dict's entries merged in (compile()'s metrics), scalars as Python floats."""
    out = {}
    for k, v in (logs or {}).items():
        if isinstance(v, dict):
            out.update(_pythonify_logs(v))
        else:
            out[k] = _log_value(v)
    return out


def _as_logs(logs):
    if logs is None:
        return {}
    if type(logs) is dict and all(type(v) is float for v in logs.values()):
        return logs  # already plain: the same dict, so what a callback adds others see
    return _pythonify_logs(logs)


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
        self._active = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _HOOKS}

    def append(self, cb):
        self.callbacks.append(cb)
        if self.model is not None:
            cb.set_model(self.model)
        cb.set_params(self.params)
        for h in _HOOKS:
            if _overrides(cb, h):
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
        logs = _as_logs(logs)
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
        if self.model is not None:  # as Keras: model.history is current after each epoch
            self.model.history = self


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
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"Unknown `count_mode`: {count_mode!r} (expected 'steps' or "
                             "'samples')")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self.verbose = 1
        self._bar = None
        self._seen = 0
        self._samples_info = None  # (samples, batch_size), from fit's CallbackList

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _samples(self):
        info = self._samples_info or (self.params.get("samples"), self.params.get("batch_size"))
        return info[0], info[1] or 1

    def _new_bar(self, target):
        samples, _ = self._samples()
        if self.count_mode == "samples" and samples:  # count samples, not steps
            target = samples
        self._bar = Progbar(target, verbose=self.verbose,
                            unit_name="sample" if self.count_mode == "samples" else "step")
        self._seen = 0

    def _count(self, batch):
        samples, batch_size = self._samples()
        if self.count_mode == "samples" and samples:
            return min((batch + 1) * batch_size, samples)
        return batch + 1

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._seen = self._count(batch)
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




# ------------------------------------------------------------------ monitoring helpers
_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "true_positives",
              "true_negatives", "iou", "ks")


def _monitor_op(monitor, mode, who):
    """np.greater or np.less for a monitored quantity (mode auto: losses and errors go
    down, accuracies, AUC, precision, recall... go up)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: `mode` must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or (mode == "auto" and not monitor.endswith("loss") and
                         any(w in monitor for w in _MAX_WORDS)):
        return np.greater
    return np.less


def _lr(model):
    return float(np.asarray(model.optimizer.learning_rate))


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs (after ``start_from_epoch``); optionally restores the best epoch's weights."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.monitor_op = _monitor_op(monitor, mode, "EarlyStopping")
        self.min_delta = abs(min_delta) * (1 if self.monitor_op is np.greater else -1)
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def _improves(self, value, reference):
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs, then waits ``cooldown`` epochs; never below
    ``min_lr``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received "
                             f"factor={factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.min_delta, self.cooldown = verbose, float(min_delta), int(cooldown)
        self.min_lr, self.mode = float(min_lr), mode
        op = _monitor_op(monitor, mode, "ReduceLROnPlateau")
        self._max = op is np.greater
        self._reset()

    def _reset(self):
        self.best = None  # Keras 3: the first monitored value is the first best
        self.cooldown_counter = self.wait = 0

    def _better(self, a, b):
        if b is None:
            return True
        return a > b + self.min_delta if self._max else a < b - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _lr(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}",
                          stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _lr(self.model)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    # an optimizer built on a schedule refuses (TypeError), as in Keras
                    self.model.optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            lr = self.schedule(epoch, _lr(self.model))
        except TypeError:  # the older one-argument form
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.ndim == 0:
            lr = lr.item()
        if not isinstance(lr, (float, int, np.floating)) or isinstance(lr, bool):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: "
                             f"{lr!r}")
        self.model.optimizer.learning_rate = float(lr)  # a schedule's refuses (TypeError)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _lr(self.model)


class CSVLogger(Callback):
    """Writes one CSV row per epoch (epoch, then the log keys in sorted order), flushed at
    once, so the file stays valid if training stops half-way."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, bool(append)
        self.keys = self.writer = self.csv_file = None

    def on_train_begin(self, logs=None):
        header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                header = not bool(f.readline())
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="",
                             encoding="utf-8")
        self._header = header
        self.keys = self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def value(v):
            if isinstance(v, np.ndarray) and v.ndim == 0:
                return v.item()
            if isinstance(v, str):
                return v
            if hasattr(v, "__iter__"):
                return f'"[{", ".join(str(x) for x in v)}]"'
            return v

        if self.keys is None:
            self.keys = sorted(logs)
            # with validation_freq > 1 the first epoch has no val_ entries: as Keras, add a
            # val_ column for each key so that later epochs' validation is written (only
            # where fit validates at all: Keras adds "NA" columns to every file)
            if self.keys and not any(k.startswith("val_") for k in self.keys) and \
                    getattr(self.model, "_fit_validates", True):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep, lineterminator="\n")
            if self._header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
            self.csv_file = self.writer = None


class LambdaCallback(Callback):
    """A callback from plain functions: ``on_epoch_end=lambda epoch, logs: ...`` etc. (also
    the older ``on_batch_begin`` / ``on_batch_end``)."""

    _NAMES = _HOOKS + ("on_batch_begin", "on_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in given.items():
            if name not in self._NAMES:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: `{name}` must be callable")
                setattr(self, name, fn)


class RemoteMonitor(Callback):
    """POSTs each epoch's logs to ``root + path``: a form field ``field`` holding JSON, or
    (``send_as_json=True``) a JSON body; an unreachable server gives a warning."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = dict(headers or {}), bool(send_as_json)

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for k, v in (logs or {}).items():
            payload[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        if self.send_as_json:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **self.headers}
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **self.headers}
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)


def __getattr__(name):  # TensorBoard imports tensorboardX lazily, on first use
    if name == "TensorBoard":
        from fastkeras.callbacks_tensorboard import TensorBoard

        return TensorBoard
    raise AttributeError(f"module 'fastkeras.callbacks' has no attribute {name!r}")


class BackupAndRestore(Callback):
    """Backs training up to ``backup_dir`` (weights, optimizer state, epoch counter) at each
    epoch's end (or every ``save_freq`` batches); a later ``fit`` with the same callback
    resumes from the last backup, with identical weights, optimizer state and epoch.
    The backup is deleted when training finishes (``delete_checkpoint``)."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"`save_freq` must be 'epoch' or a positive integer, got "
                             f"{save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint = save_freq, bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights = os.path.join(self.backup_dir, "latest.weights.h5")
        self._meta = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev = os.path.join(self.backup_dir, "previous.weights.h5")
        self._epoch = 0
        self._batches = 0

    def on_train_begin(self, logs=None):
        if os.path.exists(self._weights) and os.path.exists(self._meta):
            try:
                self.model.load_weights(self._weights)
            except (OSError, ValueError):
                if not (self.double_checkpoint and os.path.exists(self._prev)):
                    raise
                self.model.load_weights(self._prev)
            with open(self._meta, encoding="utf-8") as f:
                meta = json.load(f)
            self.model._initial_epoch = int(meta["epoch"])

    def _save(self, epoch):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights):
            os.replace(self._weights, self._prev)
        self.model.save_weights(self._weights)
        tmp = self._meta + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"epoch": epoch}, f)
        os.replace(tmp, self._meta)  # the metadata names a complete weights file

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save(self._epoch)  # mid-epoch: resumes at the start of this epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:  # training finished: nothing left to resume
            for p in (self._weights, self._meta, self._prev):
                if os.path.exists(p):
                    os.remove(p)


class ModelCheckpoint(Callback):
    """Saves the model (``.keras``) or its weights (``save_weights_only``, ``.weights.h5``)
    at each epoch's end or every ``save_freq`` batches; ``filepath`` may hold
    ``{epoch:02d}`` and any log key (``{val_loss:.2f}``); with ``save_best_only`` only
    when ``monitor`` improves on the best so far (or ``initial_value_threshold``)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, period=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = bool(save_best_only), bool(save_weights_only)
        if self.save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not self.save_weights_only and not self.filepath.endswith((".keras", ".h5",
                                                                       ".hdf5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format) "
                             f"or `.h5` / `.hdf5` (the legacy HDF5 format). Received: "
                             f"filepath={self.filepath}")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or integer values")
        self.save_freq, self.period = save_freq, period
        self.monitor_op = _monitor_op(monitor, mode, "ModelCheckpoint")
        self.initial_value_threshold = initial_value_threshold
        self.best = self._start_best()
        self._epoch = 0
        self._batches = 0

    def _start_best(self):
        if self.initial_value_threshold is not None:
            return float(self.initial_value_threshold)
        return -np.inf if self.monitor_op is np.greater else np.inf

    def on_train_begin(self, logs=None):
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" and (self.period is None or (epoch + 1) % self.period == 0):
            self._save(epoch, None, logs or {})

    def _path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" not in self.filepath:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _write(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    def _save(self, epoch, batch, logs):
        path = self._path(epoch, batch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            self._write(path)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.",
                          stacklevel=2)
            return
        if self.monitor_op(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            self._write(path)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
