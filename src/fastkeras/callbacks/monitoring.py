"""Helpers shared by the callbacks that watch a logged quantity."""
import numpy as np


_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "true_positives",
              "true_negatives", "iou", "ks")


def monitor_comparison(monitor, mode, who):
    """np.greater or np.less for a monitored quantity (mode auto: losses and errors go
    down, accuracies, AUC, precision, recall... go up)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: `mode` must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or (mode == "auto" and not monitor.endswith("loss") and
                         any(w in monitor for w in _MAX_WORDS)):
        return np.greater
    return np.less


def current_learning_rate(model):
    return float(np.asarray(model.optimizer.learning_rate))
