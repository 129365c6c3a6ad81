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
