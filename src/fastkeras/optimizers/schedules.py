"""Learning-rate schedules (keras.optimizers.schedules): callables of the step."""
import math

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "CosineDecay",
    "InverseTimeDecay",
    "serialize",
    "deserialize",
]


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config() to be "
                                  "serialized")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _positive(value, name):
    value = float(value)
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0, got {value}")
    return value


class _StepDecay(LearningRateSchedule):
    """Shared arguments of ExponentialDecay and InverseTimeDecay."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def _progress(self, step):
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (floored if staircase)."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while boundaries[i-1] < step <= boundaries[i]."""

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "The length of `boundaries` should be 1 less than the length of `values`. "
                f"Received: boundaries={boundaries}, values={values}")
        self.boundaries = list(boundaries)
        self.values = [float(v) for v in values]
        self.name = name

    def __call__(self, step):
        step = float(step)
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial (or warm-up target) rate to alpha times it."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.alpha = float(alpha)
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = float(warmup_steps)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            initial = self.initial_learning_rate
        else:
            initial = float(self.warmup_target)
            if step < self.warmup_steps:
                total = initial - self.initial_learning_rate
                return self.initial_learning_rate + total * step / self.warmup_steps
            step -= self.warmup_steps
        step = min(step, self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return initial * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class InverseTimeDecay(_StepDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored if staircase)."""

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay,
                                      InverseTimeDecay)}


def serialize(schedule):
    builtin = type(schedule).__module__.startswith("fastkeras.")
    name = type(schedule).__name__
    return {"module": "keras.optimizers.schedules" if builtin else type(schedule).__module__,
            "class_name": name, "config": schedule.get_config(),
            "registered_name": None if builtin else name}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _SCHEDULES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule {name!r}")
    return cls.from_config(config["config"])
