"""The CUDA twins: parity with the CPU kernel where a device exists, clean errors elsewhere."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras._kernels import _core
from fastkeras._kernels import softmax_xent as kx

info = fk.build_info()
has_device = info["cuda_compiled"] and info["cuda_device_count"] > 0


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_cuda_entry_points_fail_cleanly_without_a_device():
    x = np.zeros((2, 3), np.float32)
    y = np.array([0, 1], np.int64)
    expected = "not compiled" if not info["cuda_compiled"] else "no CUDA device"
    with pytest.raises(RuntimeError, match=expected):
        kx.sparse(x, y, cuda=True)
    assert _core.cuda_device_count() == 0


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [True, False])
def test_cuda_matches_cpu(dtype, from_logits):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(257, 1000)).astype(dtype)
    if not from_logits:
        x = np.abs(x) / np.abs(x).sum(1, keepdims=True)
    y = rng.integers(0, 1000, size=257)
    w = rng.uniform(size=257).astype(dtype)
    cpu = kx.sparse(x, y, w, want_grad=True, from_logits=from_logits, label_smoothing=0.1)
    gpu = kx.sparse(x, y, w, want_grad=True, from_logits=from_logits, label_smoothing=0.1,
                    cuda=True)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=rtol, atol=1e-7)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
def test_cuda_bad_label_is_an_exception():
    with pytest.raises(ValueError, match="label out of range"):
        kx.sparse(np.zeros((2, 3), np.float32), np.array([0, 9], np.int64), cuda=True)


def _conv_case(dtype):
    import fastkeras.ops.convolution as C

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 8, 4)).astype(dtype)
    w = rng.normal(size=(3, 3, 2, 6)).astype(dtype)  # groups = 2
    xc, kc_, dt, geom, batch, out, nd, fmt = C._conv_problem(x, w, 2, "same", None, 1)
    return xc.reshape(-1), kc_.reshape(-1), geom, rng


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_conv_and_pool_cuda_fail_cleanly_without_a_device():
    from fastkeras._kernels import conv as kc, pool as kp

    x, w, geom, _ = _conv_case(np.float32)
    y = np.empty(geom["n"] * np.prod(geom["out"]) * geom["cout"], np.float32)
    expected = "not compiled" if not info["cuda_compiled"] else "no CUDA device"
    with pytest.raises(RuntimeError, match=expected):
        kc.cuda_pass(0, geom, x, w, None, y, None)
    pg = {"n": 1, "in": (1, 4, 4), "out": (1, 2, 2), "k": (1, 2, 2), "stride": (1, 2, 2),
          "pad": (0, 0, 0), "c": 1}
    with pytest.raises(RuntimeError, match=expected):
        kp.cuda_pass(2, pg, np.zeros(16, np.float32), np.zeros(4, np.float32), None)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_cuda_matches_cpu(dtype):
    from fastkeras._kernels import conv as kc

    x, w, geom, rng = _conv_case(dtype)
    ny = geom["n"] * int(np.prod(geom["out"])) * geom["cout"]
    b = rng.normal(size=geom["cout"]).astype(dtype)
    dy = rng.normal(size=ny).astype(dtype)
    y_cpu, y_gpu = np.empty(ny, dtype), np.empty(ny, dtype)
    kc.forward(geom, x, w, b, y_cpu)
    kc.cuda_pass(0, geom, x, w, b, y_gpu, None)
    dx_cpu, dx_gpu = np.empty_like(x), np.empty_like(x)
    kc.backward_data(geom, dy, w, dx_cpu)
    kc.cuda_pass(1, geom, dy, w, None, dx_gpu, None)
    dw_cpu, dw_gpu = np.empty_like(w), np.empty_like(w)
    db_cpu, db_gpu = np.empty_like(b), np.empty_like(b)
    kc.backward_filter(geom, x, dy, dw_cpu, db_cpu)
    kc.cuda_pass(2, geom, x, dy, None, dw_gpu, db_gpu)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for got, want in ((y_gpu, y_cpu), (dx_gpu, dx_cpu), (dw_gpu, dw_cpu), (db_gpu, db_cpu)):
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_cuda_matches_cpu(dtype):
    import fastkeras.ops.convolution as C
    from fastkeras._kernels import pool as kp

    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(2, 7, 6, 3)).astype(dtype)  # ties
    xc, dt, geom, batch, out, nd, fmt = C._pool_problem(x, 3, 2, "same", None)
    ny = geom["n"] * int(np.prod(geom["out"])) * geom["c"]
    dy = rng.normal(size=ny).astype(dtype)
    xf = xc.reshape(-1)
    y1, y2 = np.empty(ny, dtype), np.empty(ny, dtype)
    a1, a2 = np.empty(ny, np.uint8), np.empty(ny, np.uint8)
    kp.max_forward(geom, xf, y1, a1)
    kp.cuda_pass(0, geom, xf, y2, a2)
    assert np.array_equal(y1, y2) and np.array_equal(a1, a2)
    d1, d2 = np.empty_like(xf), np.empty_like(xf)
    kp.max_backward(geom, dy, a1, d1)
    kp.cuda_pass(1, geom, dy, d2, a1)
    np.testing.assert_allclose(d2, d1, rtol=1e-6)
    kp.avg_forward(geom, xf, y1)
    kp.cuda_pass(2, geom, xf, y2, None)
    np.testing.assert_allclose(y2, y1, rtol=1e-6)
    kp.avg_backward(geom, dy, d1)
    kp.cuda_pass(3, geom, dy, d2, None)
    np.testing.assert_allclose(d2, d1, rtol=1e-5, atol=1e-7)
