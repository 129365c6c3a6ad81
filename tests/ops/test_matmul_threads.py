"""ops.matmul on fastkeras' BLAS (ops/products.py, csrc/gemm.c, csrc/workers.c):
np.matmul's numbers and semantics, every thread count giving the same bits, gradients by
finite differences, errors naming the op, and NumPy's own BLAS pool held to
set_num_threads."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops
from fastkeras._kernels import gemm as _gemm
from fastkeras import _numpy_blas
from fastkeras.ops.products import matmul_array

import _gradcheck  # tests/ is on sys.path (its conftest.py)

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}

SHAPES = [
    ((3, 4), (4, 5)),
    ((128, 784), (784, 128)),      # cut into pieces of rows
    ((40, 64), (64, 700)),         # cut into pieces of columns
    ((784, 128), (128, 128)),
    ((4,), (4, 5)),                # 1-D operands
    ((3, 4), (4,)),
    ((6,), (6,)),
    ((2, 1, 4, 5), (3, 5, 6)),     # broadcast batches
    ((5, 4), (2, 3, 4, 7)),
    ((2, 3, 4), (4,)),
    ((0, 4), (4, 5)),              # empty dimensions
    ((3, 0), (0, 5)),
    ((3, 4), (4, 0)),
    ((0, 3, 4), (4, 2)),
    ((1, 1), (1, 1)),
]


@pytest.fixture
def threads():
    old = fk.config.get_num_threads()
    yield
    fk.config.set_num_threads(old)


def _rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _scale(ref):
    return max(1.0, float(np.max(np.abs(ref)))) if np.size(ref) else 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matches_numpy_and_is_the_same_for_every_thread_count(threads, dtype, sa, sb):
    a, b = _rand(sa, dtype, 0), _rand(sb, dtype, 1)
    ref = np.matmul(a, b)
    results = []
    for n in (1, 2, 3, 8):
        fk.config.set_num_threads(n)
        got = ops.matmul(a, b).numpy()
        assert got.shape == ref.shape and got.dtype == ref.dtype
        tol = TOL[dtype]
        np.testing.assert_allclose(got, ref, rtol=tol["rtol"], atol=tol["atol"] * _scale(ref))
        results.append(got)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_and_transposed_operands(dtype):
    base = _rand((30, 50), dtype, 2)
    cases = [
        (base.T, _rand((30, 20), dtype, 3)),               # transposed: read in place
        (base[::2, ::3], _rand((17, 9), dtype, 4)),         # strided both ways: copied
        (base[:, 5:25], _rand((20, 8), dtype, 5).T.copy().T),
        (np.swapaxes(_rand((3, 7, 5), dtype, 6), -1, -2), _rand((3, 7, 4), dtype, 7)),
        (np.broadcast_to(_rand((1, 6), dtype, 8), (5, 6)), _rand((6, 3), dtype, 9)),
        (base[::-1], _rand((50, 4), dtype, 10)),            # negative strides
        (_rand((4, 6, 8), dtype, 11)[:, ::2], _rand((8, 3), dtype, 12)),
    ]
    for a, b in cases:
        ref = np.matmul(a, b)
        got = matmul_array(a, b)
        tol = TOL[dtype]
        np.testing.assert_allclose(got, ref, rtol=tol["rtol"], atol=tol["atol"] * _scale(ref))


def test_mixed_and_non_float_dtypes_follow_numpy():
    a32, a64 = _rand((3, 4), np.float32, 0), _rand((4, 2), np.float64, 1)
    got = matmul_array(a32, a64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.matmul(a32, a64), rtol=1e-12)
    ai = np.arange(12, dtype=np.int32).reshape(3, 4)
    bi = np.arange(8, dtype=np.int64).reshape(4, 2)
    got = ops.matmul(ai, bi).numpy()
    assert got.dtype == np.matmul(ai, bi).dtype
    np.testing.assert_array_equal(got, np.matmul(ai, bi))
    ab = np.ones((2, 3), bool)
    np.testing.assert_array_equal(matmul_array(ab, ab.T), np.matmul(ab, ab.T))
    a16 = np.ones((2, 3), np.float16)
    assert matmul_array(a16, a16.T).dtype == np.float16


@pytest.mark.parametrize("sa,sb", [((3, 4), (5, 6)), ((4,), (5,)), ((2, 3, 4), (3, 4, 5)),
                                   ((3, 4), ()), ((), (4,)), ((2, 3), (2,))])
def test_bad_shapes_raise_value_error_naming_the_op(sa, sb):
    a, b = np.ones(sa, np.float32), np.ones(sb, np.float32)
    with pytest.raises(ValueError, match="ops.matmul"):
        ops.matmul(a, b)
    with pytest.raises(ValueError):
        np.matmul(a, b)


def test_int_bad_shapes_raise_naming_the_op():
    with pytest.raises(ValueError, match="ops.matmul"):
        ops.matmul(np.ones((2, 3), np.int64), np.ones((4, 2), np.int64))


GRAD_CASES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3, 4), (2, 4, 3)),
    ((20, 70), (70, 40)),
]


@pytest.mark.parametrize("sa,sb", GRAD_CASES)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradients_by_finite_differences(threads, sa, sb, n_threads):
    fk.config.set_num_threads(n_threads)
    a, b = _rand(sa, np.float64, 0), _rand(sb, np.float64, 1)
    _gradcheck.check(lambda v: ops.matmul(v, b), a, rtol=1e-6, atol=1e-6)
    _gradcheck.check(lambda v: ops.matmul(a, v), b, rtol=1e-6, atol=1e-6)


def test_pieces_depend_on_the_shape_only():
    assert _gemm.pieces(3, 4, 5) == 1
    assert _gemm.pieces(128, 128, 784) > 1
    assert _gemm.pieces(0, 5, 5) == 0
    assert _gemm.threads(3, 4, 5, 1, 8) == 1          # small products run on one thread
    assert _gemm.threads(128, 128, 784, 1, 1) == 1
    assert 1 < _gemm.threads(128, 128, 784, 1, 64) <= _gemm.pieces(128, 128, 784)


def test_set_num_threads_governs_numpys_blas_pool(threads):
    if not _numpy_blas.controlled():
        pytest.skip("NumPy is not built on an OpenBLAS fastkeras can find")
    fk.config.set_num_threads(1)
    assert _numpy_blas.get_threads() == 1
    ops.matmul(_rand((64, 64), np.float32, 0), _rand((64, 64), np.float32, 1))
    assert _numpy_blas.get_threads() == 1
    assert _gemm.blas_pool_threads() in (1, -1)  # the core's BLAS runs single-threaded calls
    fk.config.set_num_threads(2)
    assert _numpy_blas.get_threads() == 2
    try:
        import threadpoolctl
    except ImportError:
        return
    fk.config.set_num_threads(1)
    for info in threadpoolctl.threadpool_info():
        if info.get("internal_api") == "openblas" and \
                os.path.realpath(info["filepath"]) == os.path.realpath(_numpy_blas.library_path()):
            assert info["num_threads"] == 1


def test_environment_variable_sets_numpys_pool_at_import():
    if not _numpy_blas.controlled():
        pytest.skip("NumPy is not built on an OpenBLAS fastkeras can find")
    code = ("import fastkeras as fk; from fastkeras import _numpy_blas as b; "
            "print(fk.config.get_num_threads(), b.get_threads())")
    env = dict(os.environ, FASTKERAS_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["1", "1"]


def test_dense_inference_runs_on_the_same_products():
    x = _rand((7, 5), np.float32, 0)
    layer = fk.layers.Dense(3)
    y = layer(x).numpy()
    ref = x @ layer.kernel.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_concurrent_calls_from_python_threads(threads):
    import threading

    fk.config.set_num_threads(2)
    a, b = _rand((256, 300), np.float32, 0), _rand((300, 200), np.float32, 1)
    ref = matmul_array(a, b)
    errors = []

    def work():
        for _ in range(20):
            if not np.array_equal(matmul_array(a, b), ref):
                errors.append("mismatch")

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa, sb", [((4, 5), (5, 3)), ((2, 4, 5), (5, 3)), ((5,), (5, 3)),
                                    ((4, 5), (5,)), ((5,), (5,)), ((3, 1, 4, 5), (2, 5, 6))])
def test_matmul_array_into_out(dtype, sa, sb):
    """np.matmul's out: written in place (or through a temporary for a strided out)."""
    from fastkeras.ops.products import matmul_array

    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    want = np.matmul(a, b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    out = np.empty_like(want)
    assert matmul_array(a, b, out=out) is out
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    strided = np.zeros(want.shape + (2,), dtype)[..., 0]
    matmul_array(a, b, out=strided)
    np.testing.assert_allclose(strided, want, rtol=tol, atol=tol)
    wider = np.empty(want.shape, np.float64)  # another dtype: cast as np.matmul does
    matmul_array(a, b, out=wider)
    np.testing.assert_allclose(wider, want, rtol=tol, atol=tol)


def test_matmul_array_out_refusals_and_aliasing():
    from fastkeras._kernels import gemm
    from fastkeras.ops.products import matmul_array

    a, b = np.ones((4, 5), np.float32), np.ones((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"ops.matmul: out has shape \(4, 4\), expected \(4, 3\)"):
        matmul_array(a, b, out=np.empty((4, 4), np.float32))
    ro = np.empty((4, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        matmul_array(a, b, out=ro)
    with pytest.raises(TypeError, match="out must be a NumPy array, got list"):
        matmul_array(a, b, out=[[0.0] * 3] * 4)
    x = np.full((4, 4), 1.0, np.float32)
    matmul_array(x, x.copy(), out=x)  # out is an operand: through a temporary, as np.matmul
    np.testing.assert_array_equal(x, np.full((4, 4), 4.0, np.float32))
    with pytest.raises(ValueError, match="gemm.matmul: out overlaps an operand"):
        gemm.matmul(x, x.copy(), 1, out=x)
    with pytest.raises(ValueError, match=r"gemm.matmul: out must be a writeable C-contiguous "
                                         r"float32 array of shape \(4, 3\), got float64"):
        gemm.matmul(a, b, 1, out=np.empty((4, 3)))
