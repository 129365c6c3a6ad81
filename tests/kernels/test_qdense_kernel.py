"""The int8 dense step of the inference chain (csrc/qdense.c, chain.QuantizedDense) and the
int8 convolution (csrc/qconv.c, ConvPlan(int8_x_scale=...)) against an independent NumPy
quantisation (per-column weight scales, static and per-row / per-image input scales, every
activation after it); the AVX-512 VNNI and portable kernels give the same bits, threads
change nothing, NaN / inf rows give NaN, bad weights and scales are refused."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastkeras._kernels import chain as kch

from _activation_refs import ACTS  # tests/ is on sys.path (its conftest.py)
from _conv_refs import CASES, geometry, reference

F32 = np.float32


def _q_reference(x, w, b, x_scale):
    """float64 value of the int8 step, quantised independently in NumPy (float32 scales as
    the kernel computes them)."""
    ws = (np.abs(w).max(axis=0) / F32(127)).astype(F32)
    ws[ws == 0] = 1
    wq = np.clip(np.rint(w / ws), -127, 127)
    if x_scale:
        xs = np.full((len(x), 1), x_scale, F32)
    else:
        xs = (np.abs(x).max(axis=1, keepdims=True) / F32(127)).astype(F32)
        xs[xs == 0] = 1
    xq = np.clip(np.rint(x * (F32(1) / xs)), -127, 127)
    out = (xq.astype(np.float64) @ wq) * ws.astype(np.float64) * xs.astype(np.float64)
    return out + (0 if b is None else b.astype(np.float64))


SHAPES = [(1, 784, 128), (32, 784, 64), (5, 3, 1), (9, 17, 33), (13, 64, 10), (8, 1, 16),
          (17, 5, 48), (3, 130, 31)]


@pytest.mark.parametrize("n,k,m", SHAPES)
@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_int8_step_matches_numpy_quantisation(n, k, m, static, with_bias):
    rng = np.random.default_rng(n * 1000 + k + m)
    w = rng.standard_normal((k, m)).astype(F32)
    b = rng.standard_normal(m).astype(F32) if with_bias else None
    x = (rng.standard_normal((n, k)) * 2).astype(F32)
    x_scale = float(np.abs(x).max() / 127 * 0.8) if static else 0.0  # static: some saturate
    q = kch.QuantizedDense(w, x_scale)
    y = kch.DenseChain([("dense_int8", q, b, -1, 0.0)], F32).run(x, 1)
    ref = _q_reference(x, w, b, F32(x_scale))
    np.testing.assert_allclose(y, ref, rtol=2e-6, atol=2e-6 * np.abs(ref).max())
    np.testing.assert_allclose(q.scales, np.abs(w).max(axis=0) / F32(127), rtol=1e-7)


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
def test_int8_step_then_every_activation(name, fn):
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((20, 24)).astype(F32), rng.standard_normal(24).astype(F32)
    x = rng.standard_normal((7, 20)).astype(F32)
    code = ACTS.index((name, fn))
    y = kch.DenseChain([("dense_int8", kch.QuantizedDense(w), b, code, 0.2)], F32).run(x, 1)
    np.testing.assert_allclose(y, fn(_q_reference(x, w, b, 0.0), 0.2), rtol=1e-5, atol=1e-5)


def test_int8_chain_with_float_steps_and_softmax():
    rng = np.random.default_rng(4)
    w1, w2 = rng.standard_normal((10, 12)).astype(F32), rng.standard_normal((12, 4)).astype(F32)
    scale, shift = rng.random(12).astype(F32) + 0.5, rng.standard_normal(12).astype(F32)
    x = rng.standard_normal((6, 10)).astype(F32)
    steps = [("dense_int8", kch.QuantizedDense(w1), None, 0, 0.0),  # relu
             ("affine", scale, shift, -1, 0.0),
             ("dense_int8", kch.QuantizedDense(w2), None, kch.STEP_SOFTMAX, 0.0)]
    y = kch.DenseChain(steps, F32).run(x, 1)
    h = np.maximum(_q_reference(x, w1, None, 0.0), 0) * scale + shift
    z = _q_reference(h.astype(F32), w2, None, 0.0)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_threads_give_the_same_bits():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((300, 200)).astype(F32)
    x = rng.standard_normal((257, 300)).astype(F32)
    c = kch.DenseChain([("dense_int8", kch.QuantizedDense(w), None, 0, 0.0)], F32)
    assert np.array_equal(c.run(x, 1), c.run(x, 2))


def test_nonfinite_rows_give_nan_rows():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((9, 5)).astype(F32)
    x = rng.standard_normal((4, 9)).astype(F32)
    x[1, 3], x[2, 0] = np.nan, np.inf
    for scale in (0.0, 0.05):
        y = kch.DenseChain([("dense_int8", kch.QuantizedDense(w, scale), None, -1, 0.0)],
                           F32).run(x, 1)
        assert np.isnan(y[1]).all() and np.isnan(y[2]).all()
        assert np.isfinite(y[[0, 3]]).all()


def test_zero_rows_and_columns_and_empty_batch():
    w = np.zeros((6, 3), F32)
    w[:, 1] = 1
    c = kch.DenseChain([("dense_int8", kch.QuantizedDense(w), np.ones(3, F32), -1, 0.0)], F32)
    y = c.run(np.zeros((2, 6), F32), 1)
    np.testing.assert_array_equal(y, np.ones((2, 3), F32))
    assert c.run(np.zeros((0, 6), F32), 1).shape == (0, 3)


_BITS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from fastkeras._kernels import chain as kch
    rng = np.random.default_rng(11)
    out = []
    for n, k, m, s in [(1, 784, 128, 0.0), (33, 784, 100, 0.03), (5, 3, 1, 0.0),
                       (9, 17, 33, 0.5), (17, 5, 48, 0.0), (8, 1, 16, 0.0)]:
        w = rng.standard_normal((k, m)).astype(np.float32)
        b = rng.standard_normal(m).astype(np.float32)
        x = (rng.standard_normal((n, k)) * 2).astype(np.float32)
        c = kch.DenseChain([("dense_int8", kch.QuantizedDense(w, s), b, 0, 0.0)], np.float32)
        out.append(c.run(x, 1))
    from fastkeras.ops.convolution import conv_geometry
    g, o = conv_geometry(3, (8, 8), 5, (3, 3, 5, 40), (1, 1), "same", (1, 1))
    g["in_shape"], g["out_shape"] = (8, 8, 5), tuple(o) + (40,)
    w = rng.standard_normal((3, 3, 5, 40)).astype(np.float32)
    x = rng.standard_normal((3, 8, 8, 5)).astype(np.float32)
    for s in (0.0, 0.02):
        out.append(kch.ConvPlan(g, w, None, 0, 0.0, np.float32, int8_x_scale=s).run(x, 1))
    np.savez(sys.argv[1], *out)
    print(kch.qdense_kernel())
""")


def test_vnni_and_portable_kernels_give_the_same_bits(tmp_path):
    if kch.qdense_kernel() != "avx512_vnni":
        pytest.skip("this CPU has no AVX-512 VNNI: only the portable kernel runs here")
    script = tmp_path / "bits.py"
    script.write_text(_BITS_SCRIPT)
    results = {}
    for simd in ("avx512", "scalar"):
        env = dict(os.environ, FASTKERAS_SIMD=simd)
        out = tmp_path / f"{simd}.npz"
        done = subprocess.run([sys.executable, str(script), str(out)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        results[done.stdout.strip()] = np.load(out)
    assert set(results) == {"avx512_vnni", "portable"}
    a, b = results["avx512_vnni"], results["portable"]
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key


def test_quantized_dense_refuses_bad_weights_and_scales():
    with pytest.raises(ValueError, match="NaN or infinite"):
        kch.QuantizedDense(np.array([[1.0, np.inf]], F32))
    with pytest.raises(ValueError, match="non-empty"):
        kch.QuantizedDense(np.zeros(4, F32))
    with pytest.raises(ValueError, match="non-empty"):
        kch.QuantizedDense(np.zeros((0, 4), F32))
    with pytest.raises(ValueError, match="at most 65536"):
        kch.QuantizedDense(np.zeros((65537, 1), F32))
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="x_scale"):
            kch.QuantizedDense(np.ones((2, 2), F32), bad)
    q = kch.QuantizedDense(np.ones((2, 2), F32))
    with pytest.raises(ValueError, match="takes a QuantizedDense"):
        kch.DenseChain([("dense_int8", np.ones((2, 2), F32), None, -1, 0.0)], F32)
    with pytest.raises(ValueError, match="float32 chains"):
        kch.DenseChain([("dense_int8", q, None, -1, 0.0)], np.float64)
    with pytest.raises(ValueError, match="takes 3 features"):
        kch.DenseChain([("dense", np.ones((2, 2), F32), None, -1, 0.0),
                        ("dense_int8", kch.QuantizedDense(np.ones((3, 2), F32)), None, -1,
                         0.0)], F32)
    assert not q.packed.flags.writeable


def _wq(w2d):
    ws = (np.abs(w2d).max(axis=0) / F32(127)).astype(F32)
    ws[ws == 0] = 1
    return np.clip(np.rint(w2d / ws), -127, 127), ws


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}x{c[1]}->{c[2]}k{c[3]}"
                         f"s{c[4]}{c[5]}d{c[6]}")
@pytest.mark.parametrize("static", [False, True])
def test_int8_conv_matches_numpy_quantisation(case, static):
    spatial, cin, cout, k, strides, padding, dil = case
    n = 3
    rng = np.random.default_rng(sum(spatial) * 100 + cin + cout)
    geom = geometry(n, spatial, cin, cout, k, strides, padding, dil)
    w = rng.standard_normal(tuple(k) + (cin, cout)).astype(F32)
    b = rng.standard_normal(cout).astype(F32)
    x = rng.standard_normal((n,) + tuple(spatial) + (cin,)).astype(F32)
    x_scale = F32(np.abs(x).max() / 127 * 0.9) if static else F32(0)
    plan = kch.ConvPlan(geom, w, b, -1, 0.0, F32, int8_x_scale=float(x_scale))
    assert plan.algorithm == "int8"
    y = plan.run(x, 1)
    wq, ws = _wq(w.reshape(-1, cout))
    if static:
        xs = np.full(n, x_scale, F32)
    else:
        xs = (np.abs(x.reshape(n, -1)).max(axis=1) / F32(127)).astype(F32)
    shape = (n,) + (1,) * len(spatial) + (1,)
    xq = np.clip(np.rint(x * (F32(1) / xs).reshape(shape)), -127, 127)
    integer = reference(geom, xq, wq.reshape(w.shape), None)
    want = integer * ws.astype(np.float64) * xs.astype(np.float64).reshape(shape) + b
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=2e-6 * np.abs(want).max())
    if not static:  # (the static scale above saturates the largest inputs on purpose)
        exact = reference(geom, x, w, b)  # within the quantisation error of float32's
        assert np.abs(y - exact).max() <= 0.05 * np.abs(exact).max()


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
def test_int8_conv_then_every_activation(name, fn):
    rng = np.random.default_rng(8)
    geom = geometry(2, (6, 5), 3, 20, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 3, 20)).astype(F32)
    b = rng.standard_normal(20).astype(F32)
    x = rng.standard_normal((2, 6, 5, 3)).astype(F32)
    code = ACTS.index((name, fn))
    lin = kch.ConvPlan(geom, w, b, -1, 0.0, F32, int8_x_scale=0.0).run(x, 1)
    y = kch.ConvPlan(geom, w, b, code, 0.3, F32, int8_x_scale=0.0).run(x, 1)
    np.testing.assert_allclose(y, fn(lin.astype(np.float64), 0.3), rtol=1e-5, atol=1e-5)


def test_int8_conv_threads_nan_images_empty_batch_and_refusals():
    rng = np.random.default_rng(9)
    geom = geometry(40, (8, 8), 4, 32, (3, 3), (1, 1), "same", (1, 1))
    w = rng.standard_normal((3, 3, 4, 32)).astype(F32)
    x = rng.standard_normal((40, 8, 8, 4)).astype(F32)
    x[5, 2, 3, 1], x[7, 0, 0, 0] = np.nan, -np.inf
    plan = kch.ConvPlan(geom, w, None, 0, 0.0, F32, int8_x_scale=0.0)
    y1, y2 = plan.run(x, 1), plan.run(x, 2)
    np.testing.assert_array_equal(y1, y2)
    assert np.isnan(y1[[5, 7]]).all() and np.isfinite(np.delete(y1, [5, 7], axis=0)).all()
    assert plan.run(np.zeros((0, 8, 8, 4), F32), 1).shape == (0, 8, 8, 32)
    with pytest.raises(ValueError, match="int8 runs float32"):
        kch.ConvPlan(geom, w, None, 0, 0.0, np.float64, int8_x_scale=0.0)
    with pytest.raises(ValueError, match="int8 runs float32"):
        kch.ConvPlan(geom, w, None, kch.STEP_SOFTMAX, 0.0, F32, int8_x_scale=0.0)
    grouped = geometry(1, (6, 6), 4, 8, (3, 3), (1, 1), "same", (1, 1), groups=2)
    with pytest.raises(ValueError, match="int8 runs float32"):
        kch.ConvPlan(grouped, np.ones((3, 3, 2, 8), F32), None, -1, 0.0, F32, int8_x_scale=0.0)
    with pytest.raises(ValueError, match="x_scale"):
        kch.ConvPlan(geom, w, None, 0, 0.0, F32, int8_x_scale=-1.0)
