"""The Metric base class and the reduction metrics (keras.metrics names and semantics).

Thread safety: every metric, built-in or a user's subclass, may be updated, read, reset and
merged from several threads at once. Each instance has one re-entrant lock, and the base
class wraps ``update_state``, ``result``, ``reset_state`` and ``merge_state`` wherever a
class defines them (``__init_subclass__``), so a subclass written to Keras' contract is
covered without doing anything. See ``Metric`` for the rules.
"""
import contextlib
import copy
import functools
import inspect
import threading

import numpy as np

from fastkeras import config
from fastkeras._limits import check_allocation
from fastkeras.losses.loss import _snake, squeeze_or_expand
from fastkeras.ops.tensor import Tensor, Variable, as_array

__all__ = ["Metric", "Sum", "Mean", "MeanMetricWrapper", "to_numpy"]


def to_numpy(x, name, dtype=None):
    """An input as a numpy array (Tensors, Variables, lists, memmap chunks)."""
    v = as_array(x)
    if v.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold numbers, got dtype {v.dtype}")
    return v.astype(dtype, copy=False) if dtype is not None else v


# The methods that read or write a metric's state. A state update is a read-modify-write of
# one or more variables (Mean: total, then count; AUC: histograms filled in place by a C pass
# that releases the GIL), so without a lock concurrent updates are lost and a result() read
# between two of them is torn (8 threads x 2,000 Mean updates counted 7,534).
_LOCKED_METHODS = ("update_state", "result", "reset_state", "merge_state")
_LOCK_ATTR = "_metric_lock"


def _lock_of(metric):
    """The metric's RLock, created on first use: so it exists however the instance was made
    (a subclass that sets state before super().__init__(), unpickling, copy). setdefault is
    atomic, so two threads racing to create it agree on one lock."""
    lock = metric.__dict__.get(_LOCK_ATTR)
    if lock is None:
        lock = metric.__dict__.setdefault(_LOCK_ATTR, threading.RLock())
    return lock


def _locked(fn):
    """fn run holding the instance's lock. Re-entrant, so an override that calls
    super().update_state() (MeanMetricWrapper -> Mean) takes it again without blocking; an
    uncontended RLock costs well under a microsecond a call."""
    if getattr(fn, "_metric_locked", False):
        return fn

    @functools.wraps(fn)
    def locked(self, *args, **kwargs):
        with _lock_of(self):
            return fn(self, *args, **kwargs)

    locked._metric_locked = True
    return locked


def _locked_merge(fn):
    """merge_state(metrics) run holding this metric's lock and those of the metrics merged in,
    so no other metric's state is read half-updated. The locks are taken in one global order
    (by id), so a.merge_state([b]) and b.merge_state([a]) in two threads cannot deadlock.
    (A merge called from inside another locked method would take its locks out of that
    order; no built-in metric does that.)"""
    if getattr(fn, "_metric_locked", False):
        return fn

    @functools.wraps(fn)
    def locked(self, metrics, *args, **kwargs):
        metrics = list(metrics)  # read an iterator once: it is both locked and merged
        locks = {id(m): m for m in [self, *metrics] if isinstance(m, Metric)}
        with contextlib.ExitStack() as held:
            for key in sorted(locks):
                held.enter_context(_lock_of(locks[key]))
            return fn(self, metrics, *args, **kwargs)

    locked._metric_locked = True
    return locked


class Metric:
    """Base class of stateful metrics (keras.metrics.Metric).

    Subclasses create their state with ``add_variable`` (or ``add_weight``) and
    implement ``update_state`` and ``result``; ``reset_state`` restores the
    initial values and ``merge_state`` adds other metrics' states (every
    built-in state is additive). Calling the metric updates it and returns
    the result.

    Threads: ``update_state``, ``result``, ``reset_state``, ``merge_state`` and
    calling the metric may be used from several threads at once: each runs holding
    the instance's re-entrant lock, so no update is lost and a result is that of a
    whole number of updates. Subclasses get this automatically: the methods of those
    names a class defines are wrapped when the class is created. Updates of one
    instance therefore run one at a time (the C kernels still use every core inside
    an update); for parallel updates give each thread its own metric and
    ``merge_state`` them. The lock is not part of the state: pickles and deep copies
    leave it out and make their own (a shallow copy shares the variables and the lock).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # wrap only what this class defines (inherited methods are wrapped where defined),
        # and only plain functions (a staticmethod or property is left as it is)
        for name in _LOCKED_METHODS:
            fn = cls.__dict__.get(name)
            if inspect.isfunction(fn):
                setattr(cls, name, (_locked_merge if name == "merge_state" else _locked)(fn))

    def __init__(self, dtype=None, name=None):
        self.name = name or _snake(type(self).__name__)
        self._dtype = np.dtype(dtype or (config.floatx() if config.floatx() != "bfloat16"
                                         else "float32"))
        self._variables = []
        self._initial = []

    @property
    def dtype(self):
        return self._dtype.name

    @property
    def variables(self):
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable (non-trainable), reset to `initializer` by reset_state."""
        dtype = np.dtype(dtype or self._dtype)
        shape = tuple(shape) if shape is not None else ()
        check_allocation(shape, dtype, f"Metric {self.name!r} variable {name or ''!r}",
                         copies=2)  # the value and its initial copy
        if initializer in ("zeros", None):
            value = np.zeros(shape, dtype)
        elif initializer == "ones":
            value = np.ones(shape, dtype)
        elif initializer == "random_uniform":  # Keras' RandomUniform(-0.05, 0.05)
            value = np.random.default_rng().uniform(-0.05, 0.05, size=shape).astype(dtype)
        elif initializer == "random_normal":  # Keras' RandomNormal(0, 0.05)
            value = np.random.default_rng().normal(0.0, 0.05, size=shape).astype(dtype)
        else:
            value = np.broadcast_to(np.asarray(initializer, dtype), shape).copy()
        var = Variable(value, trainable=False, name=name or "metric_variable", dtype=dtype)
        var.aggregation = aggregation
        self._variables.append(var)
        self._initial.append(value.copy())
        return var

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """tf.keras 2 spelling of add_variable (name first)."""
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    @_locked
    def reset_state(self):
        for var, init in zip(self._variables, self._initial):
            var.assign(init)

    def reset_states(self):
        """The tf.keras 2 spelling of reset_state."""
        self.reset_state()

    @_locked_merge
    def merge_state(self, metrics):
        """Add the states of other metrics of the same kind into this one."""
        for other in metrics:
            if type(other) is not type(self) or len(other._variables) != len(self._variables):
                raise ValueError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
            for mine, theirs in zip(self._variables, other._variables):
                if mine.shape != theirs.shape:
                    raise ValueError(f"state {mine.name!r} has shape {mine.shape} here and "
                                     f"{theirs.shape} in the merged metric")
                agg = getattr(mine, "aggregation", "sum")
                if agg == "sum":
                    mine.assign(mine._value + theirs._value)
                elif agg == "max":
                    mine.assign(np.maximum(mine._value, theirs._value))
                else:
                    raise ValueError(f"state {mine.name!r} cannot be merged ({agg})")

    def __call__(self, *args, **kwargs):
        with _lock_of(self):  # the result returned is that of this call's update
            self.update_state(*args, **kwargs)
            return self.result()

    # The lock is not state: it cannot be pickled or deep-copied, and it belongs to this
    # instance. Pickles and deep copies leave it out and make their own on first use.
    def __getstate__(self):
        """pickle: the attributes without the lock, taken holding it. The pickler reads the
        variables' values after this returns; to pickle a metric that other threads are
        still updating, pickle copy.deepcopy(metric), a consistent snapshot."""
        with _lock_of(self):
            state = self.__dict__.copy()
        state.pop(_LOCK_ATTR, None)
        return state

    def __deepcopy__(self, memo):
        """A deep copy made holding the lock (one consistent state, even while other threads
        update); the copy has its own lock."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        with _lock_of(self):
            new.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        return new

    def __copy__(self):
        """A shallow copy shares the variables, so it shares the lock that guards them."""
        new = type(self).__new__(type(self))
        _lock_of(self)
        new.__dict__.update(self.__dict__)
        return new

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _samplewise(values, sample_weight, dtype, reduce=np.mean):
    """Keras' reduce_to_samplewise_values: weights applied, extra axes reduced
    (averaged for Mean, summed for Sum)."""
    values = np.asarray(values, dtype=dtype)
    if sample_weight is not None:
        sw = to_numpy(sample_weight, "sample_weight", dtype)
        vshape, wshape = squeeze_or_expand(values.shape, sw.shape)
        values, sw = values.reshape(vshape), sw.reshape(wshape)
        wnd = sw.ndim
        if values.ndim > wnd:
            values = reduce(values, axis=tuple(range(wnd, values.ndim)))
        try:
            sw = np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(f"`sample_weight` with shape {sw.shape} cannot be applied to "
                             f"values of shape {values.shape}") from None
        values = values * sw
        if wnd > 1:
            sw = reduce(sw, axis=tuple(range(1, wnd)))
        if values.ndim > 1:  # (N, C) values under (N, 1) or (1, C) weights: one per sample
            values = reduce(values, axis=tuple(range(1, values.ndim)))
        return values, sw
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, None


class Sum(Metric):
    """The (weighted) sum of the values (keras.metrics.Sum)."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(to_numpy(values, "values"), sample_weight, self._dtype, np.sum)
        self.total.assign(self.total._value + values.sum(dtype=np.float64))

    def result(self):
        return Tensor(np.asarray(self.total._value, self._dtype))


class Mean(Metric):
    """The (weighted) mean of the values (keras.metrics.Mean)."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values, sw = _samplewise(to_numpy(values, "values"), sample_weight, self._dtype)
        self.total.assign(self.total._value + values.sum(dtype=np.float64))
        if sw is not None:
            n = sw.sum(dtype=np.float64)
        else:
            n = values.shape[0] if values.ndim >= 1 else 1
        self.count.assign(self.count._value + n)

    def result(self):
        c = float(self.count._value)
        return Tensor(np.asarray(float(self.total._value) / c if c else 0.0, self._dtype))


class MeanMetricWrapper(Mean):
    """The mean of fn(y_true, y_pred, **kwargs) over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        mask = getattr(values, "_keras_mask", None)
        if isinstance(values, Tensor):
            values = values._value
        if mask is not None:
            # masked-out values (a sparse cross-entropy's ignore_class) are not counted, as
            # Keras folds the values' mask into the sample weights
            mask = np.broadcast_to(np.asarray(mask, np.float64), np.shape(values))
            if sample_weight is not None:
                sw = to_numpy(sample_weight, "sample_weight").astype(np.float64)
                mask = mask * sw.reshape(sw.shape + (1,) * (mask.ndim - sw.ndim)) \
                    if sw.ndim < mask.ndim else mask * sw
            sample_weight = mask
        super().update_state(values, sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:  # the built-in subclasses name their function
            from fastkeras.saving.serialization_lib import serialize_keras_object

            config["fn"] = serialize_keras_object(self._fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            from fastkeras.saving.serialization_lib import deserialize_keras_object

            config["fn"] = deserialize_keras_object(config["fn"])
        return cls(**config)
