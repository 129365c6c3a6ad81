"""Learning-rate schedules (keras.optimizers.schedules): callables of the step.

Each schedule returns a scalar Tensor of floatx (float64 when its initial rate is a float64
number, as Keras' conversion gives), computed in double precision on the host. The step may
be an int, a float, a NumPy scalar or a fastkeras Tensor / Variable (an optimizer passes its
iteration count). Configs keep the values they were given, as Keras' do."""
import math

import numpy as np

from fastkeras import config as _config
from fastkeras.ops.tensor import Tensor, as_array

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
]


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _number(value, name):
    """A hyper-parameter as given (what get_config returns); a Tensor (an optimizer's
    learning-rate variable) becomes its float value. Anything else is refused by name."""
    if isinstance(value, Tensor):
        value = float(as_array(value))
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    if math.isnan(float(value)):
        raise ValueError(f"`{name}` must not be NaN")
    return value


def _steps(value, name):
    value = _number(value, name)
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return value


def _step(step):
    try:
        return float(as_array(step)) if isinstance(step, Tensor) else float(step)
    except (TypeError, ValueError):
        raise TypeError(f"A schedule's `step` must be a number, got {step!r}") from None


def _result(value, initial):
    """Keras converts the initial rate to a tensor: a float64 NumPy number stays float64,
    Python numbers become floatx."""
    dtype = np.float64 if isinstance(initial, np.float64) or _config.floatx() == "float64" \
        else np.float32
    return Tensor(np.asarray(value, dtype))


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.decay_rate = _number(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = _step(step) / float(self.decay_steps)
        if self.staircase:
            p = math.floor(p)
        return _result(float(self.initial_learning_rate) * float(self.decay_rate) ** p,
                       self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.decay_rate = _number(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = _step(step) / float(self.decay_steps)
        if self.staircase:
            p = math.floor(p)
        return _result(float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * p),
                       self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = [_number(b, "boundaries") for b in boundaries]
        self.values = [_number(v, "values") for v in values]
        self.name = name

    def __call__(self, step):
        step = _step(step)
        for b, v in zip(self.boundaries, self.values):
            if step <= float(b):
                return _result(float(v), self.values[0])
        return _result(float(self.values[-1]), self.values[0])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, the step held at
    decay_steps; with cycle, decay_steps grows to the first multiple above the step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate")
        self.power = _number(power, "power")
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        step, steps = _step(step), float(self.decay_steps)
        if self.cycle:
            steps *= 1.0 if step == 0 else math.ceil(step / steps)
        else:
            step = min(step, steps)
        initial, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return _result((initial - end) * (1.0 - step / steps) ** float(self.power) + end,
                       self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def _cosine(fraction):
    return 0.5 * (1.0 + math.cos(math.pi * fraction))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after a linear warm-up of warmup_steps, from
    warmup_target) to alpha times it over decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.alpha = _number(alpha, "alpha")
        self.name = name
        self.warmup_target = None if warmup_target is None else _number(warmup_target,
                                                                         "warmup_target")
        self.warmup_steps = _number(warmup_steps, "warmup_steps")
        if self.warmup_steps < 0:
            raise ValueError(f"Argument `warmup_steps` must be >= 0. Received: "
                             f"warmup_steps={warmup_steps}")

    def __call__(self, step):
        step, steps = _step(step), float(self.decay_steps)
        initial, alpha = float(self.initial_learning_rate), float(self.alpha)
        if self.warmup_target is None:
            top = initial
        else:
            top, warmup = float(self.warmup_target), float(self.warmup_steps)
            if step < warmup:
                return _result(initial + (top - initial) * step / warmup,
                               self.initial_learning_rate)
            step -= warmup
        step = min(step, steps)
        return _result(top * ((1.0 - alpha) * _cosine(step / steps) + alpha),
                       self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts first_decay_steps *
    t_mul ** i steps and starts at initial_learning_rate * m_mul ** i."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _steps(first_decay_steps, "first_decay_steps")
        self._t_mul = _number(t_mul, "t_mul")
        if not self._t_mul > 0:
            raise ValueError(f"Argument `t_mul` must be > 0. Received: t_mul={t_mul}")
        self._m_mul = _number(m_mul, "m_mul")
        self.alpha = _number(alpha, "alpha")
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / float(self.first_decay_steps)
        t_mul, m_mul, alpha = float(self._t_mul), float(self._m_mul), float(self.alpha)
        if t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # periods grow geometrically: find the period holding the step
            restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - t_mul ** restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul ** restart
        decayed = (1.0 - alpha) * m_mul ** restart * _cosine(fraction) + alpha
        return _result(float(self.initial_learning_rate) * decayed, self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                      InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """Keras 3's form: {"module", "class_name", "config", "registered_name"}."""
    from fastkeras.saving.serialization_lib import serialize_keras_object

    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError("serialize: `learning_rate_schedule` must be a LearningRateSchedule, "
                        f"got {learning_rate_schedule!r}")
    return serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """A schedule from serialize's dict (or Keras 2's {"class_name", "config"}); custom
    schedules come from custom_objects or the registry (register_keras_serializable)."""
    from fastkeras.saving.serialization_lib import deserialize_keras_object

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: `config` must be a dict with a 'class_name', got "
                         f"{config!r}")
    try:
        obj = deserialize_keras_object(config, custom_objects=custom_objects,
                                       module_objects=_SCHEDULES)
    except TypeError as e:
        raise ValueError(f"Unknown learning rate schedule {config['class_name']!r} ({e})") \
            from e
    if not isinstance(obj, LearningRateSchedule):
        raise ValueError(f"Unknown learning rate schedule {config['class_name']!r}")
    return obj
