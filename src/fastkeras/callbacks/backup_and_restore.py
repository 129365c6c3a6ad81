"""BackupAndRestore."""
import json
import os

from fastkeras.callbacks.callback import Callback


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
