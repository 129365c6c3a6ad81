"""LearningRateScheduler."""
import numpy as np

from fastkeras.callbacks.callback import Callback
from fastkeras.callbacks.monitoring import current_learning_rate


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            lr = self.schedule(epoch, current_learning_rate(self.model))
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
            logs["learning_rate"] = current_learning_rate(self.model)
