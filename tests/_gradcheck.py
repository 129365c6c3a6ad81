"""Finite-difference gradient checks shared by the test modules (float64)."""
import numpy as np

import fastkeras as fk
from fastkeras import ops


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar f at x (float64)."""
    x = x.astype(np.float64).copy()
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


def check(f_tensor, x, rtol=1e-6, atol=1e-8, h=1e-6):
    """Compare the tape gradient of sum(f(x)) with central differences."""
    v = fk.Variable(x.astype(np.float64))
    with fk.GradientTape() as tape:
        out = ops.sum(f_tensor(v))
    analytic = tape.gradient(out, v).numpy()
    numeric = numeric_grad(lambda a: float(np.sum(f_tensor(fk.constant(a)).numpy())), x, h)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)
