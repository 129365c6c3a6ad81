"""Adamax, Nadam and Lion."""
import numpy as np

from fastkeras.optimizers.optimizer import Optimizer, _check_float, f32

__all__ = ["Adamax", "Nadam", "Lion"]


class _Betas(Optimizer):
    """The (beta_1, beta_2, epsilon) arguments Adamax and Nadam share."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_float(beta_1, "beta_1", allow_none=False)
        self.beta_2 = _check_float(beta_2, "beta_2", allow_none=False)
        self.epsilon = _check_float(epsilon, "epsilon", minimum=0.0, allow_none=False)

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config


class Adamax(_Betas):
    """Adamax (keras.optimizers.Adamax): learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7."""
    _keras_slot_groups = ((0, 1),)

    _kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._slots[1] = [self.add_variable_from_reference(v, "norm") for v in var_list]

    def _fused_args(self, lr, dtype):
        f = np.dtype(dtype).type
        t = self._step() + 1
        return {"kind": "adamax", "lr": lr, "beta1": self.beta_1, "beta2": self.beta_2,
                "epsilon": self.epsilon, "alpha": float(f(1) - f(f32(self.beta_1)) ** f(t))}


class Nadam(_Betas):
    """Nadam (keras.optimizers.Nadam): learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7, with Keras' momentum schedule (0.96 decay)."""
    _keras_slot_groups = ((0, 1),)

    _kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._slots[1] = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        # the product of the momentum schedule, in the first variable's dtype as in Keras
        dtype = var_list[0].dtype if var_list else "float32"
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype,
                                            name="u_product")

    def _before_fused_step(self):
        f = self._u_product.dtype.type
        t = f(self._step() + 1)
        u = self._u_product._value
        self._u_product.assign(u * f(self.beta_1) * (f(1.0) - f(0.5) * np.power(f(0.96), t)))

    def _fused_args(self, lr, dtype):
        f = np.dtype(dtype).type
        t, t1 = f(self._step() + 1), f(self._step() + 2)
        b1, decay = f(f32(self.beta_1)), f(f32(0.96))
        u_t = b1 * (f(1.0) - f(0.5) * decay ** t)
        u_t_1 = b1 * (f(1.0) - f(0.5) * decay ** t1)
        u_prod = f(self._u_product._value)
        u_prod_1 = u_prod * u_t_1
        return {"kind": "nadam", "lr": lr, "beta1": f32(self.beta_1), "beta2": f32(self.beta_2),
                "epsilon": self.epsilon, "c1": float(u_t_1 / (f(1) - u_prod_1)),
                "c2": float((f(1) - u_t) / (f(1) - u_prod)),
                "vcorr": float(f(1) - f(f32(self.beta_2)) ** t)}


class Lion(Optimizer):
    """Lion (keras.optimizers.Lion): learning_rate=0.001, beta_1=0.9, beta_2=0.99."""

    _kind = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_float(beta_1, "beta_1", allow_none=False)
        self.beta_2 = _check_float(beta_2, "beta_2", allow_none=False)
        if not 0 < self.beta_1 <= 1:
            raise ValueError(f"`beta_1` must be in (0, 1], got {beta_1}")

    def build(self, var_list):
        super().build(var_list)
        self._slots[0] = [self.add_variable_from_reference(v, "momentum") for v in var_list]

    def _fused_args(self, lr, dtype):
        return {"kind": "lion", "lr": lr, "beta1": f32(self.beta_1), "beta2": f32(self.beta_2)}

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2)
        return config
