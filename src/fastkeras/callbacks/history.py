"""History: the per-epoch logs ``fit`` returns."""
from fastkeras.callbacks.callback import Callback


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
