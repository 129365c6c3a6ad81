"""compile / fit / evaluate / predict and the *_on_batch methods (tf.keras semantics)."""
import contextlib
import math
import threading
import warnings

import numpy as np

from fastkeras import _rng
from fastkeras import callbacks as _cb
from fastkeras.layers.base import _flatten, training_mode
from fastkeras.ops.tape import GradientTape, paused
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["TrainingMixin", "Sequence"]

_PLANS_LOCK = threading.Lock()  # creating a model's device plan


class Sequence:
    """Base class of batch providers for fit (keras.utils.Sequence): implement
    ``__len__`` (batches per epoch) and ``__getitem__(index)`` -> (x, y[, sample_weight])."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() (batches "
                                  "per epoch)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) "
                                  "-> (x, y[, sample_weight])")

    def on_epoch_end(self):
        pass


# ------------------------------------------------------------------------------ data
def _as_struct(data, name, device_ok=False):
    """Arrays (numpy) of a nested list / dict / single input, with a clear error. Arrays in
    GPU memory become DeviceInputs when device_ok (a device model takes their rows where
    they are), else host copies (one device-to-host copy each)."""
    def conv(v):
        if isinstance(v, Tensor):
            return v._value
        if not isinstance(v, np.ndarray) and _is_on_device(v):
            from fastkeras.models.device_plan import DeviceInput

            d = DeviceInput.of(v, name)
            return d if device_ok else d.to_host()
        a = np.asarray(v)
        if a.dtype == object:
            raise TypeError(f"`{name}` must hold numeric arrays, got an object array")
        return a
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: conv(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(v, (np.ndarray, Tensor)) for v in data):
        return [conv(v) for v in data]
    return conv(data)


def _is_on_device(v):
    if not (hasattr(v, "__cuda_array_interface__") or hasattr(v, "__dlpack_device__")):
        return False
    from fastkeras import cuda

    return cuda.is_device_array(v)


def _take(struct, idx):
    if struct is None:
        return None
    if isinstance(struct, dict):
        return {k: v[idx] for k, v in struct.items()}
    if isinstance(struct, list):
        return [v[idx] for v in struct]
    return struct[idx]


def _length(struct, name):
    flat = _flatten(struct)
    lens = {int(a.shape[0]) if a.ndim else 1 for a in flat}
    if len(lens) != 1:
        raise ValueError(f"All arrays in `{name}` must have the same number of samples, got "
                         f"lengths {sorted(lens)}")
    return lens.pop()


class _ArrayData:
    """Batches of (x, y, sample_weight) from in-memory arrays."""

    def __init__(self, x, y, sw, batch_size, shuffle=False):
        self.x, self.y, self.sw = x, y, sw
        self.n = _length(x, "x")
        if y is not None:
            ny = _length(y, "y")
            if ny != self.n:
                raise ValueError(f"`x` and `y` must have the same number of samples: x has "
                                 f"{self.n}, y has {ny}")
        if sw is not None and _length(sw, "sample_weight") != self.n:
            raise ValueError(f"`sample_weight` must have one entry per sample ({self.n})")
        self.batch_size = batch_size
        self.shuffle = shuffle

    def steps(self):
        return max(math.ceil(self.n / self.batch_size), 1) if self.n else 0

    def batches(self):
        order = np.arange(self.n)
        if self.shuffle:
            order = _rng.generator().permutation(self.n)
        for s in range(0, self.n, self.batch_size):
            idx = order[s:s + self.batch_size]
            if not self.shuffle:
                idx = slice(s, s + self.batch_size)
            yield _take(self.x, idx), _take(self.y, idx), _take(self.sw, idx)


class _IterData:
    """Batches from a Sequence or a Python generator / iterable."""

    def __init__(self, source, steps):
        self.source, self._steps = source, steps
        self._it = None

    def steps(self):
        if self._steps is not None:
            return self._steps
        if isinstance(self.source, Sequence) or hasattr(self.source, "__len__"):
            return len(self.source)
        return None

    def batches(self):
        if isinstance(self.source, Sequence):
            gen = (self.source[i] for i in range(len(self.source)))
        else:
            if self._it is None or self._steps is None:
                self._it = iter(self.source)
            gen = self._it
        for i, item in enumerate(gen):
            if self._steps is not None and i >= self._steps:
                break
            if not isinstance(item, tuple):
                item = (item,)
            x = _as_struct(item[0], "x")
            y = _as_struct(item[1], "y") if len(item) > 1 else None
            sw = _as_struct(item[2], "sample_weight") if len(item) > 2 else None
            yield x, y, sw
        if isinstance(self.source, Sequence):
            self.source.on_epoch_end()


def _is_iterable_source(x):
    return isinstance(x, Sequence) or (hasattr(x, "__next__") and not isinstance(x, np.ndarray))\
        or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict, Tensor)))


def _check_finite(struct, name):
    for a in _flatten(struct):
        if not isinstance(a, np.ndarray):  # a DeviceInput: not scanned on the host
            continue
        # one float64 sum (no temporary) is finite unless some value is NaN / inf
        if a.dtype.kind == "f" and not np.isfinite(np.sum(a, dtype=np.float64)) and \
                not np.isfinite(a).all():
            bad = int(np.size(a) - np.isfinite(a).sum())
            raise ValueError(f"`{name}` contains {bad} NaN or infinite values")


# ------------------------------------------------------------------------------ compile
def _per_output(spec, names, what):
    """The spec (single, list or dict) as one entry per output."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"Unknown output name(s) {sorted(unknown)} in `{what}`; the model's "
                             f"outputs are {names}")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and what != "metrics" and (len(names) > 1 or
                                                                   len(spec) == 1):
        if len(spec) != len(names):
            raise ValueError(f"`{what}` has {len(spec)} entries for {len(names)} outputs")
        return list(spec)
    return [spec] * len(names)


def _resolve_loss(spec):
    from fastkeras import losses

    if spec is None:
        return None
    obj = losses.get(spec)
    if isinstance(obj, losses.Loss):
        return obj
    if callable(obj):
        return losses.LossFunctionWrapper(obj, name=getattr(obj, "__name__", "loss"))
    raise ValueError(f"Could not interpret loss: {spec!r}")


def _loss_name(loss):
    fn = getattr(loss, "fn", None)
    return getattr(fn, "__name__", "") if fn is not None else type(loss).__name__


def _resolve_metric(spec, loss, y_true, y_pred):
    from fastkeras import metrics as M

    if isinstance(spec, str) and spec.lower() in ("accuracy", "acc"):
        lname = _loss_name(loss).lower() if loss is not None else ""
        out_last = y_pred.shape[-1] if y_pred.ndim else 1
        if "binary" in lname or (out_last == 1 and "categorical" not in lname):
            cls = M.BinaryAccuracy
        elif "sparse" in lname or (y_true is not None and (y_true.ndim < y_pred.ndim or
                                                           y_true.shape[-1] == 1)):
            cls = M.SparseCategoricalAccuracy
        else:
            cls = M.CategoricalAccuracy
        return cls(name=spec)
    if isinstance(spec, str) and spec.lower() in ("crossentropy", "ce"):
        return M.get("categorical_crossentropy")
    obj = M.get(spec)
    if isinstance(obj, M.Metric):
        # tf.keras names a metric given by a function name or alias ("mae") after that
        # string; a class name ("AUC") keeps the class' default name ("auc")
        if isinstance(spec, str) and not spec[:1].isupper():
            obj.name = spec
        return obj
    if callable(obj):
        return M.MeanMetricWrapper(obj, name=getattr(obj, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric: {spec!r}")


class TrainingMixin:
    """Model methods for training and inference."""

    def _init_training_state(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._in_fit = False
        self._compile_args = None
        self._compiled_outputs = None  # per output: (name, loss, weight, metrics, wmetrics)
        self._loss_tracker = None
        self._device = None         # compile(device=...): None follows config.get_device()
        self._device_plans = {}     # device name -> DevicePlan (buffers kept between calls)
        self._plan_state = threading.local()  # .plan: the plan running this thread's call

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=1,
                jit_compile=None, auto_scale_loss=True, device=None, **kwargs):
        """Configure training: optimizer, loss(es), metrics (names, objects, functions;
        lists or dicts per output), loss_weights, weighted_metrics; `device` ('cpu' or
        'cuda') where fit / evaluate / predict run (None: fastkeras.config.get_device())."""
        from fastkeras import config
        from fastkeras import optimizers
        from fastkeras.metrics import Mean

        if kwargs:
            raise TypeError(f"compile: unexpected argument(s) {sorted(kwargs)}")
        self.optimizer = optimizers.get(optimizer)
        # resolve names now, so that an unknown loss or metric fails at compile time
        for spec in _flatten(loss if isinstance(loss, (list, tuple, dict)) else [loss]):
            _resolve_loss(spec)
        self._check_metric_names(metrics)
        self._check_metric_names(weighted_metrics)
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  weighted_metrics=weighted_metrics)
        self._compiled_outputs = None
        self._loss_tracker = Mean(name="loss")
        self.compiled = True
        self.run_eagerly = True if run_eagerly is None else run_eagerly
        self.jit_compile = bool(jit_compile)
        self._device = None if device is None else config._parse_device(device)
        self._device_plans = {}

    # ---------------------------------------------------------------- device
    @property
    def device(self):
        """Where fit / evaluate / predict run: compile's `device`, else the config's."""
        from fastkeras import config

        return getattr(self, "_device", None) or config.get_device()

    def _plan_for_call(self, training):
        """The device plan that will run this fit / evaluate / predict (None: the CPU path),
        decided before the data is prepared (device inputs stay on the device only for it)."""
        if self._active_plan is not None:  # a call inside a call (a callback's evaluate)
            return self._active_plan
        device = self.device
        return None if device == "cpu" else self._device_plan(device, training)

    @contextlib.contextmanager
    def _on_device(self, plan):
        """Within a call: the plan runs the steps, weights (and optimizer slots) uploaded
        first and, after training, copied back to the host."""
        if plan is None or plan is self._active_plan:  # the CPU, or a call in a call
            yield None
            return
        # one call at a time per plan (its device buffers are shared): other threads wait
        with plan.lock:
            plan.upload()
            self._plan_state.plan = plan
            try:
                yield plan
            finally:
                self._plan_state.plan = None
                if plan.dirty:  # trained since the last download (train_on_batch, an error)
                    plan.download()

    def _device_plan(self, device, training):
        """This model's plan for `device`. What the device cannot run is refused with a
        ValueError when the model asked for the device (compile(device=...)); under
        config.set_device it runs on the CPU instead, with one warning per model and reason
        (as TensorFlow places ops without a GPU kernel on the CPU)."""
        from fastkeras.models import device_plan as _dp

        explicit = getattr(self, "_device", None) is not None
        try:
            if training and type(self).train_step is not TrainingMixin.train_step:
                raise ValueError(f"device={device!r}: a model with its own train_step trains "
                                 "on the CPU; compile it with device='cpu'")
            with _PLANS_LOCK:
                plans = self.__dict__.setdefault("_device_plans", {})
                plan = plans.get(device)
                if isinstance(plan, ValueError):
                    raise plan
                if plan is None:
                    try:
                        plan = plans[device] = _dp.DevicePlan.for_device(self, device)
                    except ValueError as exc:
                        plans[device] = exc  # the model cannot change: refused for good
                        raise
            if training:
                plan.check_training()
            return plan
        except ValueError as exc:
            if explicit:
                raise
            warned = self.__dict__.setdefault("_device_warned", set())
            if str(exc) not in warned:
                warned.add(str(exc))
                warnings.warn(f"fastkeras.config.get_device() is {device!r}, but model "
                              f"{self.name!r} runs on the CPU: {exc}", UserWarning,
                              stacklevel=5)
            return None

    @property
    def _active_plan(self):
        """The device plan running this thread's fit / evaluate / predict, else None."""
        state = self.__dict__.get("_plan_state")
        return getattr(state, "plan", None) if state is not None else None

    @staticmethod
    def _check_metric_names(metrics):
        from fastkeras import metrics as M

        for spec in _flatten(metrics if isinstance(metrics, (list, tuple, dict)) else [metrics]):
            if isinstance(spec, str) and spec.lower() not in ("accuracy", "acc", "crossentropy",
                                                              "ce"):
                M.get(spec)

    def _build_compiled(self, y, y_pred):
        names = self.output_names if len(_flatten(y_pred)) > 1 else ["output_1"]
        if len(_flatten(y_pred)) > 1 and len(names) != len(_flatten(y_pred)):
            names = [f"output_{i + 1}" for i in range(len(_flatten(y_pred)))]
        a = self._compile_args
        flat_pred = _flatten(y_pred)
        flat_true = _flatten(y) if y is not None else [None] * len(flat_pred)
        if isinstance(y, dict):
            flat_true = [y.get(n) for n in names]
        losses = [_resolve_loss(s) for s in _per_output(a["loss"], names, "loss")]
        weights = _per_output(a["loss_weights"], names, "loss_weights") if \
            a["loss_weights"] is not None else [1.0] * len(names)
        outs = []
        for i, name in enumerate(names):
            yt = flat_true[i] if i < len(flat_true) else None
            yp = as_array(flat_pred[i])
            yt_arr = None if yt is None else np.asarray(yt)

            def metric_list(spec):
                if spec is None:
                    return []
                if isinstance(spec, dict):
                    spec = spec.get(name)
                elif isinstance(spec, (list, tuple)) and len(names) > 1 and \
                        len(spec) == len(names) and all(isinstance(s, (list, tuple, type(None)))
                                                        for s in spec):
                    spec = spec[i]
                spec = spec if isinstance(spec, (list, tuple)) else [spec] if spec else []
                out = [_resolve_metric(s, losses[i], yt_arr, yp) for s in spec]
                if len(names) > 1:
                    for m in out:
                        m.name = f"{name}_{m.name}"
                return out

            mets, wmets = metric_list(a["metrics"]), metric_list(a["weighted_metrics"])
            taken = {m.name for m in mets}
            for m in wmets:  # tf.keras: a weighted twin of a metric is "weighted_<name>"
                if m.name in taken:
                    m.name = f"weighted_{m.name}"
            outs.append((name, losses[i], float(weights[i] if weights[i] is not None else 1.0),
                         mets, wmets))
        self._compiled_outputs = outs
        if len(names) > 1:
            from fastkeras.metrics import Mean

            self._output_loss_trackers = [Mean(name=f"{n}_loss") for n in names]
        else:
            self._output_loss_trackers = []

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before `{what}()`")

    # ---------------------------------------------------------------- steps
    def _compute_loss(self, y, y_pred, sw):
        flat_pred = _flatten(y_pred)
        if isinstance(y, dict):
            flat_true = [y.get(o[0]) for o in self._compiled_outputs]
        else:
            flat_true = _flatten(y) if y is not None else []
        if len(flat_true) != len(flat_pred):
            raise ValueError(f"The model has {len(flat_pred)} output(s), but `y` has "
                             f"{len(flat_true)} target array(s)")
        from fastkeras import ops

        total, parts = None, []
        sws = _flatten(sw) if isinstance(sw, (list, dict)) else [sw] * len(flat_pred)
        for (name, loss, w, _, _), yt, yp, s in zip(self._compiled_outputs, flat_true, flat_pred,
                                                   sws):
            if loss is None:
                parts.append(None)
                continue
            value = loss(yt, yp, sample_weight=s)
            parts.append(value)
            term = value if w == 1.0 else ops.multiply(value, w)
            total = term if total is None else ops.add(total, term)
        reg = self.losses
        for r in reg:
            total = r if total is None else ops.add(total, r)
        if total is None:
            raise ValueError("No loss to minimise: compile() the model with a `loss`")
        return total, parts

    def _update_metrics(self, y, y_pred, sw, total, parts, batch_n):
        with paused():
            self._loss_tracker.update_state(float(as_array(total)), sample_weight=batch_n)
            for tracker, p in zip(self._output_loss_trackers, parts):
                if p is not None:
                    tracker.update_state(float(as_array(p)), sample_weight=batch_n)
            flat_pred = _flatten(y_pred)
            if isinstance(y, dict):
                flat_true = [y.get(o[0]) for o in self._compiled_outputs]
            else:
                flat_true = _flatten(y) if y is not None else [None] * len(flat_pred)
            sws = _flatten(sw) if isinstance(sw, (list, dict)) else [sw] * len(flat_pred)
            for (name, loss, w, mets, wmets), yt, yp, s in zip(self._compiled_outputs,
                                                               flat_true, flat_pred, sws):
                ypa = as_array(yp)
                for m in mets:
                    m.update_state(yt, ypa)
                for m in wmets:
                    m.update_state(yt, ypa, sample_weight=s)

    @property
    def metrics(self):
        out = [self._loss_tracker] if self._loss_tracker is not None else []
        out += getattr(self, "_output_loss_trackers", [])
        for o in self._compiled_outputs or []:
            out += o[3] + o[4]
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self):
        return {m.name: float(as_array(m.result())) for m in self.metrics}

    def train_step(self, data):
        """One optimisation step on a batch (x, y, sample_weight); returns the logs."""
        if self._active_plan is not None:
            return self._active_plan.train_step(data)
        x, y, sw = data
        params = self.trainable_weights
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            if self._compiled_outputs is None:
                self._build_compiled(y, y_pred)
            total, parts = self._compute_loss(y, y_pred, sw)
        params = self.trainable_weights
        grads = tape.gradient(total, params)
        pairs = [(g, p) for g, p in zip(grads, params) if g is not None]
        if not pairs:
            raise ValueError("No gradients: the loss does not depend on any trainable weight")
        self.optimizer.apply_gradients(pairs)
        self._update_metrics(y, y_pred, sw, total, parts, _length(x, "x"))
        return self._logs()

    def test_step(self, data):
        if self._active_plan is not None:
            return self._active_plan.test_step(data)
        x, y, sw = data
        with paused():
            y_pred = self(x, training=False)
            if self._compiled_outputs is None:
                self._build_compiled(y, y_pred)
            total, parts = self._compute_loss(y, y_pred, sw)
        self._update_metrics(y, y_pred, sw, total, parts, _length(x, "x"))
        return self._logs()

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        if self._active_plan is not None:
            return self._active_plan.predict_step(x)
        with paused():
            return self(x, training=False)

    # ---------------------------------------------------------------- data plumbing
    def _prep_x(self, x, plan=None):
        x = _as_struct(x, "x", device_ok=plan is not None)
        _check_finite(x, "x")
        return x

    def _class_weights(self, y, class_weight, sw):
        if class_weight is None:
            return sw
        if isinstance(y, (list, dict)):
            raise ValueError("`class_weight` is only supported for models with one output")
        labels = y.reshape(len(y), -1)
        labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0].astype(np.int64)
        missing = set(np.unique(labels).tolist()) - set(class_weight)
        if missing:
            raise ValueError(f"`class_weight` has no entry for class(es) {sorted(missing)}")
        cw = np.array([class_weight[int(c)] for c in labels], dtype=np.float64)
        return cw if sw is None else cw * np.asarray(sw, np.float64)

    # ---------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Train for ``epochs`` epochs; returns a History (``history.history``)."""
        self._require_compiled("fit")
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"fit: unexpected argument(s) {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size}")
        val = None
        if x is None:
            raise ValueError("fit: `x` is required")
        plan = self._plan_for_call(training=True)
        if _is_iterable_source(x):
            data = _IterData(x, steps_per_epoch)
        else:
            x = self._prep_x(x, plan)
            if y is None:
                raise ValueError("fit: `y` is required with array inputs")
            y = _as_struct(y, "y")
            sw = None if sample_weight is None else _as_struct(sample_weight,
                                                               "sample_weight")
            if validation_split and validation_data is None:
                if not 0 < validation_split < 1:
                    raise ValueError(f"`validation_split` must be in (0, 1), got "
                                     f"{validation_split}")
                n = _length(x, "x")
                split = n - int(n * validation_split)
                val = (_take(x, slice(split, None)), _take(y, slice(split, None)),
                       None if sw is None else sw[split:])
                x, y = _take(x, slice(0, split)), _take(y, slice(0, split))
                sw = None if sw is None else sw[:split]
            sw = self._class_weights(y, class_weight, sw)
            data = _ArrayData(x, y, sw, batch_size, shuffle=bool(shuffle))
        if validation_data is not None:
            if _is_iterable_source(validation_data):
                val_data = _IterData(validation_data, validation_steps)
            else:
                vd = tuple(validation_data)
                if len(vd) not in (2, 3):
                    raise ValueError("`validation_data` must be (x_val, y_val) or "
                                     "(x_val, y_val, sample_weight_val)")
                val_data = _ArrayData(self._prep_x(vd[0], plan), _as_struct(vd[1], "y"),
                                      None if len(vd) == 2 else np.asarray(vd[2]),
                                      validation_batch_size or batch_size)
        elif val is not None:
            val_data = _ArrayData(*val, validation_batch_size or batch_size)
        else:
            val_data = None

        history = _cb.History()
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, _cb.ProgbarLogger) for c in cbs):
            cbs.insert(0, _cb.ProgbarLogger())
        cbs.append(history)
        steps = data.steps()
        samples = data.n if isinstance(data, _ArrayData) else None
        cb = _cb.CallbackList(cbs, model=self, verbose=verbose, epochs=epochs, steps=steps,
                              samples=samples, batch_size=batch_size)
        self.stop_training = False
        self._in_fit = True
        logs = {}
        try:
            with self._on_device(plan) as active:
                logs = self._fit_epochs(data, val_data, cb, epochs, initial_epoch,
                                        validation_freq, active)
        finally:
            self._in_fit = False
        self.history = history
        return history

    def _fit_epochs(self, data, val_data, cb, epochs, initial_epoch, validation_freq, plan):
        logs = {}
        self._initial_epoch = None
        cb.on_train_begin()
        if self._initial_epoch is not None:  # set by BackupAndRestore when it restored
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb.on_epoch_begin(epoch)
            if plan is not None:  # weights the callbacks set (restores, schedules) go over
                plan.upload()
            seen = 0
            with training_mode(True):
                for step, batch in enumerate(data.batches()):
                    cb.on_train_batch_begin(step)
                    logs = self.train_step(batch)
                    seen = step + 1
                    cb.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            if seen == 0:
                raise ValueError("fit: the training data produced no batches")
            epoch_logs = dict(logs)
            if plan is not None:  # the host weights are current before callbacks run
                plan.download()
            if val_data is not None and self._should_validate(epoch, validation_freq):
                val_logs = self._evaluate_data(val_data, cb=None)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cb.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training:
                break
        if plan is not None:  # before on_train_end (EarlyStopping restores on the host)
            plan.download()
        cb.on_train_end(logs)
        return logs

    @staticmethod
    def _should_validate(epoch, freq):
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return (epoch + 1) in freq

    # ---------------------------------------------------------------- evaluate / predict
    def _evaluate_data(self, data, cb):
        self.reset_metrics()
        if cb is not None:
            cb.on_test_begin()
        logs = {}
        for step, batch in enumerate(data.batches()):
            if cb is not None:
                cb.on_test_batch_begin(step)
            logs = self.test_step(batch)
            if cb is not None:
                cb.on_test_batch_end(step, logs)
        if not logs:
            raise ValueError("evaluate: the data produced no batches")
        if cb is not None:
            cb.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data: a scalar, a list [loss, metrics...], or a dict."""
        self._require_compiled("evaluate")
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"evaluate: unexpected argument(s) {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        plan = self._plan_for_call(training=False)
        if _is_iterable_source(x):
            data = _IterData(x, steps)
        else:
            data = _ArrayData(self._prep_x(x, plan), _as_struct(y, "y"),
                              None if sample_weight is None else
                              _as_struct(sample_weight, "sample_weight"),
                              32 if batch_size is None else int(batch_size))
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, _cb.ProgbarLogger) for c in cbs):
            cbs.insert(0, _cb.ProgbarLogger())
        cb = _cb.CallbackList(cbs, model=self, verbose=verbose, epochs=1, steps=data.steps())
        with self._on_device(plan):
            logs = self._evaluate_data(data, cb)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Model outputs for x, batch by batch, as numpy arrays."""
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"predict: unexpected argument(s) {sorted(kwargs)}")
        plan = self._plan_for_call(training=False)
        with self._on_device(plan):
            return self._predict(x, batch_size, steps, callbacks, plan)

    def _predict(self, x, batch_size, steps, callbacks, plan):
        if _is_iterable_source(x):
            data = _IterData(x, steps)
        else:
            x = self._prep_x(x, plan)
            n = _length(x, "x")
            bs = 32 if batch_size is None else int(batch_size)
            if n <= bs:  # one batch: no slicing, no concatenation
                out = self.predict_step(x)
                return _map_np(out)
            data = _ArrayData(x, None, None, bs)
        cb = _cb.CallbackList(list(callbacks or []), model=self, verbose=0, epochs=1,
                              steps=data.steps())
        cb.on_predict_begin()
        outs = []
        for step, (bx, _, _) in enumerate(data.batches()):
            cb.on_predict_batch_begin(step)
            out = self.predict_step(bx)
            outs.append(out)
            cb.on_predict_batch_end(step, {"outputs": out})
        cb.on_predict_end()
        if not outs:
            raise ValueError("predict: the data produced no batches")
        flat = [_flatten(o) for o in outs]
        joined = [np.concatenate([as_array(f[i]) for f in flat]) for i in range(len(flat[0]))]
        return joined[0] if len(joined) == 1 and not isinstance(outs[0], (list, tuple)) \
            else joined

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        self._require_compiled("train_on_batch")
        plan = self._plan_for_call(training=True)
        x, y = self._prep_x(x, plan), _as_struct(y, "y")
        sw = self._class_weights(y, class_weight,
                                 None if sample_weight is None else
                                 _as_struct(sample_weight, "sample_weight"))
        self.reset_metrics()
        with training_mode(True), self._on_device(plan):
            logs = self.train_step((x, y, sw))
        return logs if return_dict else _scalar_or_list(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        self.reset_metrics()
        plan = self._plan_for_call(training=False)
        with self._on_device(plan):
            logs = self.test_step((self._prep_x(x, plan), _as_struct(y, "y"),
                                   None if sample_weight is None else
                                   _as_struct(sample_weight, "sample_weight")))
        return logs if return_dict else _scalar_or_list(logs)

    def predict_on_batch(self, x):
        plan = self._plan_for_call(training=False)
        x = self._prep_x(x, plan)
        with self._on_device(plan):
            return _map_np(self.predict_step(x))


def _scalar_or_list(logs):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _map_np(out):
    if isinstance(out, (list, tuple)):
        return [as_array(o) for o in out]
    if isinstance(out, dict):
        return {k: as_array(v) for k, v in out.items()}
    return as_array(out)
