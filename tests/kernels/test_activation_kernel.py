"""The C activation kernels: float32 accuracy over the whole range (against float64
references), the extremes, NaN, every SIMD path, thread counts, and bad arguments."""
import numpy as np
import pytest

from fastkeras._kernels import elementwise as E

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sig(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _erfc(x):
    import math
    return np.vectorize(math.erfc)(x)


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


REF = {
    "relu": lambda x, a: np.maximum(x, 0),
    "relu6": lambda x, a: np.clip(x, 0, 6),
    "leaky_relu": lambda x, a: np.where(x > 0, x, a * x),
    "elu": lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
    "selu": lambda x, a: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))),
    "sigmoid": lambda x, a: _sig(x),
    "tanh": lambda x, a: np.tanh(x),
    "softplus": lambda x, a: _softplus(x),
    "softsign": lambda x, a: x / (1 + np.abs(x)),
    "silu": lambda x, a: x * _sig(x),
    "hard_sigmoid": lambda x, a: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x, a: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x, a: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x, a: -_softplus(-x),
    "gelu_erf": lambda x, a: x * 0.5 * _erfc(-x / np.sqrt(2)),
    # 0.5 (1 + tanh(u)) written as sigmoid(2u), which float64 evaluates without cancelling
    "gelu_tanh": lambda x, a: x * _sig(2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)),
}


def _grid():
    x = np.concatenate([np.linspace(-30, 30, 200001), np.geomspace(1e-30, 1e-2, 2001),
                        -np.geomspace(1e-30, 1e-2, 2001), [0.0, -0.0, 88.0, -88.0, 100.0,
                                                           -100.0, 1e4, -1e4]])
    return x.astype(np.float32)


@pytest.mark.parametrize("name", sorted(REF))
def test_float32_accuracy_over_the_range(name):
    x = _grid()
    y = np.empty_like(x)
    E.act_forward(E.KINDS[name], x, y, 0.3, 2)
    ref = REF[name](x.astype(np.float64), 0.3)
    # relative 5e-7 (a few float32 ulps) plus the condition number |x f'(x) / f(x)| times
    # float32's rounding of the input's own arithmetic (it dominates in exp's far tails),
    # or absolute 1e-35 where exp flushes to zero
    xd = x.astype(np.float64)
    h = np.maximum(np.abs(xd) * 1e-7, 1e-12)
    slope = (REF[name](xd + h, 0.3) - REF[name](xd - h, 0.3)) / (2 * h)
    cond = np.abs(xd * slope) / np.maximum(np.abs(ref), 1e-300)
    err = np.abs(y - ref) / np.maximum(np.abs(ref), 1e-30)
    bad = (err > 5e-7 + 2.4e-7 * cond) & (np.abs(y - ref) > 1e-35)
    assert not bad.any(), (x[bad][:5], y[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("name", sorted(REF))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_matches_finite_differences(name, dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=4000) * 4).astype(np.float64)
    x = x[(np.abs(x) > 1e-3) & (np.abs(np.abs(x) - 3) > 1e-3) & (np.abs(x - 6) > 1e-3)]
    g = rng.normal(size=x.size)
    h = 1e-6
    ref = g * (REF[name](x + h, 0.3) - REF[name](x - h, 0.3)) / (2 * h)
    xs, gs = x.astype(dtype), g.astype(dtype)
    dx = np.empty_like(xs)
    E.act_backward(E.KINDS[name], xs, None, gs, dx, 0.3, 2)
    tol = 2e-4 if dtype == np.float32 else 1e-6
    np.testing.assert_allclose(dx, ref, rtol=tol, atol=tol)
    if name in ("sigmoid", "tanh"):  # the form that reads y = f(x)
        y = np.empty_like(xs)
        E.act_forward(E.KINDS[name], xs, y, 0.3, 1)
        dy = np.empty_like(xs)
        E.act_backward(E.KINDS[name], xs, y, gs, dy, 0.3, 1)
        np.testing.assert_allclose(dy, dx, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(set(REF) - {"relu", "relu6", "hard_sigmoid", "hard_silu",
                                                      "leaky_relu"}))
def test_nan_propagates(name):
    x = np.array([np.nan, 1.0, np.nan], np.float32)
    y = np.empty_like(x)
    E.act_forward(E.KINDS[name], x, y, 0.3, 1)
    assert np.isnan(y[0]) and np.isnan(y[2]) and np.isfinite(y[1])


def test_threads_and_blocks_agree():
    x = (np.random.default_rng(2).normal(size=300001) * 5).astype(np.float32)
    for name in REF:
        a, b = np.empty_like(x), np.empty_like(x)
        E.act_forward(E.KINDS[name], x, a, 0.2, 1)
        E.act_forward(E.KINDS[name], x, b, 0.2, 2)
        np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    x = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="elements"):
        E.act_forward(0, x, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="invalid argument"):
        E.act_forward(99, x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="must all have"):
        E.act_backward(0, x, None, x, np.zeros(3, np.float32))
