"""fastkeras.ops.normalization_ops: the one implementation of training-mode batch
normalization (the tape's op and the compiled plans' CPU backend): gradients by finite
differences in float64 for every feature-axis layout, statistics against NumPy."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras.ops import normalization_ops as bn
from fastkeras.ops.tape import GradientTape
from fastkeras.ops.tensor import Variable

from _gradcheck import check


@pytest.mark.parametrize("shape,axes", [((6, 4), (1,)), ((3, 5, 4), (2,)), ((4, 3, 5), (1,)),
                                        ((2, 3, 4, 2), (1, 3))])
def test_gradients_match_finite_differences(shape, axes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 2 + 1
    feat = tuple(shape[a] for a in axes)
    gamma = rng.normal(size=feat)
    beta = rng.normal(size=feat)
    w = rng.normal(size=shape)  # a random projection makes every output count

    def f(v):
        y, _, _ = bn.batch_norm_training(v, gamma, beta, axes, 1e-3)
        return fk.ops.sum(fk.ops.multiply(y, w))

    check(f, x, rtol=1e-6, atol=1e-8)
    for which in ("gamma", "beta"):
        def g(p, which=which):
            kw = {"gamma": gamma, "beta": beta, which: p}
            y, _, _ = bn.batch_norm_training(x, kw["gamma"], kw["beta"], axes, 1e-3)
            return fk.ops.sum(fk.ops.multiply(y, w))
        check(g, gamma if which == "gamma" else beta, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_statistics_and_output_match_numpy(dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(7, 3, 5)) * 3 + 2).astype(dtype)
    y, mean, var = bn.batch_norm_training(x, None, None, (2,), 1e-3)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=(0, 1)), rtol=1e-12)
    want = (x - x.mean(axis=(0, 1))) / np.sqrt(x.var(axis=(0, 1)) + 1e-3)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.numpy(), want, rtol=tol, atol=tol)
    assert y.numpy().dtype == dtype


def test_variables_get_gradients_through_the_tape():
    x = np.random.default_rng(2).normal(size=(5, 3))
    gamma, beta = Variable(np.ones(3)), Variable(np.zeros(3))
    with GradientTape() as tape:
        y, _, _ = bn.batch_norm_training(x, gamma, beta, (1,), 1e-3)
        loss = fk.ops.sum(fk.ops.square(y))
    dg, db = tape.gradient(loss, [gamma, beta])
    assert dg.shape == (3,) and db.shape == (3,)
    np.testing.assert_allclose(np.asarray(db), 0, atol=1e-12)  # sum of y is 0 per feature
