"""The Optimizer base class: Keras 3's apply pipeline on top of a fused C step.

Pipeline of ``apply`` (as in keras.optimizers.Optimizer): drop None gradients
(with a warning), divide by ``loss_scale_factor``, gradient accumulation,
clipping (``clipnorm`` per tensor, else ``global_clipnorm``, else
``clipvalue``), decoupled weight decay, the optimizer's update, the EMA of the
weights, ``iterations += 1``. Built-in optimizers run clipping-by-value, weight
decay, the update and the EMA for all tensors of one dtype in a single fused C
call; subclasses that override ``update_step`` take the generic path.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np

from fastkeras import config
from fastkeras._kernels import optim as _ko
from fastkeras.ops.tape import GradientTape
from fastkeras.ops.tensor import Tensor, Variable, as_array
from fastkeras.optimizers import schedules as _schedules

__all__ = ["Optimizer"]

_LEGACY = {"lr": "learning_rate"}


def f32(x):
    """x rounded through float32. Keras casts some hyper-parameters with ops.cast, which
    makes a float32 tensor first: in float64 those are float32 values (tf.keras does it)."""
    return float(np.float32(x))


def _auto_name(class_name):
    """Keras' default names: the class in snake case, _1, _2... for the next ones (the
    counters layers use, reset by clear_session)."""
    from fastkeras.layers.base import _snake, _unique_name

    return _unique_name(_snake(class_name))


def _check_float(value, name, minimum=None, allow_none=True):
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"`{name}` must be a number, got None")
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a number, got {value!r}") from None
    if math.isnan(v):
        raise ValueError(f"`{name}` must not be NaN")
    if minimum is not None and v < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {v}")
    return v


@dataclass
class FusedStep:
    """One fused optimizer kernel call: its arguments (fastkeras._kernels.optim.step's),
    the indices of its variables in the list given to fused_steps, the variables, and their
    slot Variables (3 lists, None where a slot is unused)."""
    args: dict
    indices: list
    variables: list
    slots: list


class Optimizer:
    """Base class of optimizers (keras.optimizers.Optimizer).

    Subclasses implement ``build(var_list)`` (calling ``super().build``, then
    ``add_variable_from_reference``) and ``update_step(gradient, variable,
    learning_rate)``; built-ins also implement ``_fused_args``.
    """

    _kind = None  # name of the fused C kernel, for built-ins

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        for old, new in _LEGACY.items():
            if old in kwargs:
                warnings.warn(f"`{old}` is deprecated, use `{new}` instead.", DeprecationWarning,
                              stacklevel=3)
                learning_rate = kwargs.pop(old)
        decay = kwargs.pop("decay", None)
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {sorted(kwargs)}")
        if decay:
            warnings.warn("`decay` is deprecated: use a learning-rate schedule "
                          "(InverseTimeDecay is the same rule).", DeprecationWarning, stacklevel=3)
            decay = _check_float(decay, "decay", minimum=0.0)
            learning_rate = _schedules.InverseTimeDecay(
                _check_float(learning_rate, "learning_rate"), 1, decay)
        self.name = name or _auto_name(type(self).__name__)
        self.weight_decay = _check_float(weight_decay, "weight_decay", minimum=0.0)
        self.clipnorm = _check_float(clipnorm, "clipnorm", minimum=0.0)
        self.clipvalue = _check_float(clipvalue, "clipvalue", minimum=0.0)
        self.global_clipnorm = _check_float(global_clipnorm, "global_clipnorm", minimum=0.0)
        if sum(x is not None for x in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.use_ema = bool(use_ema)
        self.ema_momentum = _check_float(ema_momentum, "ema_momentum", minimum=0.0)
        if self.ema_momentum > 1:
            raise ValueError(f"`ema_momentum` must be in [0, 1], got {ema_momentum}")
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = _check_float(loss_scale_factor, "loss_scale_factor")
        if gradient_accumulation_steps is not None:
            if isinstance(gradient_accumulation_steps, bool) or not isinstance(
                    gradient_accumulation_steps, (int, np.integer)) or gradient_accumulation_steps < 2:
                raise ValueError("`gradient_accumulation_steps` must be an integer >= 2, got "
                                 f"{gradient_accumulation_steps!r}")
        self.gradient_accumulation_steps = gradient_accumulation_steps
        # every apply() call counts here; `iterations` divides by the accumulation steps
        self._iterations = self._own_variable(np.int64(0), "iteration", "int64")
        # Keras keeps a float learning rate in a variable of floatx (at construction time);
        # a schedule or a callable replaces it (and the variable goes, as in Keras)
        self._lr_dtype = np.float64 if config.floatx() == "float64" else np.float32
        self._learning_rate = None
        self._legacy_decay = False
        self._set_lr(learning_rate)
        self._legacy_decay = bool(decay)  # setting the rate then sets the decay's base rate
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._index = {}
        self._slots = [[], [], []]
        self._accumulators = []
        self._ema = []
        self._exclude_ids = set()
        self._exclude_names = ()

    def _own_variable(self, value, name, dtype):
        """A state variable of the optimizer itself, named as Keras names it."""
        var = Variable(value, trainable=False, name=name, dtype=dtype)
        var.path = f"{self.name}/{name}"
        return var

    @property
    def iterations(self):
        """Optimizer steps taken (calls to apply // gradient_accumulation_steps)."""
        if self.gradient_accumulation_steps:
            return Tensor(np.int64(int(self._iterations.numpy()) // self.gradient_accumulation_steps))
        return self._iterations

    def _step(self):
        return int(self.iterations.numpy())

    # ---- learning rate
    def _set_lr(self, value):
        if isinstance(value, _schedules.LearningRateSchedule) or (
                callable(value) and not isinstance(value, (Tensor, np.ndarray))):
            self._learning_rate = value  # a float's variable is dropped (Keras untracks it)
            self._legacy_decay = False
            return
        v = _check_float(as_array(value) if isinstance(value, Tensor) else value,
                         "learning_rate", allow_none=False)
        lr = self._learning_rate
        if isinstance(lr, Variable):
            lr.assign(self._lr_dtype(v))
        elif self._legacy_decay:  # `decay=`: the rate decays from the new base rate
            lr.initial_learning_rate = float(self._lr_dtype(v))
        elif isinstance(lr, _schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument.")
        else:
            self._learning_rate = self._own_variable(self._lr_dtype(v), "learning_rate",
                                                     self._lr_dtype)

    def _current_lr(self):
        """The learning rate of the current step as a Python float (the fused kernels'
        argument)."""
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return float(lr._value)
        if isinstance(lr, _schedules.LearningRateSchedule):
            value = lr(int(self._iterations.numpy()))  # Keras evaluates schedules on raw calls
        else:
            value = lr()
        value = float(self._lr_dtype(as_array(value)))
        if math.isnan(value):
            raise ValueError("the learning rate schedule returned NaN")
        return value

    @property
    def learning_rate(self):
        """The learning-rate variable (``.numpy()``, ``float()``, ``assign``, arithmetic);
        with a schedule or a callable, its value at the current `iterations` (a Tensor)."""
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return Tensor(np.asarray(self._current_lr(), self._lr_dtype))

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_lr(value)

    @property
    def lr(self):
        warnings.warn("`lr` is deprecated, use `learning_rate`.", DeprecationWarning, stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        warnings.warn("`lr` is deprecated, use `learning_rate`.", DeprecationWarning, stacklevel=2)
        self.learning_rate = value

    # ---- state
    def build(self, var_list):
        """Create the optimizer's state for var_list (subclasses add their slots)."""
        self._trainable_variables = list(var_list)
        self._index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        if self.use_ema:
            self._ema = [self.add_variable_from_reference(v, "average", initializer=v)
                         for v in self._trainable_variables]
        if self.gradient_accumulation_steps:
            self._accumulators = [self.add_variable_from_reference(v, "gradient_accumulator")
                                  for v in self._trainable_variables]
        self.built = True

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        dtype = np.dtype(dtype or config.floatx())
        if initializer == "zeros":
            value = np.zeros(shape, dtype)
        elif initializer == "ones":
            value = np.ones(shape, dtype)
        else:
            value = np.broadcast_to(as_array(initializer, dtype), shape).copy()
        var = self._own_variable(value, name or "variable", dtype)
        self._variables.append(var)
        return var

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A state variable shaped like reference_variable (zeros, ones, a number or a value)."""
        ref = as_array(reference_variable)
        if isinstance(initializer, (Variable, Tensor, np.ndarray)):
            value = np.array(as_array(initializer), dtype=ref.dtype, copy=True)
        elif initializer == "zeros":
            value = np.zeros(ref.shape, ref.dtype)
        elif initializer == "ones":
            value = np.ones(ref.shape, ref.dtype)
        else:
            value = np.full(ref.shape, float(initializer), ref.dtype)
        base = getattr(reference_variable, "path", None) or getattr(reference_variable, "name",
                                                                    "variable")
        base = str(base).replace("/", "_").replace(":", "_")
        var = self._own_variable(value, f"{base}_{name or 'var'}", ref.dtype)
        self._variables.append(var)
        return var

    @property
    def variables(self):
        """Keras' list: iterations, the learning rate (a float one: a schedule has no
        variable), then the slots in Keras' order (what set_weights and files take)."""
        head = [self._iterations]
        if isinstance(self._learning_rate, Variable):
            head.append(self._learning_rate)
        return head + self._saved_variables()

    @property
    def _model_variables_moving_average(self):
        return list(self._ema)

    @property
    def _accumulated_gradients(self):
        return list(self._accumulators)

    def scale_loss(self, loss):
        """loss times loss_scale_factor (the gradients are divided by it in apply)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # Slots Keras 3 creates together (one add_optimizer_variables call) are stored per
    # model variable, interleaved: Adam's (momentum, velocity) pairs, then velocity_hat.
    _keras_slot_groups = ((0,), (1,), (2,))

    def _saved_variables(self):
        """The state variables in the order Keras 3 writes them to a weights file: EMA
        averages, gradient accumulators, the slots group by group, then the rest."""
        ordered = list(self._ema) + list(self._accumulators)
        for group in self._keras_slot_groups:
            for i in range(len(self._trainable_variables)):
                ordered += [self._slots[k][i] for k in group if self._slots[k]]
        seen = {id(v) for v in ordered}
        return ordered + [v for v in self._variables if id(v) not in seen]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (or names containing one of var_names) from weight decay."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be called before the "
                             "optimizer is built")
        self._exclude_ids |= {id(v) for v in (var_list or [])}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        name = getattr(variable, "name", "")
        return not any(n in name for n in self._exclude_names)

    # ---- applying gradients
    def apply_gradients(self, grads_and_vars):
        """Apply (gradient, variable) pairs; returns `iterations`."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self.iterations

    def minimize(self, loss, var_list, tape=None):
        """Compute gradients of loss (a callable, or a tensor with its tape) and apply them."""
        if callable(loss):
            with GradientTape() as tape:
                value = loss()
        elif tape is None:
            raise ValueError("`tape` is required when `loss` is a tensor rather than a callable")
        else:
            value = loss
        var_list = list(var_list() if callable(var_list) else var_list)
        grads = tape.gradient(value, var_list)
        self.apply_gradients(zip(grads, var_list))
        return self.iterations

    def _prepare(self, grads, variables):
        kept_g, kept_v = [], []
        missing = []
        for g, v in zip(grads, variables):
            if not isinstance(v, Variable):
                raise TypeError(f"expected a fastkeras.Variable, got {type(v).__name__}")
            if g is None:
                missing.append(getattr(v, "name", "variable"))
                continue
            ga = as_array(g)
            if ga.dtype.kind not in "fiu":
                raise TypeError(f"the gradient of variable '{v.name}' has dtype {ga.dtype}; "
                                "expected a numeric array")
            if ga.shape != v.shape:
                raise ValueError(f"the gradient of variable '{v.name}' has shape {ga.shape}, "
                                 f"but the variable has shape {v.shape}")
            if v.dtype.kind != "f":
                raise TypeError(f"variable '{v.name}' has dtype {v.dtype}; optimizers update "
                                "float variables")
            kept_g.append(ga.astype(v.dtype, order="C", copy=False))  # keeps 0-d shapes
            kept_v.append(v)
        if missing and not kept_g:
            raise ValueError(f"No gradients provided for any variable. Variables: {missing}")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss.", UserWarning, stacklevel=4)
        return kept_g, kept_v

    def apply(self, grads, trainable_variables=None):
        """Update trainable_variables (or the variables the optimizer was built with)."""
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built: call `optimizer.build(variables)` first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"got {len(grads)} gradients for {len(trainable_variables)} "
                             "variables")
        if not self.built:
            self.build(trainable_variables)
        unknown = [v for v in trainable_variables if id(v) not in self._index]
        if unknown:
            raise ValueError(f"Unknown variable {unknown[0].name!r}: this optimizer was built "
                             "for other variables. Use a new optimizer instance.")
        grads, variables = self._prepare(grads, trainable_variables)
        if grads:
            if self.loss_scale_factor is not None:
                grads = [np.asarray(g / g.dtype.type(self.loss_scale_factor)) for g in grads]
            if self._accumulate(grads, variables):
                self._update(grads, variables)
            if self.use_ema:  # every call, as Keras does
                self._ema_step()
            for v in variables:
                constraint = getattr(v, "constraint", None)
                if constraint is not None:
                    v.assign(constraint(v))
        self._iterations.assign(self._iterations.numpy() + 1)

    def _accumulate(self, grads, variables):
        """Gradient accumulation: True on the steps that update (grads become the mean)."""
        steps = self.gradient_accumulation_steps
        if not steps:
            return True
        accs = [self._accumulators[self._index[id(v)]] for v in variables]
        if (int(self._iterations.numpy()) + 1) % steps != 0:
            for g, acc in zip(grads, accs):
                np.add(acc._value, g, out=acc._value)
            return False
        for i, (g, acc) in enumerate(zip(grads, accs)):
            grads[i] = np.asarray((g + acc._value) / g.dtype.type(steps))  # 0-d stays an array
            acc._value[...] = 0
        return True

    def _clip_scales(self, grads):
        """Per-tensor gradient multipliers for clipnorm / global_clipnorm (None: none)."""
        if self.clipnorm:
            scales = []
            for g in grads:
                norm = math.sqrt(float(np.vdot(g, g).real)) if g.size else 0.0
                scales.append(self.clipnorm / max(norm, self.clipnorm) if norm > 0 else 1.0)
            return np.asarray(scales)
        if self.global_clipnorm:
            total = math.sqrt(sum(float(np.vdot(g, g).real) for g in grads))
            scale = self.global_clipnorm * min(1.0 / total if total > 0 else math.inf,
                                               1.0 / self.global_clipnorm)
            return np.full(len(grads), scale)
        return None

    def _clip_gradients(self, grads):
        """The gradients after clipnorm / global_clipnorm / clipvalue (Keras' helper)."""
        grads = [np.asarray(as_array(g)) for g in grads]
        scales = self._clip_scales(grads)
        if scales is not None:
            grads = [g * g.dtype.type(s) for g, s in zip(grads, scales)]
        if self.clipvalue:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return [Tensor(np.asarray(g)) for g in grads]

    def _update(self, grads, variables):
        lr = self._current_lr()
        scales = self._clip_scales(grads)
        if self.runs_fused_steps:
            self._fused_update(grads, variables, scales)
            return
        if scales is not None:
            grads = [g * g.dtype.type(s) for g, s in zip(grads, scales)]
        if self.clipvalue:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.weight_decay:
            for v in variables:
                if self._use_weight_decay(v):
                    w = v._value
                    t = w.dtype.type
                    v._value = w - w * t(self.weight_decay) * t(lr)
        for g, v in zip(grads, variables):
            self.update_step(Tensor(g), v, lr)

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable (subclasses of custom optimizers implement this)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step()")

    def _fused_args(self, lr, dtype):
        """The kernel arguments of this optimizer at the current step (built-ins only:
        custom optimizers take the update_step path and never reach this)."""
        raise NotImplementedError(f"{type(self).__name__} has no fused kernel")

    def _before_fused_step(self):
        """Per-step state updates that precede the per-variable updates (Nadam)."""

    def _fused_groups(self, variables, lr):
        """This step's kernel calls: [(args, indices into variables)], one per (dtype,
        weight decay) group; also runs the per-step state update (Nadam). Shared by the
        CPU step and the device plan (fastkeras.device.plan)."""
        self._before_fused_step()
        groups = {}
        for i, v in enumerate(variables):
            decay = bool(self.weight_decay) and self._use_weight_decay(v)
            groups.setdefault((v.dtype, decay), []).append(i)
        out = []
        for (dtype, decay), idx in groups.items():
            args = self._fused_args(lr, dtype)
            args["weight_decay"] = f32(self.weight_decay) if decay else 0.0
            args["clipvalue"] = float(self.clipvalue or 0.0)
            out.append((args, idx))
        return out

    def slot_variables(self, variable):
        """The (up to 3) slot Variables of a trainable variable, None where unused."""
        i = self._index[id(variable)]
        return [self._slots[k][i] if self._slots[k] else None for k in range(3)]

    def tracks(self, variable):
        """Whether the optimizer was built with this variable (has its slots)."""
        return id(variable) in self._index

    @property
    def runs_fused_steps(self):
        """Whether the update is a fused C kernel step (a built-in optimizer whose
        update_step is not overridden): what the compiled plans run."""
        return self._kind is not None and type(self).update_step is Optimizer.update_step

    def fused_steps(self, variables):
        """This step's fused kernel calls over `variables` (FusedStep records, one per
        (dtype, weight decay) group), at the current learning rate; runs the per-step state
        update (Nadam). The CPU step and the compiled plans execute them."""
        out = []
        for args, idx in self._fused_groups(variables, self._current_lr()):
            vs = [variables[i] for i in idx]
            slots = [[self.slot_variables(v)[k] for v in vs] for k in range(3)]
            out.append(FusedStep(args, idx, vs, slots))
        return out

    def count_step(self):
        """Advance `iterations` by one (after a step the caller ran)."""
        self._iterations.assign(self._iterations.numpy() + 1)

    def _fused_update(self, grads, variables, scales):
        for step in self.fused_steps(variables):
            idx = step.indices
            slots = [[s._value if s is not None else None for s in lst] for lst in step.slots]
            _ko.step(step.args, [v._value for v in step.variables], [grads[i] for i in idx],
                     slots, None, None if scales is None else scales[idx],
                     config.get_num_threads())

    def _ema_step(self):
        first = self._step() == 0
        m = 0.0 if first else self.ema_momentum
        for v, avg in zip(self._trainable_variables, self._ema):
            t = v.dtype.type
            avg._value = t(m) * avg._value + (t(1) - t(m)) * v._value
        freq = self.ema_overwrite_frequency
        if freq and (self._step() + 1) % freq == 0:
            self.finalize_variable_values(self._trainable_variables)

    def finalize_variable_values(self, var_list):
        """With use_ema, overwrite the variables with their moving averages."""
        if self.use_ema:
            for v in var_list:
                v.assign(self._ema[self._index[id(v)]]._value)

    # ---- serialization
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            lr = float(lr._value)
        elif isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        else:  # a callable: by its registered name, as Keras writes functions
            from fastkeras.saving.serialization_lib import serialize_keras_object

            lr = serialize_keras_object(lr)
        return {
            "name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue, "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = {k: v for k, v in config.items()  # Keras 2 bookkeeping, no meaning here
                  if k not in ("jit_compile", "is_legacy_optimizer")}
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            if lr.get("class_name") == "function":
                from fastkeras.saving.serialization_lib import deserialize_keras_object

                config["learning_rate"] = deserialize_keras_object(lr, custom_objects)
            else:
                config["learning_rate"] = _schedules.deserialize(lr, custom_objects)
        return cls(**config)

    def set_weights(self, weights):
        """Restore state saved with `[v.numpy() for v in optimizer.variables]` (arrays or
        the variables of another optimizer)."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Please call `optimizer.build(trainable_variables)` to create the optimizer "
                "weights before calling `set_weights()`.")
        weights = list(weights)
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(f"set_weights: expected {len(variables)} arrays (the optimizer's "
                             f"variables), got {len(weights)}")
        for var, w in zip(variables, weights):
            if tuple(np.shape(as_array(w))) != tuple(var.shape):
                raise ValueError(f"Optimizer variable {var.name} has shape {var.shape} not "
                                 f"compatible with provided weight shape "
                                 f"{tuple(np.shape(as_array(w)))}.")
        for var, w in zip(variables, weights):
            var.assign(w)

    def get_weights(self):
        return [np.array(v.numpy(), copy=True) for v in self.variables]
