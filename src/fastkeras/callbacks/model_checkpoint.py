"""ModelCheckpoint."""
import os
import warnings

import numpy as np

from fastkeras.callbacks.callback import Callback
from fastkeras.callbacks.monitoring import monitor_comparison


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
        self.monitor_op = monitor_comparison(monitor, mode, "ModelCheckpoint")
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
