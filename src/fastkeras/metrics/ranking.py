"""Threshold metrics on the C rank engine: AUC, KS, confusion counts, Precision, Recall.

State is a pair of score histograms (positives, negatives) over tf.keras'
threshold layout, so batches, chunks of a memmap and other processes' states
simply add (``merge_state``). Binned mode places each score in its threshold
interval: a value equals tf.keras' for the same thresholds, and differs from
the exact (sorted) AUC by at most the mass of positive/negative pairs that
share an interval (at most about 1/num_thresholds of the pairs; much less for
smooth distributions, which the trapezoid rule handles well);
``roc_auc_score`` and ``ks_statistic`` compute exact values.
"""
import numpy as np

from fastkeras import config
from fastkeras._limits import check_allocation
from fastkeras._kernels import rank as _kr
from fastkeras.kernel_errors import KernelValueError, Status
from fastkeras.losses.loss import squeeze_or_expand
from fastkeras.metrics.metric import Metric, to_numpy
from fastkeras.ops.tensor import Tensor, Variable, as_array

__all__ = ["AUC", "KS", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "Precision", "Recall", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
           "PrecisionAtRecall", "RecallAtPrecision", "roc_auc_score", "ks_statistic",
           "prepare_scores", "confusion_weights"]


def confusion_weights(t_shape, p_shape, sample_weight):
    """sample_weight broadcast to the predictions as Keras' confusion metrics broadcast it:
    a trailing axis is added, matched to y_true's rank (squeezed, never expanded), then
    broadcast to y_pred, so (N,), (N, 1), (1, C) and (N, C) all weigh (N, C) predictions."""
    w = to_numpy(sample_weight, "sample_weight")
    p_shape, t_shape = squeeze_or_expand(p_shape, t_shape)
    _, w_shape = squeeze_or_expand(t_shape, w.shape + (1,), expand_rank_1=False)
    try:
        return np.broadcast_to(w.reshape(w_shape), p_shape)
    except ValueError:
        raise ValueError(f"`sample_weight` with shape {w.shape} cannot be broadcast to the "
                         f"predictions' shape {tuple(p_shape)}") from None


def prepare_scores(y_true, y_pred, sample_weight=None, nan="raise", binary=True,
                   from_logits=False, negative_weights=False):
    """Flattened (scores, labels, weights) checked for the rank engine.

    nan="raise" refuses NaN scores; nan="drop" drops those samples. Weights must be finite;
    negative ones only where ``negative_weights`` (Keras' metric classes accept them; the
    exact ROC AUC / KS functions do not)."""
    p = to_numpy(y_pred, "y_pred")
    t = to_numpy(y_true, "y_true")
    if t.size != p.size:
        raise ValueError(f"`y_true` has {t.size} values and `y_pred` has {p.size}: the lengths "
                         "must match")
    if sample_weight is not None:
        sample_weight = confusion_weights(t.shape, p.shape, sample_weight)
    p = p.reshape(-1)
    t = t.reshape(-1)
    if p.dtype not in (np.float32, np.float64):
        p = p.astype(np.float32)
    if from_logits:
        p = (1.0 / (1.0 + np.exp(-p.astype(np.float64)))).astype(p.dtype)
    w = None
    if sample_weight is not None:
        w = sample_weight.reshape(-1)
        if w.dtype == np.float64 and p.dtype == np.float32:
            p = p.astype(np.float64)  # exact widening: weights keep their float64 precision
        w = np.ascontiguousarray(w, dtype=p.dtype)
        if not np.all(np.isfinite(w)):
            raise ValueError("`sample_weight` must be finite")
        if not negative_weights and np.any(w < 0):
            raise ValueError("`sample_weight` must be finite and >= 0")
    bad = np.isnan(p)
    if bad.any():
        if nan == "drop":
            keep = ~bad
            p, t = p[keep], t[keep]
            w = w[keep] if w is not None else None
        else:
            raise ValueError(f"`y_pred` contains {int(bad.sum())} NaN scores; pass "
                             "nan='drop' to ignore those samples")
    if binary:
        if t.dtype.kind == "f" and not np.all((t == 0) | (t == 1)):
            raise ValueError("`y_true` must hold binary labels (0/1) for this metric")
        if t.dtype.kind in "iu" and (t.min(initial=0) < 0 or t.max(initial=0) > 1):
            raise ValueError("`y_true` must hold binary labels (0/1) for this metric")
        t = t.astype(np.uint8)
    return np.ascontiguousarray(p), np.ascontiguousarray(t), w


_FAST_LABELS = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.bool_))


def _fast_inputs(y_true, y_pred, sample_weight, weighted_ok=False):
    """Zero-copy (scores, labels, weights) when the data already suit the kernel: float32/64
    scores, int8/uint8/bool labels, and no weights (or, where weighted_ok, weights of the
    scores' dtype and size, which the kernel checks). The kernel checks labels and NaN itself."""
    if sample_weight is not None and not weighted_ok:
        return None
    p, t = as_array(y_pred), as_array(y_true)
    if p.dtype not in (np.float32, np.float64) or t.dtype not in _FAST_LABELS or p.size != t.size:
        return None
    w = None
    if sample_weight is not None:
        w = as_array(sample_weight)
        if w.dtype != p.dtype or w.size != p.size:
            return None
        w = np.ascontiguousarray(w).reshape(-1)
    return np.ascontiguousarray(p).reshape(-1), np.ascontiguousarray(t).reshape(-1).view(np.uint8), w


def _kernel_errors(exc, p):
    if exc.status is Status.LABEL:
        raise ValueError("`y_true` must hold binary labels (0/1) for this metric") from None
    if exc.status is Status.BAD_ARG and np.isnan(p).any():
        raise ValueError(f"`y_pred` contains {int(np.isnan(p).sum())} NaN scores; pass "
                         "nan='drop' to ignore those samples") from None
    raise exc


def _hist(p, t, w, num_thresholds, pos, neg):
    try:
        _kr.hist(p, t, w, num_thresholds, pos, neg, config.get_num_threads())
    except KernelValueError as exc:
        _kernel_errors(exc, p)


def _device_hist(y_true, y_pred, sample_weight, num_thresholds, pos, neg):
    """Bin scores that live on a GPU where they are (fastkeras.cuda): True if done. Needs
    y_pred (float32/64) and y_true (0/1 as bool, uint8, int32/64 or float32/64) on the
    device with as many elements, and sample_weight None or on the device in y_pred's
    dtype; anything else returns False and the host path copies the arrays once."""
    if isinstance(y_pred, np.ndarray) or not (hasattr(y_pred, "__cuda_array_interface__") or
                                               hasattr(y_pred, "__dlpack_device__")):
        return False
    from fastkeras import cuda

    if not cuda.is_device_array(y_pred):
        return False
    if not cuda.is_device_array(y_true) or (
            sample_weight is not None and not cuda.is_device_array(sample_weight)):
        return False
    p = cuda.device_array(y_pred, "y_pred")
    t = cuda.device_array(y_true, "y_true")
    w = None if sample_weight is None else cuda.device_array(sample_weight, "sample_weight")
    if p.dtype.name not in ("float32", "float64") or t.dtype.name not in _kr.LABEL_TYPES or (
            w is not None and w.dtype != p.dtype):
        return False
    if t.size != p.size or (w is not None and w.size != p.size):
        raise ValueError(f"y_true, y_pred (and sample_weight) must have as many elements: got "
                         f"shapes {t.shape}, {p.shape}" + ("" if w is None else f", {w.shape}"))
    try:
        _kr.hist_device(p.size, p.ptr, p.dtype.name, t.ptr, t.dtype.name,
                        0 if w is None else w.ptr, num_thresholds, pos, neg)
    except KernelValueError as exc:
        if exc.status is Status.LABEL:
            raise ValueError("`y_true` on the device must hold labels 0 or 1") from None
        if exc.status is Status.BAD_ARG:
            raise ValueError("`y_pred` on the device contains NaN scores") from None
        raise
    return True


def _counts(pos, neg):
    """tp, fp, tn, fn at each of the T thresholds from the [T+1] histograms."""
    # counts above threshold i = sum of buckets k > i
    tp = np.cumsum(pos[::-1], axis=0)[::-1][1:]
    fp = np.cumsum(neg[::-1], axis=0)[::-1][1:]
    P, N = pos.sum(axis=0), neg.sum(axis=0)
    return tp, fp, N - fp, P - tp


def _div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


def _hist_at(p, t, w, thresholds, pos, neg):
    """Histograms over arbitrary sorted thresholds: bucket = thresholds strictly below."""
    k = np.searchsorted(thresholds, p.astype(np.float64), side="left")
    ww = np.ones(p.shape) if w is None else w.astype(np.float64)
    y = t.astype(bool)
    pos += np.bincount(k[y], weights=ww[y], minlength=pos.shape[0])
    neg += np.bincount(k[~y], weights=ww[~y], minlength=neg.shape[0])


class _HistMetric(Metric):
    """Positive/negative score histograms over evenly spaced thresholds."""

    def __init__(self, num_thresholds=200, name=None, dtype=None, from_logits=False,
                 multi_label=False, num_labels=None, min_thresholds=2):
        super().__init__(dtype=dtype, name=name)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                or num_thresholds < min_thresholds:
            raise ValueError(f"Argument `num_thresholds` must be an integer > "
                             f"{min_thresholds - 1}. Received: num_thresholds={num_thresholds}")
        self.num_thresholds = int(num_thresholds)
        self.from_logits = bool(from_logits)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        shape = (self.num_thresholds + 1,) if not multi_label or num_labels is None else \
            (self.num_thresholds + 1, num_labels)
        self._check_size(shape)
        self.pos = self.add_variable(shape, dtype="float64", name="positives")
        self.neg = self.add_variable(shape, dtype="float64", name="negatives")
        self._built = not multi_label or num_labels is not None

    def _check_size(self, shape):
        """Two histograms and their initial copies, refused before allocation if they do not
        fit in memory (num_thresholds=2**31 would otherwise be an OOM kill)."""
        check_allocation(shape, "float64", f"{type(self).__name__}: num_thresholds="
                         f"{self.num_thresholds}", copies=4)

    def _build_labels(self, n):
        shape = (self.num_thresholds + 1, n)
        self._check_size(shape)
        for var, init_i in ((self.pos, 0), (self.neg, 1)):
            var._value = np.zeros(shape)  # the state takes its shape from the first batch
            self._initial[init_i] = np.zeros(shape)
        self.num_labels = n
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.multi_label:
            t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
            if t.shape != p.shape or p.ndim != 2:
                raise ValueError(f"multi_label metrics need y_true and y_pred of shape "
                                 f"(batch, labels); got {t.shape} and {p.shape}")
            if not self._built:
                self._build_labels(p.shape[1])
            sw = None if sample_weight is None else confusion_weights(t.shape, p.shape,
                                                                      sample_weight)
            pos, neg = self.pos._value, self.neg._value
            for j in range(p.shape[1]):
                pj, tj, wj = prepare_scores(t[:, j], p[:, j], None if sw is None else sw[:, j],
                                            from_logits=self.from_logits,
                                            negative_weights=True)
                hp, hn = np.ascontiguousarray(pos[:, j]), np.ascontiguousarray(neg[:, j])
                _hist(pj, tj, wj, self.num_thresholds, hp, hn)
                pos[:, j], neg[:, j] = hp, hn
            return
        label_weights = getattr(self, "label_weights", None)
        if label_weights is not None and not self.multi_label:  # single-label: each column's counts weighted
            t_shape, p_shape = np.shape(as_array(y_true)), np.shape(as_array(y_pred))
            lw = np.broadcast_to(label_weights, squeeze_or_expand(p_shape, t_shape)[0])
            sample_weight = lw if sample_weight is None else \
                confusion_weights(t_shape, p_shape, sample_weight) * lw
        if getattr(self, "_thresholds", None) is not None:
            p, t, w = prepare_scores(y_true, y_pred, sample_weight, from_logits=self.from_logits,
                                     negative_weights=True)
            _hist_at(p, t, w, self._thresholds, self.pos._value, self.neg._value)
            return
        if not self.from_logits and _device_hist(y_true, y_pred, sample_weight,
                                                 self.num_thresholds, self.pos._value,
                                                 self.neg._value):
            return
        fast = None if self.from_logits else _fast_inputs(y_true, y_pred, sample_weight)
        if fast is not None:
            p, t, _ = fast
            _hist(p, t, None, self.num_thresholds, self.pos._value, self.neg._value)
            return
        p, t, w = prepare_scores(y_true, y_pred, sample_weight, from_logits=self.from_logits,
                                 negative_weights=True)
        _hist(p, t, w, self.num_thresholds, self.pos._value, self.neg._value)

    def _confusion(self):
        return _counts(self.pos._value, self.neg._value)

    # Keras' state is four per-threshold counts; fastkeras keeps two score histograms (one
    # pass of the C engine per batch, mergeable) and derives Keras' counts from them. The
    # counts are read-only snapshots: assign to them and nothing changes (reset_state() and
    # merge_state() are the way to change a metric's state).
    _KERAS_VARIABLES = ("true_positives", "false_positives", "true_negatives",
                        "false_negatives")

    def _snapshot(self, name, value):
        return Variable(np.asarray(value, self._dtype), trainable=False, name=name)

    @property
    def true_positives(self):
        return self._snapshot("true_positives", self._confusion()[0])

    @property
    def false_positives(self):
        return self._snapshot("false_positives", self._confusion()[1])

    @property
    def true_negatives(self):
        return self._snapshot("true_negatives", self._confusion()[2])

    @property
    def false_negatives(self):
        return self._snapshot("false_negatives", self._confusion()[3])

    @property
    def variables(self):
        """Keras' variables (names, shapes and values): the per-threshold counts."""
        return [getattr(self, name) for name in self._KERAS_VARIABLES]

    def get_config(self):
        config = super().get_config()
        config.update(num_thresholds=self.num_thresholds, from_logits=self.from_logits,
                      multi_label=self.multi_label, num_labels=self.num_labels)
        return config


class AUC(_HistMetric):
    """Area under the ROC or PR curve (keras.metrics.AUC), on score histograms.

    Args: num_thresholds (200), curve ("ROC", "PR" or "PRGAIN"), summation_method
    ("interpolation", "minoring", "majoring"), multi_label, num_labels,
    label_weights, from_logits, name, dtype.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._thresholds = None
        if thresholds is not None:
            th = np.sort(np.asarray(thresholds, np.float64).reshape(-1))
            if th.size == 0 or np.any(th < 0) or np.any(th > 1):
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")
            # tf.keras adds -epsilon and 1 + epsilon around the given thresholds
            self._thresholds = np.concatenate([[-1e-7], th, [1 + 1e-7]])
            num_thresholds = self._thresholds.size
        if curve.upper() not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["PR", "ROC", "PRGAIN"]')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        super().__init__(num_thresholds, name or "auc", dtype, from_logits, multi_label,
                         num_labels)
        self.curve = curve.upper()
        self.summation_method = summation_method
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                            np.float64)

    @property
    def thresholds(self):
        """The thresholds the counts are taken at, as Keras lists them: -epsilon, the
        evenly spaced (or given) values, 1 + epsilon."""
        if self._thresholds is not None:
            return self._thresholds.tolist()
        n = self.num_thresholds
        inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
        return [0.0 - 1e-7] + inner + [1.0 + 1e-7]

    def _per_label(self, values):
        if not self.multi_label:
            return float(values)
        if self.label_weights is None:
            return float(np.mean(values))
        return float(_div(np.sum(values * self.label_weights), np.sum(self.label_weights)))

    def result(self):
        tp, fp, tn, fn = self._confusion()
        T = self.num_thresholds
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:T - 1] - tp[1:]
            p = tp + fp
            dp = p[:T - 1] - p[1:]
            slope = _div(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            ok = (p[:T - 1] > 0) & (p[1:] > 0)
            ratio = np.where(ok, _div(p[:T - 1], np.maximum(p[1:], 0)), 1.0)
            inc = _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
            value = self._per_label(np.sum(inc, axis=0))
        else:
            recall = _div(tp, tp + fn)
            if self.curve == "ROC":
                x, y = _div(fp, fp + tn), recall
            elif self.curve == "PR":
                x, y = recall, _div(tp, tp + fp)
            else:  # PRGAIN (Flach and Kull 2015), with Keras' guards: no true positives
                # gives recall gain 0 and precision gain 1; negative recall gains become 0
                scale = _div(tp + fn, tn + fp)
                x = np.where(tp == 0, 0.0, np.maximum(1.0 - scale * _div(fn, tp), 0.0))
                y = np.where(tp == 0, 1.0, 1.0 - scale * _div(fp, tp))
            if self.summation_method == "interpolation":
                h = (y[:T - 1] + y[1:]) / 2.0
            elif self.summation_method == "minoring":
                h = np.minimum(y[:T - 1], y[1:])
            else:
                h = np.maximum(y[:T - 1], y[1:])
            value = self._per_label(np.sum((x[:T - 1] - x[1:]) * h, axis=0))
        return Tensor(np.asarray(value, self._dtype))

    def get_config(self):
        config = super().get_config()
        config.update(curve=self.curve, summation_method=self.summation_method,
                      label_weights=None if self.label_weights is None
                      else self.label_weights.tolist(),
                      thresholds=None if self._thresholds is None
                      else self._thresholds[1:-1].tolist())
        if self._thresholds is not None:
            del config["num_thresholds"]
        else:  # evenly spaced: Keras leaves the key out
            del config["thresholds"]
        return config


class KS(_HistMetric):
    """Kolmogorov-Smirnov statistic between the score distributions of positives and
    negatives: max over thresholds of |TPR - FPR| (a fastkeras metric; see also
    ks_statistic for the exact value)."""

    def __init__(self, num_thresholds=200, name="ks", dtype=None, from_logits=False):
        super().__init__(num_thresholds, name, dtype, from_logits)

    @property
    def variables(self):  # not a Keras metric: its state is the two histograms
        return list(self._variables)

    def get_config(self):
        config = super().get_config()
        del config["multi_label"], config["num_labels"]
        return config

    def result(self):
        pos, neg = self.pos._value, self.neg._value
        P, N = pos.sum(), neg.sum()
        if not (P > 0 and N > 0):
            return Tensor(np.asarray(0.0, self._dtype))
        d = np.abs(np.cumsum(pos) / P - np.cumsum(neg) / N)
        return Tensor(np.asarray(d.max(), self._dtype))


class _Thresholds(Metric):
    """Counts at arbitrary thresholds (pred > threshold), as tf.keras' confusion metrics."""

    def __init__(self, thresholds=None, name=None, dtype=None, default=0.5, top_k=None,
                 class_id=None):
        super().__init__(dtype=dtype, name=name)
        self.top_k, self.class_id = top_k, class_id
        if top_k is not None and thresholds is None:
            default = -np.inf  # tf.keras: with top_k, every kept prediction counts
        if thresholds is not None:
            given = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
                else [thresholds]
            bad = [t for t in given if t is None or not isinstance(t, (int, float, np.number))
                   or isinstance(t, bool) or not 0 <= t <= 1]
            if bad:
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
        self.init_thresholds = thresholds
        # Keras' attribute: always a list (one threshold gives a scalar result)
        self.thresholds = [float(t) for t in (given if thresholds is not None else [default])]
        self._th = np.asarray(self.thresholds, np.float64)
        self._scalar = len(self.thresholds) == 1
        n = self._th.size
        self.tp = self.add_variable((n,), dtype="float64", name="true_positives")
        self.fp = self.add_variable((n,), dtype="float64", name="false_positives")
        self.tn = self.add_variable((n,), dtype="float64", name="true_negatives")
        self.fn = self.add_variable((n,), dtype="float64", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.top_k is not None or self.class_id is not None:
            t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred").astype(np.float64)
            if sample_weight is not None:
                sample_weight = confusion_weights(t.shape, p.shape, sample_weight)
            if self.top_k is not None:
                # each row keeps exactly its top k predictions, the lower index first among
                # ties (tf.math.top_k's order, Keras' rule); the others never count
                order = np.argsort(-p, axis=-1, kind="stable")[..., :self.top_k]
                keep = np.zeros(p.shape, bool)
                np.put_along_axis(keep, order, True, axis=-1)
                p = np.where(keep, p, -np.inf)
            if self.class_id is not None:
                if p.ndim < 2:
                    raise ValueError("When class_id is provided, y_pred must be a 2D array "
                                     "with shape (num_samples, num_classes), found shape: "
                                     f"{p.shape}")
                t, p = t[..., self.class_id], p[..., self.class_id]
                if sample_weight is not None:
                    sample_weight = sample_weight[..., self.class_id]
            y_true, y_pred = t, p
        p, t, w = prepare_scores(y_true, y_pred, sample_weight, negative_weights=True)
        w = np.ones(p.shape) if w is None else w.astype(np.float64)
        above = p[None, :].astype(np.float64) > self._th[:, None]
        y = t.astype(bool)[None, :]
        self.tp.assign(self.tp._value + (above & y) @ w)
        self.fp.assign(self.fp._value + (above & ~y) @ w)
        self.tn.assign(self.tn._value + (~above & ~y) @ w)
        self.fn.assign(self.fn._value + (~above & y) @ w)

    def _out(self, v):
        v = np.asarray(v, self._dtype)
        return Tensor(v[0] if self._scalar else v)

    # Keras' variables: Precision holds true_positives and false_positives, Recall
    # true_positives and false_negatives, TruePositives & co. one `accumulator`; fastkeras
    # counts all four (merge and reset cover them) and lists Keras' ones.
    _KERAS_VARIABLES = ()

    @property
    def true_positives(self):
        return self.tp

    @property
    def false_positives(self):
        return self.fp

    @property
    def true_negatives(self):
        return self.tn

    @property
    def false_negatives(self):
        return self.fn

    @property
    def accumulator(self):
        return self.tp

    @property
    def variables(self):
        if self._KERAS_VARIABLES == ("accumulator",):
            count = getattr(self, self._ACCUMULATES)
            return [Variable(count._value.astype(self._dtype), trainable=False,
                             name="accumulator")]
        return [getattr(self, name) for name in self._KERAS_VARIABLES]

    def get_config(self):
        config = super().get_config()
        config["thresholds"] = self.init_thresholds  # as given, as Keras keeps it
        if isinstance(self, (Precision, Recall)):
            config.update(top_k=self.top_k, class_id=self.class_id)
        return config


class TruePositives(_Thresholds):
    _KERAS_VARIABLES, _ACCUMULATES = ("accumulator",), "tp"

    def __init__(self, thresholds=None, name="true_positives", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(self.tp._value)


class FalsePositives(_Thresholds):
    _KERAS_VARIABLES, _ACCUMULATES = ("accumulator",), "fp"

    def __init__(self, thresholds=None, name="false_positives", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(self.fp._value)


class TrueNegatives(_Thresholds):
    _KERAS_VARIABLES, _ACCUMULATES = ("accumulator",), "tn"

    def __init__(self, thresholds=None, name="true_negatives", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(self.tn._value)


class FalseNegatives(_Thresholds):
    _KERAS_VARIABLES, _ACCUMULATES = ("accumulator",), "fn"

    def __init__(self, thresholds=None, name="false_negatives", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(self.fn._value)


class Precision(_Thresholds):
    """TP / (TP + FP) at thresholds (default 0.5); top_k keeps each row's k highest
    predictions only; class_id looks at one class."""
    _KERAS_VARIABLES = ("true_positives", "false_positives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, name, dtype, top_k=top_k, class_id=class_id)

    def result(self):
        return self._out(_div(self.tp._value, self.tp._value + self.fp._value))


class Recall(_Thresholds):
    """TP / (TP + FN) at thresholds (default 0.5); top_k and class_id as in Precision."""
    _KERAS_VARIABLES = ("true_positives", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, name, dtype, top_k=top_k, class_id=class_id)

    def result(self):
        return self._out(_div(self.tp._value, self.tp._value + self.fn._value))


def _exact(y_true, y_score, sample_weight, nan):
    fast = _fast_inputs(y_true, y_score, sample_weight, weighted_ok=True) \
        if nan == "raise" else None
    if fast is not None and fast[0].size:
        p, t, w = fast
        try:
            return _kr.exact(p, t, w, config.get_num_threads())
        except KernelValueError as exc:
            if exc.status is Status.BAD_ARG and not np.isnan(p).any():
                if w is not None and (np.any(w < 0) or not np.all(np.isfinite(w))):
                    raise ValueError("`sample_weight` must be finite and >= 0") from None
                raise ValueError("Only one class present in `y_true`: ROC AUC and KS are not "
                                 "defined in that case") from None
            _kernel_errors(exc, p)
    p, t, w = prepare_scores(y_true, y_score, sample_weight, nan=nan)
    if p.size == 0:
        raise ValueError("`y_score` is empty: at least one positive and one negative are needed")
    P = float(t.sum()) if w is None else float(w[t == 1].sum())
    N = float(t.size - t.sum()) if w is None else float(w[t == 0].sum())
    if not (P > 0 and N > 0):
        raise ValueError("Only one class present in `y_true`: ROC AUC and KS are not defined "
                         "in that case")
    return _kr.exact(p, t, w, config.get_num_threads())


def roc_auc_score(y_true, y_score, sample_weight=None, nan="raise"):
    """Exact ROC AUC (ties count one half): scikit-learn's roc_auc_score, by a radix sort."""
    return _exact(y_true, y_score, sample_weight, nan)[0]


def ks_statistic(y_true, y_score, sample_weight=None, nan="raise"):
    """Exact two-sample Kolmogorov-Smirnov statistic between the scores of positives and
    negatives: scipy.stats.ks_2samp(...).statistic (weighted CDFs when weights are given)."""
    return _exact(y_true, y_score, sample_weight, nan)[1]




class _AtValue(_HistMetric):
    """Best value of one rate subject to a constraint on another, over evenly spaced
    thresholds (keras.metrics' SensitivitySpecificityBase family)."""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= float(value) <= 1:
            raise ValueError(f"Argument `{self._arg}` must be in the range [0, 1]. "
                             f"Received: {self._arg}={value}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                or num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        # one threshold is 0.5, as in Keras (counted at that threshold, not in histograms
        # of evenly spaced buckets)
        self._thresholds = np.array([0.5]) if num_thresholds == 1 else None
        super().__init__(num_thresholds, name, dtype, min_thresholds=1)
        self.value = float(value)
        setattr(self, self._arg, self.value)  # Keras' attribute: m.specificity, m.recall...
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]  # as Keras lists them

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.class_id is not None:
            t, p = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
            y_true, y_pred = t[..., self.class_id], p[..., self.class_id]
        super().update_state(y_true, y_pred, sample_weight)

    def _rates(self):
        tp, fp, tn, fn = self._confusion()
        return {"sensitivity": _div(tp, tp + fn), "specificity": _div(tn, tn + fp),
                "recall": _div(tp, tp + fn), "precision": _div(tp, tp + fp)}

    def result(self):
        r = self._rates()
        feasible = r[self._constrained] >= self.value
        best = np.max(np.where(feasible, r[self._dependent], 0.0), initial=0.0)
        return Tensor(np.asarray(best, self._dtype))

    def get_config(self):
        config = Metric.get_config(self)
        config.update({self._arg: self.value, "num_thresholds": self.num_thresholds,
                       "class_id": self.class_id})
        return config


class SensitivityAtSpecificity(_AtValue):
    """Best sensitivity (TP / (TP + FN)) where specificity >= `specificity`."""
    _arg, _constrained, _dependent = "specificity", "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id,
                         name or "sensitivity_at_specificity", dtype)


class SpecificityAtSensitivity(_AtValue):
    """Best specificity (TN / (TN + FP)) where sensitivity >= `sensitivity`."""
    _arg, _constrained, _dependent = "sensitivity", "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id,
                         name or "specificity_at_sensitivity", dtype)


class PrecisionAtRecall(_AtValue):
    """Best precision where recall >= `recall`."""
    _arg, _constrained, _dependent = "recall", "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name or "precision_at_recall", dtype)


class RecallAtPrecision(_AtValue):
    """Best recall where precision >= `precision`."""
    _arg, _constrained, _dependent = "precision", "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name or "recall_at_precision",
                         dtype)
