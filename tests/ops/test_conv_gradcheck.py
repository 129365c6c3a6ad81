"""float64 finite-difference checks of the convolution and pooling backward passes."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops

from _gradcheck import numeric_grad  # tests/ is on sys.path (its conftest.py)


def check_many(fn, arrays, rng, rtol=1e-6, atol=1e-8):
    """Gradient of sum(fn(*arrays) * R) w.r.t. every array, against central differences."""
    out0 = fn(*[fk.constant(a) for a in arrays]).numpy()
    r = rng.normal(size=out0.shape)
    vs = [fk.Variable(a) for a in arrays]
    with fk.GradientTape() as tape:
        loss = ops.sum(fn(*vs) * r)
    grads = tape.gradient(loss, vs)
    for i, a in enumerate(arrays):
        def f(ai, i=i):
            args = [fk.constant(b) for b in arrays]
            args[i] = fk.constant(ai)
            return float(np.sum(fn(*args).numpy() * r))
        np.testing.assert_allclose(grads[i].numpy(), numeric_grad(f, a), rtol=rtol, atol=atol)


@pytest.mark.parametrize("nd,strides,dil,padding,groups,fmt", [
    (1, 1, 1, "valid", 1, "channels_last"),
    (1, 2, 1, "causal", 2, "channels_last"),
    (2, 1, 2, "same", 1, "channels_first"),
    (2, 2, 1, "same", 2, "channels_last"),
    (2, 1, 1, "valid", 4, "channels_last"),   # depthwise-like: direct loops
    (3, 1, 1, "same", 1, "channels_last"),
    (2, 1, 1, "valid", 1, "channels_last"),   # 1x1 kernels below: the pointwise GEMM path
])
def test_conv_gradients(rng, nd, strides, dil, padding, groups, fmt):
    cin = 4
    k = 1 if (nd == 2 and groups == 1 and padding == "valid" and dil == 1 and strides == 1) else 2
    spatial = {1: (7,), 2: (5, 4), 3: (3, 4, 3)}[nd]
    xshape = (2,) + spatial + (cin,) if fmt == "channels_last" else (2, cin) + spatial
    x = rng.normal(size=xshape)
    w = rng.normal(size=(k,) * nd + (cin // groups, 2 * groups))
    b = rng.normal(size=2 * groups)
    if fmt == "channels_last":
        check_many(lambda xx, ww, bb: ops.conv(xx, ww, strides, padding, fmt, dil, bias=bb),
                   [x, w, b], rng)
    else:
        check_many(lambda xx, ww: ops.conv(xx, ww, strides, padding, fmt, dil), [x, w], rng)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("nd,k,s,padding", [(1, 3, 2, "same"), (2, 2, 1, "valid"),
                                            (2, 3, 2, "same"), (3, 2, 2, "valid")])
def test_pool_gradients(rng, kind, nd, k, s, padding):
    x = rng.normal(size=(2,) + (5,) * nd + (3,))  # distinct values: max is differentiable
    fn = ops.max_pool if kind == "max" else ops.average_pool
    check_many(lambda xx: fn(xx, (k,) * nd, s, padding), [x], rng)


def test_depthwise_gradients(rng):
    x = rng.normal(size=(1, 5, 5, 3))
    w = rng.normal(size=(3, 3, 3, 2))
    check_many(lambda xx, ww: ops.depthwise_conv(xx, ww, 1, "same"), [x, w], rng)


def test_winograd_conv_gradients(rng, winograd_always):
    """A 3x3 stride-1 convolution with 8 channels: the Winograd path, checked by differences."""
    x = rng.normal(size=(1, 5, 4, 8))
    w = rng.normal(size=(3, 3, 8, 8))
    b = rng.normal(size=8)
    check_many(lambda xx, ww, bb: ops.conv(xx, ww, 1, "same", bias=bb), [x, w, b], rng)
