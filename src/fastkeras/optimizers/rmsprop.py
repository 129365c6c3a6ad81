"""RMSprop (plain, with momentum, centered)."""
from fastkeras.optimizers.optimizer import Optimizer, _check_float

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (keras.optimizers.RMSprop): learning_rate=0.001, rho=0.9, momentum=0.0,
    epsilon=1e-7, centered=False."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_float(rho, "rho", allow_none=False)
        self.momentum = _check_float(momentum, "momentum", minimum=0.0, allow_none=False)
        self.epsilon = _check_float(epsilon, "epsilon", minimum=0.0, allow_none=False)
        self.centered = bool(centered)

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        if self.momentum > 0:
            self._slots[1] = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        if self.centered:
            self._slots[2] = [self.add_variable_from_reference(v, "average_gradient")
                              for v in var_list]

    def _fused_args(self, lr, dtype):
        return {"kind": "rmsprop", "lr": lr, "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
                      centered=self.centered)
        return config
