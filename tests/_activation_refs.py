"""NumPy float64 references for the fk_act_kind activations (Keras 3's definitions),
shared by the kernel tests."""
import math

import numpy as np

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf)

# fk_act_kind order (csrc/include/fastkeras/activation.h), Keras 3's definitions
ACTS = [
    ("relu", lambda x, a: np.maximum(x, 0)),
    ("relu6", lambda x, a: np.clip(x, 0, 6)),
    ("leaky_relu", lambda x, a: np.where(x > 0, x, a * x)),
    ("elu", lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))),
    ("selu", lambda x, a: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0)))),
    ("sigmoid", lambda x, a: _sigmoid(x)),
    ("tanh", lambda x, a: np.tanh(x)),
    ("softplus", lambda x, a: _softplus(x)),
    ("softsign", lambda x, a: x / (1 + np.abs(x))),
    ("silu", lambda x, a: x * _sigmoid(x)),
    ("hard_sigmoid", lambda x, a: np.clip(x + 3, 0, 6) / 6),
    ("hard_silu", lambda x, a: x * np.clip(x + 3, 0, 6) / 6),
    ("mish", lambda x, a: x * np.tanh(_softplus(x))),
    ("log_sigmoid", lambda x, a: -_softplus(-x)),
    ("gelu_tanh", lambda x, a: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) *
                                                     (x + 0.044715 * x ** 3)))),
    ("gelu_erf", lambda x, a: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
]
