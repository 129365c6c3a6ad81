"""compile / fit / evaluate / predict and the *_on_batch methods (tf.keras semantics)."""
import contextlib
import inspect
import math
import threading
import warnings

import numpy as np

from fastkeras import callbacks as _cb
from fastkeras.callbacks.callback import pythonify_logs
from fastkeras.layers.base import _flatten, training_mode
from fastkeras.models.compile_utils import CompiledOutput, per_output, resolve_loss, resolve_metric
from fastkeras.models.data_adapters import (ArrayData, IterData, Sequence, as_struct,
                                            check_finite, floats_to_floatx, is_iterable_source,
                                            num_samples, pack_x_y_sample_weight,
                                            ran_out_warning, take_samples,
                                            unpack_x_y_sample_weight)
from fastkeras.ops.tape import GradientTape, paused
from fastkeras.ops.tensor import as_array

__all__ = ["TrainingMixin"]

_PLANS_LOCK = threading.Lock()  # creating a model's device plan


class TrainingMixin:
    """Model methods for training and inference."""

    def _init_training_state(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._in_fit = False
        self._compile_args = None
        self._compiled_outputs = None  # a CompiledOutput per output, once built
        self._loss_tracker = None
        self._compile_metrics = None
        self._output_loss_trackers = []
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
            resolve_loss(spec)
        self._check_metric_names(metrics)
        self._check_metric_names(weighted_metrics)
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  weighted_metrics=weighted_metrics)
        self._compiled_outputs = None
        self._output_loss_trackers = []
        self._loss_tracker = Mean(name="loss")
        self._compile_metrics = None if metrics is None and weighted_metrics is None else \
            _CompileMetrics(self)
        self.loss = loss
        self.compiled = True
        self.run_eagerly = bool(run_eagerly)  # True: the tape runs every step
        self._jit_compile = jit_compile  # False: the tape too; None / True / "auto": the plan
        self.jit_compile = jit_compile is not False
        self._device = None if device is None else config._parse_device(device)
        self._device_plans = {}

    # ---------------------------------------------------------------- device
    @property
    def device(self):
        """Where fit / evaluate / predict run: compile's `device`, else the config's."""
        from fastkeras import config

        return getattr(self, "_device", None) or config.get_device()

    def _plan_for_call(self, training, kind=None):
        """The plan that will run this fit / evaluate / predict (None: the tape), decided
        before the data is prepared (device inputs stay on the device only for a GPU plan).
        `kind` ('train', 'test', 'predict') names the steps the call runs."""
        if self._active_plan is not None:  # a call inside a call (a callback's evaluate)
            return self._active_plan
        device = self.device
        kind = kind or ("train" if training else "test")
        if device == "cpu":
            return self._cpu_plan(kind)
        return self._device_plan(device, training, kind)

    def _own_steps(self, kind):
        """The step methods of `kind` this model overrides (the plan runs the built-in
        ones only)."""
        return [m for m in _OVERRIDABLE[kind]
                if getattr(type(self), m) is not getattr(TrainingMixin, m)]

    def _cpu_plan(self, kind):
        """The compiled CPU plan (fastkeras.device.plan on HostOps) of a model the plan
        covers, unless run_eagerly or jit_compile=False asks for the tape, or the model has
        its own train / test / predict step; None: the tape runs the call."""
        from fastkeras.device.backends import HostOps
        from fastkeras.device.plan import DevicePlan

        if getattr(self, "run_eagerly", False) or getattr(self, "_jit_compile", None) is False \
                or self._own_steps(kind):
            return None
        with _PLANS_LOCK:
            plans = self.__dict__.setdefault("_device_plans", {})
            plan = plans.get("cpu")
            if plan is None:
                try:
                    plan = plans["cpu"] = DevicePlan(self, HostOps())
                except ValueError as exc:
                    plan = plans["cpu"] = exc  # the layers cannot change: the tape for good
        if isinstance(plan, ValueError):
            return None
        try:
            plan.check_call(kind)
        except ValueError:  # this optimizer / loss: the tape
            return None
        return plan

    def uses_compiled_plan(self, kind="train"):
        """Whether fit ('train'), evaluate ('test') or predict ('predict') of this model
        runs through the compiled plan (fastkeras.device.plan) on its device, rather than
        the autodiff tape (run_eagerly=True, a custom step, or a layer, loss or optimizer
        option the plan does not cover)."""
        if kind not in _OVERRIDABLE:
            raise ValueError(f"kind must be 'train', 'test' or 'predict', got {kind!r}")
        try:
            return self._plan_for_call(kind == "train", kind) is not None
        except ValueError:
            return False

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

    def _device_plan(self, device, training, kind=None):
        """This model's plan for `device`. What the device cannot run is refused with a
        ValueError when the model asked for the device (compile(device=...)); under
        config.set_device it runs on the CPU instead, with one warning per model and reason
        (as TensorFlow places ops without a GPU kernel on the CPU)."""
        from fastkeras.device.plan import DevicePlan

        explicit = getattr(self, "_device", None) is not None
        try:
            kind = kind or ("train" if training else "test")
            for method in self._own_steps(kind):  # the plan runs the built-in steps only
                raise ValueError(f"device={device!r}: a model with its own {method} "
                                 f"{'trains' if training else 'runs'} on the CPU; "
                                 "compile it with device='cpu'")
            with _PLANS_LOCK:
                plans = self.__dict__.setdefault("_device_plans", {})
                plan = plans.get(device)
                if isinstance(plan, ValueError):
                    raise plan
                if plan is None:
                    try:
                        plan = plans[device] = DevicePlan.for_device(self, device)
                    except ValueError as exc:
                        plans[device] = exc  # the model cannot change: refused for good
                        raise
            plan.check_call(kind)
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
        if isinstance(y_pred, dict) and len(y_pred) > 1:
            # dict outputs are named by their keys, in flattening (sorted) order, as Keras'
            # CompileLoss names them: losses, metrics and targets are matched by key
            names = sorted(y_pred)
        if len(_flatten(y_pred)) > 1 and len(names) != len(_flatten(y_pred)):
            names = [f"output_{i + 1}" for i in range(len(_flatten(y_pred)))]
        a = self._compile_args
        flat_pred = _flatten(y_pred)
        flat_true = _flatten(y) if y is not None else [None] * len(flat_pred)
        if isinstance(y, dict):
            flat_true = [y.get(n) for n in names]
        losses = [resolve_loss(s, flat_true[i] if i < len(flat_true) else None, flat_pred[i])
                  for i, s in enumerate(per_output(a["loss"], names, "loss"))]
        weights = per_output(a["loss_weights"], names, "loss_weights") if \
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
                out = [resolve_metric(s, losses[i], yt_arr, yp) for s in spec]
                if len(names) > 1:
                    for m in out:
                        m.name = f"{name}_{m.name}"
                return out

            mets, wmets = metric_list(a["metrics"]), metric_list(a["weighted_metrics"])
            taken = {m.name for m in mets}
            for m in wmets:  # tf.keras: a weighted twin of a metric is "weighted_<name>"
                if m.name in taken:
                    m.name = f"weighted_{m.name}"
            outs.append(CompiledOutput(
                name=name, loss=losses[i],
                weight=float(weights[i] if weights[i] is not None else 1.0),
                metrics=mets, weighted_metrics=wmets))
        self._compiled_outputs = outs
        if sum(o.loss is not None for o in outs) > 1:
            from fastkeras.metrics import Mean

            # as Keras' CompileLoss: a `<output>_loss` tracker per output that has a loss,
            # when more than one has (loss=[None, "cce"] logs `loss` only); None elsewhere,
            # so the list stays aligned with the outputs
            self._output_loss_trackers = [None if o.loss is None else Mean(name=f"{o.name}_loss")
                                          for o in outs]
        else:
            self._output_loss_trackers = []

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before `{what}()`")

    # ---------------------------------------------------------------- losses and metrics
    def _flat_targets(self, y, n_out):
        if isinstance(y, dict):
            return [y.get(o.name) for o in self._compiled_outputs]
        return _flatten(y) if y is not None else [None] * n_out

    def _compiled_loss(self, y, y_pred, sample_weight):
        """compile()'s loss for a batch: the loss_weights-weighted sum over the outputs (None
        when no output has a loss). With several outputs, each output's unweighted loss goes
        to its `<output>_loss` tracker, as Keras' CompileLoss does."""
        if self._compiled_outputs is None:
            self._build_compiled(y, y_pred)
        outs = self._compiled_outputs
        if all(o.loss is None for o in outs):
            return None
        if y is None:
            raise ValueError("compute_loss: `y` is required: the model was compiled with a loss, "
                             "and the batch has no targets")
        flat_pred = _flatten(y_pred)
        flat_true = self._flat_targets(y, len(flat_pred))
        if len(flat_true) != len(flat_pred):
            raise ValueError(f"The model has {len(flat_pred)} output(s), but `y` has "
                             f"{len(flat_true)} target array(s)")
        from fastkeras import ops

        sws = _flatten(sample_weight) if isinstance(sample_weight, (list, dict)) else \
            [sample_weight] * len(flat_pred)
        trackers = self._output_loss_trackers
        total = None
        for i, (out, yt, yp, s) in enumerate(zip(outs, flat_true, flat_pred, sws)):
            if out.loss is None:
                continue
            value = out.loss(yt, yp, sample_weight=s)
            w = out.weight
            if trackers and trackers[i] is not None:
                with paused():
                    trackers[i].update_state(float(as_array(value)),
                                             sample_weight=_batch_size(yp))
            term = value if w == 1.0 else ops.multiply(value, w)
            total = term if total is None else ops.add(total, term)
        return total

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The loss of a batch (Keras 3's signature): compile()'s loss on (y, y_pred) with
        `sample_weight`, plus the model's regularization and add_loss terms (`self.losses`).
        The default train_step and test_step call it, so overriding it changes what fit
        minimises and reports."""
        from fastkeras import ops

        total = None
        args = self.__dict__.get("_compile_args")
        if args is not None and args["loss"] is not None:
            total = self._compiled_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            total = extra if total is None else ops.add(total, extra)
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """compute_loss, also when an override predates its `training` argument (Keras 3.3)."""
        fn = getattr(type(self).compute_loss, "__func__", type(self).compute_loss)
        takes = _TAKES_TRAINING.get(fn)
        if takes is None:
            try:
                params = inspect.signature(fn).parameters.values()
                takes = any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in params)
            except (TypeError, ValueError):
                takes = True
            _TAKES_TRAINING[fn] = takes
        if takes:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def _update_compiled_metrics(self, y, y_pred, sample_weight):
        """compile()'s metrics (per output: unweighted, then weighted_metrics with the
        sample weights) updated with a batch."""
        if self._compiled_outputs is None:
            self._build_compiled(y, y_pred)
        with paused():
            flat_pred = _flatten(y_pred)
            flat_true = self._flat_targets(y, len(flat_pred))
            sws = _flatten(sample_weight) if isinstance(sample_weight, (list, dict)) else \
                [sample_weight] * len(flat_pred)
            for out, yt, yp, s in zip(self._compiled_outputs, flat_true, flat_pred, sws):
                # an output of softmax / sigmoid keeps its logits: the cross-entropy
                # metrics compute from them, as the loss does (tf.keras' rule)
                ypa = yp if getattr(yp, "_keras_logits", None) is not None else as_array(yp)
                for m in out.metrics:
                    m.update_state(yt, ypa)
                for m in out.weighted_metrics:
                    m.update_state(yt, ypa, sample_weight=s)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates compile()'s metrics with a batch and returns the logs
        (get_metrics_result()), as Keras 3 does; override it to report other metrics."""
        container = self.__dict__.get("_compile_metrics")
        if container is not None:
            container.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """The current result of every metric in `self.metrics` as a dict of Python floats;
        a metric whose result is a dict (compile()'s metrics) adds its entries."""
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return pythonify_logs(out)

    def _track_loss(self, loss, x):
        with paused():
            self._loss_tracker.update_state(float(as_array(loss)), sample_weight=_batch_size(x))

    # ---------------------------------------------------------------- for the compiled plans
    def compiled_output(self, y=None, y_pred=None):
        """The CompiledOutput (loss, loss weight, metrics) of a one-output compiled model,
        built from the batch's y and y_pred when it is not yet (None without them)."""
        if self._compiled_outputs is None and y_pred is not None:
            self._build_compiled(y, y_pred)
        outs = self._compiled_outputs
        return outs[0] if outs else None

    def compiled_loss_spec(self):
        """compile()'s `loss` argument (a name, a Loss, a function, or per output)."""
        return (self._compile_args or {}).get("loss")

    def record_batch(self, y, y_pred, sample_weight, loss, batch_size, logits=None):
        """After a batch a compiled plan ran: the loss tracker and compile()'s metrics take
        it; returns the logs (as train_step / test_step do). logits: the softmax output's
        logits, which the cross-entropy metrics compute from (as on the tape)."""
        if logits is not None:
            from fastkeras.activations import _with_logits
            from fastkeras.ops.tensor import Tensor

            y_pred = _with_logits(Tensor(y_pred), Tensor(logits), "softmax")
        self._update_metrics(y, y_pred, sample_weight, loss, [loss], batch_size)
        return self._logs()

    def _update_metrics(self, y, y_pred, sw, total, parts, batch_n):
        """After a step the device plan ran: the loss trackers and compile()'s metrics."""
        with paused():
            self._loss_tracker.update_state(float(as_array(total)), sample_weight=batch_n)
            for tracker, p in zip(self._output_loss_trackers, parts):
                if p is not None and tracker is not None:
                    tracker.update_state(float(as_array(p)), sample_weight=batch_n)
        self._update_compiled_metrics(y, y_pred, sw)

    @property
    def metrics(self):
        """The model's metrics in Keras 3's order: once compiled, the loss tracker ("loss"),
        compile()'s metrics as one container ("compile_metrics", its `.metrics` the metrics
        themselves) and, with several outputs, each output's loss tracker; then the metrics
        the model holds as attributes (``self.loss_tracker = keras.metrics.Mean(...)``).
        fit resets them at each epoch's start and reports their results. A subclass may
        override this property to list its own."""
        out = []
        if self.__dict__.get("compiled"):
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            out.extend(t for t in self._output_loss_trackers if t is not None)
        seen = {id(m) for m in out}
        for m in self._held_metrics():
            if id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        return out

    def _held_metrics(self):
        """Metrics held as attributes of the model and of its layers (Layer's tracking);
        a nested model's are its own, as in Keras."""
        out = list(self.__dict__.get("_metrics_tracked", ()))

        def from_layers(model):
            for layer in model.__dict__.get("_layers", ()):
                if isinstance(layer, TrainingMixin):
                    from_layers(layer)  # a nested model's layers' metrics, as Keras lists
                else:
                    out.extend(layer._tracked_metrics())

        from_layers(self)
        return out

    def _log_names(self):
        """The metric names evaluate() lists values in (Keras 3's _flatten_metrics_in_order):
        the metrics in order, compile()'s entries expanded where the model has one output
        (with several, Keras' container names do not match the prefixed logs, so they come
        after the others, sorted)."""
        names, later = [], []
        single = len(self._compiled_outputs or [()]) <= 1
        for m in self.metrics:
            if getattr(m, "_is_compile_metrics", False):
                (names if single else later).extend(s.name for s in m.metrics)
            else:
                names.append(m.name)
        return names, later

    @property
    def metrics_names(self):
        """The names of ``self.metrics``, as Keras 3 reports them: ``["loss",
        "compile_metrics"]`` once compiled with metrics (plus each output's loss tracker and
        the metrics held as attributes), [] before compile. The names of the values
        evaluate() lists are ``log_names``, or use ``evaluate(..., return_dict=True)``."""
        return [m.name for m in self.metrics]

    @property
    def log_names(self):
        """The names of the logs in the order evaluate() and the *_on_batch methods list
        their values, so ``dict(zip(model.log_names, model.evaluate(x, y)))`` pairs them
        (what tf.keras 2 called metrics_names)."""
        names, later = self._log_names()
        return names + sorted(n for n in later if n not in names)

    def _flatten_metrics_in_order(self, logs):
        names, _ = self._log_names()
        values = [logs[n] for n in names if n in logs]
        taken = set(names)
        values += [logs[k] for k in sorted(logs) if k not in taken]
        return values[0] if len(values) == 1 else values

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self):
        return self.get_metrics_result()

    # ---------------------------------------------------------------- steps
    def train_step(self, data):
        """One optimisation step (Keras 3's): `data` is the batch as fit hands it out (x,
        (x, y) or (x, y, sample_weight)); the forward pass runs under a GradientTape, the
        loss comes from compute_loss, the optimizer updates the trainable weights, and
        compute_metrics returns the logs. Override it to train differently."""
        x, y, sw = unpack_x_y_sample_weight(data)
        if self._active_plan is not None:
            return self._active_plan.train_step((x, y, sw))
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x, y, y_pred, sw, training=True)
        self._track_loss(loss, x)
        params = self.trainable_weights
        if params:
            grads = tape.gradient(loss, params)
            pairs = [(g, p) for g, p in zip(grads, params) if g is not None]
            if not pairs:
                raise ValueError("No gradients: the loss does not depend on any trainable "
                                 "weight")
            self.optimizer.apply_gradients(pairs)
        else:
            warnings.warn("The model does not have any trainable weights.", UserWarning,
                          stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sample_weight=sw)

    def test_step(self, data):
        """One evaluation step (Keras 3's): forward pass, compute_loss(training=False), the
        loss tracker, compute_metrics; returns the logs."""
        x, y, sw = unpack_x_y_sample_weight(data)
        if self._active_plan is not None:
            return self._active_plan.test_step((x, y, sw))
        with paused():
            y_pred = self(x, training=False)
            loss = self._compute_loss(x, y, y_pred, sw, training=False)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight=sw)

    def predict_step(self, data):
        """The model's outputs for a batch (x, or a tuple whose first entry is x)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        if self._active_plan is not None:
            return self._active_plan.predict_step(x)
        with paused():
            return self(x, training=False)

    # ---------------------------------------------------------------- data plumbing
    def _prep_x(self, x, plan=None):
        x = as_struct(x, "x", device_ok=plan is not None and not plan.ops.shares_host_memory)
        check_finite(x, "x")
        return floats_to_floatx(x)

    def _class_weights(self, y, class_weight, sw):
        if class_weight is None:
            return sw
        if y is None:
            raise ValueError("`class_weight` needs the targets `y`")
        if isinstance(y, (list, dict)):
            raise ValueError("`class_weight` is only supported for models with one output")
        labels = y.reshape(len(y), -1)
        labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0].astype(np.int64)
        missing = set(np.unique(labels).tolist()) - set(class_weight)
        if missing:
            raise ValueError(f"`class_weight` has no entry for class(es) {sorted(missing)}")
        cw = np.array([class_weight[int(c)] for c in labels], dtype=np.float64)
        return cw if sw is None else cw * np.asarray(sw, np.float64)

    def _validation_arrays(self, validation_data, batch_size, steps, plan):
        if isinstance(validation_data, (list, tuple)):
            vd = tuple(validation_data)
            if not 1 <= len(vd) <= 3:
                raise ValueError("`validation_data` must be (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val)")
        else:  # x_val alone (a model whose test_step needs no targets)
            vd = (validation_data,)
        vx, vy, vsw = unpack_x_y_sample_weight(vd)
        return ArrayData(self._prep_x(vx, plan), as_struct(vy, "y"),
                          None if vsw is None else as_struct(vsw, "sample_weight"),
                          batch_size, steps_per_epoch=steps)

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
        steps_per_epoch = _check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = _check_steps(validation_steps, "validation_steps")
        val = None
        if x is None:
            raise ValueError("fit: `x` is required")
        plan = self._plan_for_call(training=True, kind="train")
        if is_iterable_source(x):
            # class_weight weighs a Sequence's batches by class, as Keras' PyDataset adapter
            # does; Keras refuses it for Python generators, and so does fastkeras
            if class_weight is not None and not isinstance(x, Sequence):
                raise ValueError("Argument `class_weight` is not supported for Python "
                                 f"generator inputs. Received: class_weight={class_weight}")
            weigh = None if class_weight is None else (
                lambda yb, swb: self._class_weights(yb, class_weight, swb))
            data = IterData(x, steps_per_epoch, shuffle=bool(shuffle), weigh=weigh)
        else:
            x = self._prep_x(x, plan)
            y = as_struct(y, "y")  # None: the batches are x alone (a custom train_step)
            sw = None if sample_weight is None else as_struct(sample_weight,
                                                               "sample_weight")
            if validation_split and validation_data is None:
                if not 0 < validation_split < 1:
                    raise ValueError(f"`validation_split` must be in (0, 1), got "
                                     f"{validation_split}")
                n = num_samples(x, "x")
                split = int(math.floor(n * (1.0 - validation_split)))  # Keras' split point
                val = (take_samples(x, slice(split, None)), take_samples(y, slice(split, None)),
                       None if sw is None else sw[split:])
                x, y = take_samples(x, slice(0, split)), take_samples(y, slice(0, split))
                sw = None if sw is None else sw[:split]
            sw = self._class_weights(y, class_weight, sw)
            data = ArrayData(x, y, sw, batch_size, shuffle=bool(shuffle),
                              steps_per_epoch=steps_per_epoch)
        if validation_data is not None:
            if is_iterable_source(validation_data):
                val_data = IterData(validation_data, validation_steps)
            else:
                val_data = self._validation_arrays(validation_data,
                                                   validation_batch_size or batch_size,
                                                   validation_steps, plan)
        elif val is not None:
            val_data = ArrayData(*val, validation_batch_size or batch_size,
                                  steps_per_epoch=validation_steps)
        else:
            val_data = None

        history = _cb.History()
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, _cb.ProgbarLogger) for c in cbs):
            cbs.insert(0, _cb.ProgbarLogger())
        cbs.append(history)
        samples = data.n if isinstance(data, ArrayData) and steps_per_epoch is None else None
        cb = _cb.CallbackList(cbs, model=self, verbose=verbose, epochs=epochs,
                              steps=data.steps(), _samples=(samples, batch_size))
        self.stop_training = False
        self._in_fit = True
        self._fit_validates = val_data is not None  # read by CSVLogger
        try:
            with self._on_device(plan) as active:
                self._fit_epochs(data, val_data, cb, epochs, initial_epoch, validation_freq,
                                 active)
        finally:
            self._in_fit = False
        self.history = history
        return history

    def _fit_epochs(self, data, val_data, cb, epochs, initial_epoch, validation_freq, plan):
        logs = None
        self._initial_epoch = None
        cb.on_train_begin()
        if self._initial_epoch is not None:  # set by BackupAndRestore when it restored
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        first = True
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb.on_epoch_begin(epoch)
            if plan is not None:  # weights the callbacks set (restores, schedules) go over
                plan.upload()
            seen, step_logs = 0, None
            with training_mode(True):
                for step, batch in enumerate(data.batches()):
                    cb.on_train_batch_begin(step)
                    step_logs = self.train_step(batch)
                    seen = step + 1
                    cb.on_train_batch_end(step, step_logs)
                    if self.stop_training:
                        break
            ran_out = data.ran_out and not self.stop_training
            if seen == 0:
                if first or not ran_out:
                    raise ValueError("fit: the training data produced no batches")
                ran_out_warning()  # a generator used up at an epoch's end: stop here
                break
            first = False
            if ran_out:
                ran_out_warning()
            epoch_logs = pythonify_logs(step_logs)
            if plan is not None:  # the host weights are current before callbacks run
                plan.download()
            if val_data is not None and self._should_validate(epoch, validation_freq):
                val_logs = self._evaluate_data(val_data, cb)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cb.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training or (ran_out and not data.restartable):
                break
        if plan is not None:  # before on_train_end (EarlyStopping restores on the host)
            plan.download()
        opt = getattr(self, "optimizer", None)
        if opt is not None and hasattr(opt, "finalize_variable_values"):
            # use_ema: the moving averages become the weights, as Keras' fit ends
            opt.finalize_variable_values(self.trainable_weights)
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
        data._it = None  # each evaluation starts a pass (a generator goes on where it was)
        if cb is not None:
            cb.on_test_begin()
        logs = None
        for step, batch in enumerate(data.batches()):
            if cb is not None:
                cb.on_test_batch_begin(step)
            logs = self.test_step(batch)
            if cb is not None:
                cb.on_test_batch_end(step, logs)
        if data.ran_out:
            ran_out_warning()
        if logs is None:
            raise ValueError("evaluate: the data produced no batches")
        logs = pythonify_logs(logs)
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
        steps = _check_steps(steps, "steps")
        plan = self._plan_for_call(training=False, kind="test")
        if is_iterable_source(x):
            data = IterData(x, steps)
        else:
            data = ArrayData(self._prep_x(x, plan), as_struct(y, "y"),
                              None if sample_weight is None else
                              as_struct(sample_weight, "sample_weight"),
                              32 if batch_size is None else int(batch_size),
                              steps_per_epoch=steps)
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, _cb.ProgbarLogger) for c in cbs):
            cbs.insert(0, _cb.ProgbarLogger())
        cb = _cb.CallbackList(cbs, model=self, verbose=verbose, epochs=1, steps=data.steps())
        with self._on_device(plan):
            logs = self._evaluate_data(data, cb)
        if return_dict:
            return logs
        return self._flatten_metrics_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Model outputs for x, batch by batch, as numpy arrays."""
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"predict: unexpected argument(s) {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        steps = _check_steps(steps, "steps")
        plan = self._plan_for_call(training=False, kind="predict")
        with self._on_device(plan):
            return self._predict(x, batch_size, steps, callbacks, plan, verbose)

    def _predict(self, x, batch_size, steps, callbacks, plan, verbose=0):
        if is_iterable_source(x):
            data = IterData(x, steps)
        else:
            x = self._prep_x(x, plan)
            n = num_samples(x, "x")
            bs = 32 if batch_size is None else int(batch_size)
            if n <= bs and not callbacks and steps is None:
                # one batch and no callback watching: no slicing, no concatenation
                return _map_np(self.predict_step(pack_x_y_sample_weight(x)))
            data = ArrayData(x, None, None, bs, steps_per_epoch=steps)
        cb = _cb.CallbackList(list(callbacks or []), model=self, verbose=verbose, epochs=1,
                              steps=data.steps())
        cb.on_predict_begin()
        outs = []
        for step, batch in enumerate(data.batches()):
            cb.on_predict_batch_begin(step)
            out = self.predict_step(batch)
            outs.append(out)
            if cb.has("on_predict_batch_end"):
                cb.on_predict_batch_end(step, {"outputs": _map_np(out)})
        if data.ran_out:
            ran_out_warning()
        cb.on_predict_end()
        if not outs:
            raise ValueError("predict: the data produced no batches")
        flat = [_flatten(o) for o in outs]
        joined = [np.concatenate([as_array(f[i]) for f in flat]) for i in range(len(flat[0]))]
        return joined[0] if len(joined) == 1 and not isinstance(outs[0], (list, tuple)) \
            else joined

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One train_step on (x, y, sample_weight) (the 3-tuple Keras passes, Nones kept)."""
        self._require_compiled("train_on_batch")
        plan = self._plan_for_call(training=True, kind="train")
        x, y = self._prep_x(x, plan), as_struct(y, "y")
        sw = self._class_weights(y, class_weight,
                                 None if sample_weight is None else
                                 as_struct(sample_weight, "sample_weight"))
        self.reset_metrics()
        with training_mode(True), self._on_device(plan):
            logs = self.train_step((x, y, sw))
        logs = pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        self.reset_metrics()
        plan = self._plan_for_call(training=False, kind="test")
        with self._on_device(plan):
            logs = self.test_step((self._prep_x(x, plan), as_struct(y, "y"),
                                   None if sample_weight is None else
                                   as_struct(sample_weight, "sample_weight")))
        logs = pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        plan = self._plan_for_call(training=False, kind="predict")
        x = self._prep_x(x, plan)
        with self._on_device(plan):
            return _map_np(self.predict_step((x,)))


# the steps a device plan runs in place of the model's own, by kind of call
_OVERRIDABLE = {"train": ("train_step", "compute_loss", "compute_metrics"),
                "test": ("test_step", "compute_loss", "compute_metrics"),
                "predict": ("predict_step",)}
_TAKES_TRAINING = {}  # compute_loss function -> whether it takes `training`
_METRIC_CLASS = []


def _metric_base():
    if not _METRIC_CLASS:  # fastkeras.metrics loads on first use
        from fastkeras.metrics.metric import Metric

        _METRIC_CLASS.append(Metric)
    return _METRIC_CLASS[0]


def _batch_size(struct):
    for a in _flatten(struct):
        if a is not None:
            shape = getattr(a, "shape", None)
            return int(shape[0]) if shape else 1
    return 1


def _check_steps(steps, name):
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"`{name}` must be a positive integer or None, got {steps!r}")
    return int(steps)


_COMPILE_METRICS_CLASS = []


def _CompileMetrics(model):
    """compile()'s metrics as one Metric, named "compile_metrics" (Keras 3's
    CompileMetrics): update_state(y, y_pred, sample_weight) updates every output's metrics
    (weighted_metrics with the sample weights), result() is a dict of their results,
    reset_state() resets them, `.metrics` lists them (empty until the first batch)."""
    if not _COMPILE_METRICS_CLASS:
        base = _metric_base()

        class CompileMetrics(base):
            _is_compile_metrics = True

            def __init__(self, model):
                super().__init__(name="compile_metrics")
                self._model = model

            @property
            def metrics(self):
                outs = self._model._compiled_outputs or []
                return [m for o in outs for m in o.metrics + o.weighted_metrics]

            @property
            def variables(self):
                return [v for m in self.metrics for v in m.variables]

            def update_state(self, y_true, y_pred, sample_weight=None):
                self._model._update_compiled_metrics(y_true, y_pred, sample_weight)

            def result(self):
                return {m.name: m.result() for m in self.metrics}

            def reset_state(self):
                for m in self.metrics:
                    m.reset_state()

        _COMPILE_METRICS_CLASS.append(CompileMetrics)
    return _COMPILE_METRICS_CLASS[0](model)


def _map_np(out):
    """Outputs as numpy arrays, nested lists / tuples / dicts kept."""
    if isinstance(out, (list, tuple)):
        return [_map_np(o) for o in out]
    if isinstance(out, dict):
        return {k: _map_np(v) for k, v in out.items()}
    return as_array(out)
