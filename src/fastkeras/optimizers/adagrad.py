"""Adagrad and Adadelta."""
from fastkeras.optimizers.optimizer import Optimizer, _check_float, f32

__all__ = ["Adagrad", "Adadelta"]


class Adagrad(Optimizer):
    """Adagrad (keras.optimizers.Adagrad): learning_rate=0.001, initial_accumulator_value=0.1,
    epsilon=1e-7."""

    _kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = _check_float(
            initial_accumulator_value, "initial_accumulator_value", minimum=0.0, allow_none=False)
        self.epsilon = _check_float(epsilon, "epsilon", minimum=0.0, allow_none=False)

    def build(self, var_list):
        super().build(var_list)
        # Keras' Constant initializer goes through a float32 constant
        self._slots[0] = [self.add_variable_from_reference(
            v, "accumulator", initializer=f32(self.initial_accumulator_value)) for v in var_list]

    def _fused_args(self, lr, dtype):
        return {"kind": "adagrad", "lr": lr, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(initial_accumulator_value=self.initial_accumulator_value,
                      epsilon=self.epsilon)
        return config


class Adadelta(Optimizer):
    """Adadelta (keras.optimizers.Adadelta): learning_rate=0.001, rho=0.95, epsilon=1e-7."""
    _keras_slot_groups = ((0, 1),)

    _kind = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_float(rho, "rho", allow_none=False)
        self.epsilon = _check_float(epsilon, "epsilon", minimum=0.0, allow_none=False)

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "accumulated_grad")
                          for v in var_list]
        self._slots[1] = [self.add_variable_from_reference(v, "accumulated_delta_var")
                          for v in var_list]

    def _fused_args(self, lr, dtype):
        return {"kind": "adadelta", "lr": lr, "rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, epsilon=self.epsilon)
        return config
