"""SGD with optional (Nesterov) momentum."""
from fastkeras.optimizers.optimizer import Optimizer, _check_float, f32

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent (keras.optimizers.SGD): learning_rate=0.01, momentum=0.0, nesterov=False.

    w -= lr g; with momentum: m = momentum m - lr g, w += m (Nesterov: w += momentum m - lr g).
    """

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = _check_float(momentum, "momentum", allow_none=False)
        if not 0 <= self.momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum}")
        self.nesterov = bool(nesterov)

    def build(self, var_list):
        super().build(var_list)
        if self.momentum != 0:
            self._slots[0] = [self.add_variable_from_reference(v, "momentum") for v in var_list]

    def _fused_args(self, lr, dtype):
        kind = "sgd" if self.momentum == 0 else ("nesterov" if self.nesterov else "momentum")
        return {"kind": kind, "lr": lr, "momentum": f32(self.momentum)}

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, nesterov=self.nesterov)
        return config
