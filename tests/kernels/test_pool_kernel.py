"""The pooling bridge (fastkeras._kernels.pool) against direct NumPy loops in float64: max
and average pooling forward and backward (argmax and recomputed, first maximum or all
ties), 1-D/2-D/3-D, padding valid/same, strides; float32 and float64; thread-count
independence (bitwise), empty batches and bad input."""
import itertools

import numpy as np
import pytest

from fastkeras._kernels import pool as kp
from fastkeras.kernel_errors import KernelValueError, Status


def _geom(n, spatial, c, k, s, padding):
    """The geometry dict, with TensorFlow's output sizes and "same" padding computed here."""
    nd = len(spatial)
    out, pad = [], []
    for i, k_, s_ in zip(spatial, k, s):
        if padding == "valid":
            out.append((i - k_) // s_ + 1)
            pad.append(0)
        else:
            o = -(-i // s_)
            out.append(o)
            pad.append(max((o - 1) * s_ + k_ - i, 0) // 2)
    f = lambda v, fill: (fill,) * (3 - nd) + tuple(v)  # noqa: E731
    return {"n": n, "in": f(spatial, 1), "out": f(out, 1), "k": f(k, 1), "stride": f(s, 1),
            "pad": f(pad, 0), "c": c}


def _windows(g):
    """(output index, [(input index, window position)]) for every output pixel."""
    for o in itertools.product(*(range(v) for v in g["out"])):
        start = [o[d] * g["stride"][d] - g["pad"][d] for d in range(3)]
        taps = []
        for loc, t in enumerate(itertools.product(*(range(v) for v in g["k"]))):
            i = tuple(start[d] + t[d] for d in range(3))
            if all(0 <= i[d] < g["in"][d] for d in range(3)):
                taps.append((i, loc))
        yield o, taps


def _ref(g, x, dy):
    """Max / avg forward, argmax, dx by first maximum, dx by all ties, avg dx (float64)."""
    n, c = g["n"], g["c"]
    x = x.astype(np.float64).reshape((n,) + tuple(g["in"]) + (c,))
    dy = dy.astype(np.float64).reshape((n,) + tuple(g["out"]) + (c,))
    ymax = np.empty(dy.shape)
    yavg = np.empty(dy.shape)
    arg = np.empty(dy.shape, np.int64)
    dx_first, dx_ties, dx_avg = np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape)
    for o, taps in _windows(g):
        vals = np.stack([x[(slice(None),) + i] for i, _ in taps])  # (taps, n, c)
        best = vals.argmax(axis=0)  # the first maximum in window order
        m = vals.max(axis=0)
        ymax[(slice(None),) + o] = m
        yavg[(slice(None),) + o] = vals.mean(axis=0)
        arg[(slice(None),) + o] = np.array([loc for _, loc in taps])[best]
        d = dy[(slice(None),) + o]
        for j, (i, _) in enumerate(taps):
            dx_first[(slice(None),) + i] += np.where(best == j, d, 0)
            dx_ties[(slice(None),) + i] += np.where(vals[j] == m, d, 0)
            dx_avg[(slice(None),) + i] += d / len(taps)
    return [a.reshape(-1) for a in (ymax, yavg, arg, dx_first, dx_ties, dx_avg)]


def _kernel(g, x, dy, dtype, nt=1):
    nx, ny = x.size, dy.size
    ymax, yavg = np.empty(ny, dtype), np.empty(ny, dtype)
    arg = np.empty(ny, np.uint8)
    kp.max_forward(g, x, ymax, arg, nt)
    y2 = np.empty(ny, dtype)
    kp.max_forward(g, x, y2, None, nt)
    assert np.array_equal(ymax, y2)
    kp.avg_forward(g, x, yavg, nt)
    dxa, dxf, dxt, dxv = (np.full(nx, np.nan, dtype) for _ in range(4))
    kp.max_backward(g, dy, arg, dxa, nt)
    kp.max_backward_recompute(g, x, ymax, dy, dxf, False, nt)
    kp.max_backward_recompute(g, x, ymax, dy, dxt, True, nt)
    kp.avg_backward(g, dy, dxv, nt)
    return ymax, yavg, arg, dxa, dxf, dxt, dxv


CASES = [((11,), (3,), (2,), "valid"), ((11,), (3,), (2,), "same"), ((10,), (4,), (4,), "same"),
         ((7, 9), (3, 2), (2, 3), "valid"), ((7, 9), (3, 3), (2, 2), "same"),
         ((6, 6), (2, 2), (1, 1), "same"), ((5, 6, 4), (2, 3, 2), (2, 2, 1), "valid"),
         ((5, 6, 4), (3, 3, 3), (2, 1, 2), "same")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spatial,k,s,padding", CASES)
def test_matches_numpy_loops(rng, dtype, spatial, k, s, padding):
    g = _geom(2, spatial, 3, k, s, padding)
    nx = 2 * int(np.prod(spatial)) * 3
    ny = 2 * int(np.prod(g["out"])) * 3
    # a coarse grid makes ties (the first-maximum and all-ties rules then differ)
    x = (np.round(rng.normal(size=nx) * 2) / 2).astype(dtype)
    dy = rng.normal(size=ny).astype(dtype)
    ymax, yavg, arg, dxa, dxf, dxt, dxv = _kernel(g, x, dy, dtype)
    r = _ref(g, x, dy)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(ymax, r[0])
    np.testing.assert_allclose(yavg, r[1], **tol)
    np.testing.assert_array_equal(arg, r[2])
    np.testing.assert_allclose(dxa, r[3], **tol)
    np.testing.assert_allclose(dxf, r[3], **tol)
    np.testing.assert_allclose(dxt, r[4], **tol)
    np.testing.assert_allclose(dxv, r[5], **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_of_nan_and_inf_windows(dtype):
    """TensorFlow's rule: the running maximum starts at the lowest finite value, so NaN
    never wins and a window of only NaN / -inf gives that lowest value."""
    g = _geom(1, (4,), 1, (2,), (2,), "valid")
    x = np.array([np.nan, np.nan, -np.inf, 1.0], dtype)
    y = np.empty(2, dtype)
    kp.max_forward(g, x, y, None)
    assert y[0] == np.finfo(dtype).min and y[1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_bitwise_independent_of_threads(rng, dtype, padding):
    g = _geom(4, (20, 24), 16, (3, 3), (2, 1), padding)  # above the kernels' parallel grain
    x = rng.normal(size=4 * 20 * 24 * 16).astype(dtype)
    dy = rng.normal(size=4 * int(np.prod(g["out"])) * 16).astype(dtype)
    one, two = _kernel(g, x, dy, dtype, 1), _kernel(g, x, dy, dtype, 2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_empty_batch():
    g = _geom(0, (5, 5), 2, (2, 2), (1, 1), "valid")
    e = np.zeros(0, np.float32)
    kp.max_forward(g, e, e, np.zeros(0, np.uint8))
    kp.max_backward(g, e, np.zeros(0, np.uint8), e)
    kp.max_backward_recompute(g, e, e, e, e, True)
    kp.avg_forward(g, e, e)
    kp.avg_backward(g, e, e)


def test_bad_input():
    g = _geom(1, (4, 4), 2, (2, 2), (2, 2), "valid")
    x, y, a = np.zeros(32, np.float32), np.zeros(8, np.float32), np.zeros(8, np.uint8)
    with pytest.raises(ValueError, match="x has 31 elements, expected 32"):
        kp.max_forward(g, x[:31], y, a)
    with pytest.raises(ValueError, match="y has 9 elements, expected 8"):
        kp.avg_forward(g, x, np.zeros(9, np.float32))
    with pytest.raises(ValueError, match="argmax has 7 elements, expected 8"):
        kp.max_forward(g, x, y, a[:7])
    with pytest.raises(ValueError, match="argmax has 7 elements"):
        kp.max_backward(g, y, a[:7], x)
    with pytest.raises(ValueError, match="dx has 8 elements, expected 32"):
        kp.avg_backward(g, y, y)
    with pytest.raises(ValueError, match="dy has 32 elements, expected 8"):
        kp.max_backward_recompute(g, x, y, x, x, True)
    # dtypes: mixed float32 / float64, integers, a non-uint8 argmax, 2-D arrays
    for call in (lambda: kp.max_forward(g, x, np.zeros(8), a),
                 lambda: kp.avg_forward(g, np.zeros(32, np.int32), np.zeros(8, np.int32)),
                 lambda: kp.max_forward(g, x, y, np.zeros(8, np.int32)),
                 lambda: kp.avg_backward(g, y.reshape(2, 4), x),
                 lambda: kp.max_forward(g, x, y[::-1], a)):
        with pytest.raises((TypeError, ValueError)):
            call()
    # geometries the C check refuses, with the status it names
    for bad, status in [(dict(c=0), Status.BAD_SHAPE), (dict(n=-1), Status.BAD_SHAPE),
                        (dict(k=(1, 0, 2)), Status.BAD_SHAPE),
                        (dict(stride=(1, 0, 2)), Status.BAD_ARG),
                        (dict(pad=(0, 2, 0)), Status.BAD_ARG),  # padding >= window
                        (dict(pad=(0, -1, 0)), Status.BAD_ARG),
                        (dict(out=(1, 3, 2)), Status.BAD_SHAPE),  # a window past the input
                        (dict(stride=(1, 2 ** 62, 1)), Status.BAD_SHAPE)]:
        with pytest.raises(KernelValueError) as e:
            kp.avg_forward(dict(g, **bad), x, y)
        assert e.value.status is status and e.value.function == "fk_pool_check", bad
    # argmax records a byte per output: windows of more than 256 taps are refused
    big = _geom(1, (17, 17), 1, (17, 17), (1, 1), "valid")
    with pytest.raises(KernelValueError) as e:
        kp.max_forward(big, np.zeros(289, np.float32), np.zeros(1, np.float32),
                       np.zeros(1, np.uint8))
    assert e.value.status is Status.BAD_ARG
    yb = np.zeros(1, np.float32)
    kp.max_forward(big, np.arange(289, dtype=np.float32), yb, None)  # without argmax: fine
    assert yb[0] == 288
    with pytest.raises(ValueError, match="which must be 0, 1, 2 or 3"):
        kp.cuda_pass(4, g, x, y, a)
    with pytest.raises(ValueError, match="argmax is required"):
        kp.cuda_pass(1, g, y, x, None)


def test_malformed_geometry_dicts_raise():
    """Short geometry tuples were read past their end (the bridges index them without
    bounds checks: a segfault) and a missing key was a bare KeyError; both are now a
    ValueError naming the entry, for pooling, convolution and the serving plans."""
    from fastkeras._kernels import chain as kch
    from fastkeras._kernels import conv as kc
    g = _geom(1, (4, 4), 2, (2, 2), (2, 2), "valid")
    x, y = np.zeros(32, np.float32), np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="geometry: missing 'pad'"):
        kp.avg_forward({k: v for k, v in g.items() if k != "pad"}, x, y)
    with pytest.raises(ValueError, match="geometry: 'k' must have 3 entries, got \\(2, 2\\)"):
        kp.avg_forward(dict(g, k=[2, 2]), x, y)
    with pytest.raises(ValueError, match="geometry: missing 'c'"):
        kp.max_forward({k: v for k, v in g.items() if k != "c"}, x, y, None)
    with pytest.raises(ValueError, match="geometry: 'stride' must have 3 entries"):
        kch.PoolPlan(dict(g, stride=(2, 2), in_shape=(4, 4, 2), out_shape=(2, 2, 2)), True,
                     np.float32)
    cg = {"n": 1, "in": (1, 4, 4), "out": (1, 3, 3), "k": (1, 2, 2), "stride": (1, 1, 1),
          "dil": (1, 1, 1), "pad": (0, 0, 0), "cin": 3, "cout": 2, "groups": 1}
    cx, cw, cy = np.zeros(48, np.float32), np.zeros(24, np.float32), np.zeros(18, np.float32)
    kc.forward(cg, cx, cw, None, cy)
    with pytest.raises(ValueError, match="geometry: 'dil' must have 3 entries"):
        kc.forward(dict(cg, dil=(1,)), cx, cw, None, cy)
    with pytest.raises(ValueError, match="geometry: missing 'groups'"):
        kc.forward({k: v for k, v in cg.items() if k != "groups"}, cx, cw, None, cy)
    with pytest.raises(ValueError, match="geometry: 'in' must have 3 entries"):
        kch.ConvPlan(dict(cg, **{"in": (4, 4), "in_shape": (4, 4, 3), "out_shape": (3, 3, 2)}),
                     cw, None, -1, 0.0, np.float32)
