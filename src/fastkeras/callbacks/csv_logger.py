"""CSVLogger."""
import csv
import os

import numpy as np

from fastkeras.callbacks.callback import Callback


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
