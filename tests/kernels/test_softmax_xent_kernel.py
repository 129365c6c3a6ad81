"""The fused kernel itself: determinism across threads and SIMD paths, properties."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import fastkeras as fk
from fastkeras._kernels import softmax_xent as kx


def _run_all(x, y, t, n_threads):
    out = []
    for from_logits in (True, False):
        xx = x if from_logits else np.abs(x) + 0.01
        out.append(kx.sparse(xx, y, want_grad=True, from_logits=from_logits, n_threads=n_threads))
        out.append(kx.dense(xx, t, want_grad=True, from_logits=from_logits, label_smoothing=0.1,
                            n_threads=n_threads))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_for_1_and_2_threads(rng, dtype):
    n, c = 512, 700  # large enough to run parallel (above the grain size)
    x = rng.normal(size=(n, c)).astype(dtype) * 4
    y = rng.integers(0, c, size=n)
    t = rng.uniform(size=(n, c)).astype(dtype)
    for a, b in zip(_run_all(x, y, t, 1), _run_all(x, y, t, 2)):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_set_num_threads_keeps_results_identical(rng):
    x = rng.normal(size=(300, 1000)).astype(np.float32)
    y = rng.integers(0, 1000, size=300)
    before = fk.config.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            fk.config.set_num_threads(n)
            v = fk.Variable(x)
            with fk.GradientTape() as tape:
                loss = fk.losses.SparseCategoricalCrossentropy(from_logits=True)(y, v)
            results.append((loss.numpy(), tape.gradient(loss, v).numpy()))
        for r in results[1:]:
            assert r[0] == results[0][0] and np.array_equal(r[1], results[0][1])
    finally:
        fk.config.set_num_threads(before)


_SIMD_SCRIPT = r"""
import json, sys, numpy as np
from fastkeras._kernels import softmax_xent as kx, _core
rng = np.random.default_rng(3)
x = (rng.normal(size=(37, 1003)) * 5).astype(np.float32)
x[0, :5] = -200.0  # deep underflow lanes
y = rng.integers(0, 1003, size=37)
loss, grad = kx.sparse(x, y, want_grad=True)
np.save(sys.argv[1], np.concatenate([loss, grad.ravel()]))
print(json.dumps(_core.build_facts()["simd"]))
"""


def test_every_simd_path_agrees(tmp_path):
    """FASTKERAS_SIMD caps the dispatch: scalar, AVX2 and AVX-512 give the same numbers."""
    results = {}
    for level in ("scalar", "avx2", "avx512"):
        out = tmp_path / f"{level}.npy"
        env = dict(os.environ, FASTKERAS_SIMD=level)
        proc = subprocess.run([sys.executable, "-c", _SIMD_SCRIPT, str(out)], env=env,
                              capture_output=True, text=True, check=True)
        used = json.loads(proc.stdout.strip().splitlines()[-1])
        results[used] = np.load(out)
    assert "scalar" in results
    ref = results["scalar"]
    for level, r in results.items():
        np.testing.assert_allclose(r, ref, rtol=2e-6, atol=1e-9, err_msg=level)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    c=st.integers(1, 70),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_properties_random_shapes(data, n, c, dtype):
    x = data.draw(hnp.arrays(dtype, (n, c), elements=st.floats(-30, 30, width=32)))
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    loss, grad = kx.sparse(x, y, want_grad=True)
    assert np.all(loss >= -1e-6) and np.all(np.isfinite(loss))
    # each gradient row is softmax - onehot: sums to 0, within [-1, 1]
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-5)
    assert np.all(grad <= 1 + 1e-6) and np.all(grad >= -1 - 1e-6)
    # forward-only and fused forward+backward agree bit for bit
    loss_only, _ = kx.sparse(x, y)
    assert np.array_equal(loss_only, loss)
    # reference in float64
    xd = x.astype(np.float64)
    m = xd.max(1, keepdims=True)
    ref = (m[:, 0] + np.log(np.exp(xd - m).sum(1))) - xd[np.arange(n), y]
    np.testing.assert_allclose(loss, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_read_only_inputs_are_accepted(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    x.setflags(write=False)
    y = np.array([0, 1, 2, 0])
    y.setflags(write=False)
    out = fk.losses.sparse_categorical_crossentropy(y, x, from_logits=True)
    assert out.shape == (4,)


def test_non_contiguous_inputs_are_copied(rng):
    x = rng.normal(size=(4, 6)).astype(np.float64)[:, ::2]
    y = np.array([0, 1, 2, 0])
    out = fk.losses.sparse_categorical_crossentropy(y, x, from_logits=True).numpy()
    ref = fk.losses.sparse_categorical_crossentropy(y, np.ascontiguousarray(x),
                                                    from_logits=True).numpy()
    assert np.array_equal(out, ref)


def test_float16_inputs_computed_in_float32(rng):
    x = rng.normal(size=(5, 4)).astype(np.float16)
    y = np.array([0, 1, 2, 3, 0])
    out = fk.losses.sparse_categorical_crossentropy(y, x, from_logits=True)
    assert out.dtype == np.float16
    ref = fk.losses.sparse_categorical_crossentropy(y, x.astype(np.float32), from_logits=True)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-3)


@pytest.mark.parametrize("dense", [False, True])
def test_streaming_path_matches_in_place_path(rng, dense):
    """Gradients >= 8 MB are written with streaming stores from an L1 scratch;
    the numbers must be bit-identical to the in-place path used for small calls."""
    n, c = 2200, 1001  # 8.8 MB of float32 gradient, odd row length (unaligned rows)
    x = (rng.normal(size=(n, c)) * 4).astype(np.float32)
    y = rng.integers(0, c, size=n)
    w = rng.uniform(size=n).astype(np.float32)
    if dense:
        t = rng.uniform(size=(n, c)).astype(np.float32)
        big = kx.dense(x, t, w, want_grad=True, label_smoothing=0.1, n_threads=2)
        small = [kx.dense(x[i:i + 50], t[i:i + 50], w[i:i + 50], want_grad=True,
                          label_smoothing=0.1) for i in range(0, n, 50)]
    else:
        big = kx.sparse(x, y, w, want_grad=True, label_smoothing=0.1, n_threads=2)
        small = [kx.sparse(x[i:i + 50], y[i:i + 50], w[i:i + 50], want_grad=True,
                           label_smoothing=0.1) for i in range(0, n, 50)]
    assert np.array_equal(big[0], np.concatenate([s[0] for s in small]))
    assert np.array_equal(big[1], np.concatenate([s[1] for s in small]))
