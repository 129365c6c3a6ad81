"""The dense-chain bridge (fastkeras._kernels.chain.DenseChain) against a float64 NumPy
forward pass for every activation kind, dense and affine steps, bias or none, float32 and
float64; thread-count independence, empty batches and bad input."""
import numpy as np
import pytest

from fastkeras._kernels import chain as kch
from fastkeras.kernel_errors import KernelValueError, Status

from _activation_refs import ACTS  # tests/ is on sys.path (its conftest.py)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _ref(steps, x):
    h = x.astype(np.float64)
    for kind, w, b, act, alpha in steps:
        w = np.asarray(w, np.float64)
        h = h @ w if kind == "dense" else h * w
        if b is not None:
            h = h + np.asarray(b, np.float64)
        if act == kch.STEP_SOFTMAX:
            h = _softmax(h)
        elif act >= 0:
            h = ACTS[act][1](h, alpha)
    return h


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", range(len(ACTS)), ids=[a[0] for a in ACTS])
def test_each_activation(rng, dtype, act):
    alpha = 0.3
    steps = [("dense", rng.normal(size=(6, 9)) / 2, rng.normal(size=9), act, alpha),
             ("affine", rng.normal(size=9), rng.normal(size=9), act, alpha),
             ("dense", rng.normal(size=(9, 4)) / 2, None, act, alpha)]
    ch = kch.DenseChain(steps, dtype)
    assert (ch.n_in, ch.n_out, ch.dtype) == (6, 4, np.dtype(dtype))
    x = (rng.normal(size=(13, 6)) * 2).astype(dtype)
    y = ch.run(x)
    assert y.dtype == dtype and y.shape == (13, 4)
    np.testing.assert_allclose(y, _ref(steps, x.astype(dtype)), **_tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_softmax_and_copies(rng, dtype):
    w1, b1 = rng.normal(size=(5, 7)), rng.normal(size=7)
    w2 = rng.normal(size=(7, 3))
    steps = [("dense", w1, b1, kch.STEP_LINEAR, 0.0), ("affine", np.full(7, 0.5), None, 0, 0.0),
             ("dense", w2, np.zeros(3), kch.STEP_SOFTMAX, 0.0)]
    ch = kch.DenseChain(steps, dtype)
    x = rng.normal(size=(11, 5)).astype(dtype)
    want = _ref(steps, x)
    w1[:] = 0  # the chain owns copies of its weights
    y = ch.run(x)
    np.testing.assert_allclose(y, want, **_tol(dtype))
    np.testing.assert_allclose(y.sum(axis=1), 1, **_tol(dtype))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 16, 33])
@pytest.mark.parametrize("width", [1, 31, 32, 33, 65])
def test_rows_around_the_direct_tile(rng, n, width):
    """float32 dense steps run the packed direct tiles for blocks of at least a tile's rows
    (8 with AVX-512, 3 with AVX2) and BLAS below: both give the float64 answer."""
    steps = [("dense", rng.normal(size=(784, width)) / 28, rng.normal(size=width), 0, 0.0),
             ("dense", rng.normal(size=(width, 10)), None, kch.STEP_SOFTMAX, 0.0),
             ("dense", rng.normal(size=(10, width)), rng.normal(size=width), 5, 0.0)]
    ch = kch.DenseChain(steps, np.float32)
    x = rng.normal(size=(n, 784)).astype(np.float32)
    np.testing.assert_allclose(ch.run(x, 1), _ref(steps, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_independent_of_threads(rng, dtype):
    steps = [("dense", rng.normal(size=(64, 128)) / 8, rng.normal(size=128), 15, 0.0),
             ("dense", rng.normal(size=(128, 10)) / 8, None, kch.STEP_SOFTMAX, 0.0)]
    ch = kch.DenseChain(steps, dtype)
    x = rng.normal(size=(2000, 64)).astype(dtype)
    a, b = ch.run(x, n_threads=1), ch.run(x, n_threads=2)
    np.testing.assert_allclose(a, b, **_tol(dtype))
    np.testing.assert_allclose(a, _ref(steps, x), **_tol(dtype))


def test_empty_batch():
    ch = kch.DenseChain([("dense", np.ones((3, 2)), None, 0, 0.0)], np.float32)
    y = ch.run(np.zeros((0, 3), np.float32))
    assert y.shape == (0, 2) and y.dtype == np.float32


def test_bad_construction():
    w = np.ones((3, 2))
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        kch.DenseChain([("dense", w, None, 0, 0.0)], np.float32, device="tpu")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        kch.DenseChain([("dense", w, None, 0, 0.0)], np.int32)
    with pytest.raises(ValueError, match="no steps"):
        kch.DenseChain([], np.float32)
    with pytest.raises(ValueError, match="step 0: a dense weight must be 2-D"):
        kch.DenseChain([("dense", np.ones(3), None, 0, 0.0)], np.float32)
    with pytest.raises(ValueError, match="step 0: affine scales must be 1-D"):
        kch.DenseChain([("affine", w, None, 0, 0.0)], np.float32)
    with pytest.raises(ValueError, match="step 0: unknown kind 'conv'"):
        kch.DenseChain([("conv", w, None, 0, 0.0)], np.float32)
    with pytest.raises(ValueError, match="step 1: takes 4 features, the previous step gives 2"):
        kch.DenseChain([("dense", w, None, 0, 0.0), ("dense", np.ones((4, 1)), None, 0, 0.0)],
                       np.float32)
    with pytest.raises(ValueError, match="step 0: the bias must have 2 values"):
        kch.DenseChain([("dense", w, np.ones(3), 0, 0.0)], np.float32)
    with pytest.raises((TypeError, ValueError)):
        kch.DenseChain([("dense", w, None, 0)], np.float32)  # a 4-tuple step


@pytest.mark.parametrize("act", [len(ACTS), 99, -3])
def test_out_of_range_activation_is_refused(act):
    ch = kch.DenseChain([("dense", np.ones((3, 2)), None, act, 0.0)], np.float64)
    with pytest.raises(KernelValueError) as e:
        ch.run(np.ones((2, 3)))
    assert e.value.status is Status.BAD_ARG and e.value.function == "fk_dense_chain"


def test_bad_run_input():
    ch = kch.DenseChain([("dense", np.ones((3, 2)), None, 0, 0.0)], np.float32)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\), got \(2, 4\)"):
        ch.run(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"shape \(batch, 3\), got \(3,\)"):
        ch.run(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        ch.run(np.ones((2, 3)))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        ch.run(np.ones((3, 2), np.float32).T)
    with pytest.raises(TypeError):
        ch.run([[1.0, 2.0, 3.0]])
