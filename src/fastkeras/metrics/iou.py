"""Intersection-over-union metrics (keras.metrics IoU, MeanIoU, BinaryIoU, OneHotIoU,
OneHotMeanIoU): a weighted confusion matrix accumulated over batches.

Keras 3.15 keeps the matrix in integers (dtype "int" by default), so fractional sample
weights are truncated to 0 (its own BinaryIoU example, documented as 0.17361112, gives
0.0). fastkeras accumulates the weights exactly in float64 and gives 0.17361112."""
import numpy as np

from fastkeras.metrics.metric import Metric, to_numpy
from fastkeras.ops.tensor import Tensor

__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]

_EPSILON = 1e-7


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
                or num_classes < 1:
            raise ValueError(f"Argument `num_classes` must be a positive integer. "
                             f"Received: num_classes={num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.total_cm = self.add_variable((self.num_classes, self.num_classes), dtype="float64",
                                          name="total_confusion_matrix")

    def _classes(self, y, sparse, name):
        v = to_numpy(y, name)
        if not sparse:
            v = np.argmax(v, axis=self.axis)
        if v.dtype.kind == "f":
            if not np.all(np.isfinite(v)):
                raise ValueError(f"`{name}` must hold finite class ids")
            v = v.astype(np.int64)  # Keras casts to its integer dtype: truncation
        return v.reshape(-1).astype(np.int64, copy=False)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = self._classes(y_true, self.sparse_y_true, "y_true")
        p = self._classes(y_pred, self.sparse_y_pred, "y_pred")
        if t.size != p.size:
            raise ValueError(f"`y_true` holds {t.size} class ids and `y_pred` {p.size}: they "
                             "must match")
        w = np.ones(t.shape) if sample_weight is None else \
            to_numpy(sample_weight, "sample_weight").astype(np.float64).reshape(-1)
        try:
            w = np.broadcast_to(w, t.shape)
        except ValueError:
            raise ValueError(f"`sample_weight` has {w.size} values for {t.size} samples") \
                from None
        if not np.all(np.isfinite(w)):
            raise ValueError("`sample_weight` must be finite")
        n = self.num_classes
        keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)  # out-of-range ids are left out
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        cm = np.bincount(t[keep] * n + p[keep], weights=w[keep], minlength=n * n)
        self.total_cm.assign(self.total_cm._value + cm.reshape(n, n))

    def _ious(self):
        cm = self.total_cm._value
        tp = np.diag(cm)
        denom = cm.sum(axis=0) + cm.sum(axis=1) - tp
        return tp, denom


class IoU(_IoUBase):
    """IoU = TP / (TP + FP + FN) per class, averaged over ``target_class_ids``; classes
    absent from both labels and predictions are left out of the average."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        ids = list(target_class_ids)
        if not ids:
            raise ValueError("`target_class_ids` must name at least one class")
        if max(ids) >= num_classes or min(ids) < 0:
            raise ValueError(f"Target class id {max(ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = ids

    def result(self):
        tp, denom = self._ious()
        tp, denom = tp[self.target_class_ids], denom[self.target_class_ids]
        valid = denom > 1e-9
        iou = np.where(valid, tp / (denom + _EPSILON), 0.0)
        return Tensor(np.asarray(iou.sum() / (valid.sum() + _EPSILON), self._dtype))

    def get_config(self):
        return {**Metric.get_config(self), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels, predictions >= ``threshold`` counting as class 1."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = (to_numpy(y_pred, "y_pred").astype(np.float32) >= self.threshold).astype(np.int64)
        super().update_state(y_true, p, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU of one-hot labels (and, by default, per-class scores as predictions)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot labels (and, by default, per-class scores as predictions)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
