"""The direct convolution of the inference plan (csrc/conv_direct.c, through
fastkeras._kernels.chain.ConvPlan) against a float64 NumPy convolution: 1-D and 2-D,
strides, dilations, valid / same / causal padding, input channels 1..67, output channels
around the 32-wide blocks, every activation, batch sizes 0, 1 and odd; results equal at 1
and 2 threads; float64 and grouped convolutions keep the im2col path."""
import numpy as np
import pytest

from fastkeras._kernels import chain as kch
from _activation_refs import ACTS  # tests/ is on sys.path (its conftest.py)
from _conv_refs import CASES, LINEAR, geometry as _geometry, reference as _reference


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}x{c[1]}->{c[2]}k{c[3]}"
                         f"s{c[4]}{c[5]}d{c[6]}")
@pytest.mark.parametrize("n", [1, 3])
def test_direct_matches_numpy(case, n, rng):
    spatial, cin, cout, k, strides, padding, dil = case
    geom = _geometry(n, spatial, cin, cout, k, strides, padding, dil)
    w = rng.standard_normal(tuple(k) + (cin, cout)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    x = rng.standard_normal((n,) + geom["in_shape"]).astype(np.float32)
    plan = kch.ConvPlan(geom, w, b, LINEAR, 0.0, np.float32)
    assert plan.algorithm == "direct"
    want = _reference(geom, x, w, b)
    got = plan.run(x, 1)
    assert got.shape == want.shape and got.dtype == np.float32
    # float32 sums of K terms of unit size, one rounding each
    tol = 2 * np.finfo(np.float32).eps * np.prod(k) * cin + 1e-5
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    assert np.array_equal(plan.run(x, 2), got)
    # no bias
    plain = kch.ConvPlan(geom, w, None, LINEAR, 0.0, np.float32)
    np.testing.assert_allclose(plain.run(x, 1), _reference(geom, x, w, None), rtol=0,
                               atol=tol)


@pytest.mark.parametrize("kind", range(len(ACTS)), ids=[a[0] for a in ACTS])
def test_every_activation(kind, rng):
    name, f = ACTS[kind]
    geom = _geometry(2, (7, 6), 3, 37, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 3, 37)).astype(np.float32) * 0.5
    b = rng.standard_normal(37).astype(np.float32)
    x = rng.standard_normal((2,) + geom["in_shape"]).astype(np.float32)
    alpha = 0.3
    plan = kch.ConvPlan(geom, w, b, kind, alpha, np.float32)
    assert plan.algorithm == "direct"
    want = f(_reference(geom, x, w, b), alpha)
    np.testing.assert_allclose(plan.run(x, 1), want, rtol=2e-5, atol=2e-5)
    assert np.array_equal(plan.run(x, 2), plan.run(x, 1))


def test_softmax_float64_and_groups_keep_im2col(rng):
    geom = _geometry(1, (6, 6), 4, 8, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 4, 8))
    x = rng.standard_normal((2,) + geom["in_shape"])
    p64 = kch.ConvPlan(geom, w, None, LINEAR, 0.0, np.float64)
    assert p64.algorithm == "im2col"
    np.testing.assert_allclose(p64.run(x, 1), _reference(geom, x, w, None), rtol=1e-12, atol=1e-12)
    soft = kch.ConvPlan(geom, w.astype(np.float32), None, kch.STEP_SOFTMAX, 0.0, np.float32)
    assert soft.algorithm == "im2col"
    grouped = _geometry(1, (6, 6), 4, 8, (3, 3), (1, 1), "same", (1, 1), groups=2)
    pg = kch.ConvPlan(grouped, rng.standard_normal((3, 3, 2, 8)).astype(np.float32), None,
                      LINEAR, 0.0, np.float32)
    assert pg.algorithm == "im2col"


def test_batch_zero_nan_and_bad_input(rng):
    geom = _geometry(1, (5, 5), 2, 3, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    plan = kch.ConvPlan(geom, w, None, 0, 0.0, np.float32)  # relu
    assert plan.run(np.zeros((0, 5, 5, 2), np.float32), 1).shape == (0, 5, 5, 3)
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    x[0, 2, 2, 0] = np.nan
    y = plan.run(x, 1)
    # every output whose 3x3 window holds the NaN is NaN (relu keeps it), no other
    nan = np.isnan(y[0, :, :, 0])
    assert nan[1:4, 1:4].all() and nan.sum() == 9
    with pytest.raises(ValueError):
        plan.run(np.zeros((1, 5, 4, 2), np.float32), 1)
    with pytest.raises((ValueError, TypeError)):
        plan.run(np.zeros((1, 5, 5, 2), np.float64), 1)


def test_large_batch_many_threads_equal(rng):
    geom = _geometry(64, (8, 8), 1, 32, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 1, 32)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    x = rng.standard_normal((64, 8, 8, 1)).astype(np.float32)
    plan = kch.ConvPlan(geom, w, b, 0, 0.0, np.float32)
    y1 = plan.run(x, 1)
    for t in (2, 3, 8):
        assert np.array_equal(plan.run(x, t), y1)
    np.testing.assert_allclose(y1, np.maximum(_reference(geom, x, w, b), 0), atol=1e-5)
