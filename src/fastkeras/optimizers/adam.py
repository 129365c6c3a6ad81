"""Adam (with AMSGrad) and AdamW."""
import numpy as np

from fastkeras.optimizers.optimizer import Optimizer, _check_float, f32

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (keras.optimizers.Adam): learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7, amsgrad=False."""
    _keras_slot_groups = ((0, 1), (2,))

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_float(beta_1, "beta_1", allow_none=False)
        self.beta_2 = _check_float(beta_2, "beta_2", allow_none=False)
        self.epsilon = _check_float(epsilon, "epsilon", minimum=0.0, allow_none=False)
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._slots[1] = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        if self.amsgrad:
            self._slots[2] = [self.add_variable_from_reference(v, "velocity_hat")
                              for v in var_list]

    def _fused_args(self, lr, dtype):
        t = self._step() + 1
        f = np.dtype(dtype).type
        # bias corrections in the variable's precision, as Keras computes them
        b1p, b2p = f(f32(self.beta_1)) ** f(t), f(f32(self.beta_2)) ** f(t)
        alpha = f(lr) * np.sqrt(f(1) - b2p) / (f(1) - b1p)
        return {"kind": "adam", "lr": lr, "beta1": self.beta_1, "beta2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad, "alpha": float(alpha)}

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                      amsgrad=self.amsgrad)
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (keras.optimizers.AdamW): weight_decay=0.004."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name, weight_decay=weight_decay,
                         **kwargs)


