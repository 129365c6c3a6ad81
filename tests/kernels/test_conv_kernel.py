"""Convolution/pooling: determinism across threads, the seed examples, bad input."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops
from fastkeras._kernels import conv as kc
from fastkeras._kernels import pool as kp


def _conv_all(x, w, b, strides, padding, groups_kernel=None):
    v, k = fk.Variable(x), fk.Variable(w if groups_kernel is None else groups_kernel)
    bb = fk.Variable(b)
    with fk.GradientTape() as tape:
        y = ops.conv(v, k, strides, padding, bias=bb)
        loss = ops.sum(y * y)
    return [y.numpy()] + [g.numpy() for g in tape.gradient(loss, [v, k, bb])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups", [1, 2, 8])
def test_identical_for_1_and_2_threads(rng, dtype, groups):
    x = rng.normal(size=(9, 17, 15, 8)).astype(dtype)
    w = rng.normal(size=(3, 3, 8 // groups, 16)).astype(dtype)
    b = rng.normal(size=16).astype(dtype)
    before = fk.config.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            fk.config.set_num_threads(n)
            res = _conv_all(x, w, b, 1, "same")
            xp = fk.Variable(x)
            with fk.GradientTape() as tape:
                y = ops.max_pool(xp, 3, 2, "same") + ops.average_pool(xp, 2, 1, "valid")[:, :9, :8]
                loss = ops.sum(y * y)
            res += [y.numpy(), tape.gradient(loss, xp).numpy()]
            results.append(res)
        for r in results[1:]:
            for a, b_ in zip(r, results[0]):
                assert np.array_equal(a, b_)
    finally:
        fk.config.set_num_threads(before)


def test_seed_conv_shapes():
    """../shared/seeds/001 sections 3.6-3.8 (the layers' shapes, at the op level)."""
    rng = np.random.default_rng(0)
    k3 = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
    x = rng.normal(size=(4, 28, 28, 3)).astype(np.float32)
    assert ops.conv(x, k3).shape == (4, 26, 26, 2)
    assert ops.conv(x, k3, dilation_rate=2).shape == (4, 24, 24, 2)
    assert ops.conv(x, k3, padding="same").shape == (4, 28, 28, 2)
    assert ops.conv(rng.normal(size=(4, 7, 28, 28, 3)), k3).shape == (4, 7, 26, 26, 2)
    k1 = rng.normal(size=(3, 128, 32))
    assert ops.conv(rng.normal(size=(4, 10, 128)), k1).shape == (4, 8, 32)
    assert ops.conv(rng.normal(size=(4, 7, 10, 128)), k1).shape == (4, 7, 8, 32)
    k3d = rng.normal(size=(3, 3, 3, 1, 2))
    assert ops.conv(rng.normal(size=(4, 28, 28, 28, 1)), k3d).shape == (4, 26, 26, 26, 2)
    assert ops.conv(rng.normal(size=(4, 7, 28, 28, 28, 1)), k3d).shape == (4, 7, 26, 26, 26, 2)
    # 3.5: Conv2D(64, 3, 3) on (3, 32, 32) channels_last -> (1, 10, 64)
    assert ops.conv(np.zeros((1, 3, 32, 32)), np.zeros((3, 3, 32, 64)), 3).shape == (1, 1, 10, 64)


def test_seed_max_pooling_printed_tensors():
    """../shared/seeds/001 section 3.9: the exact printed results."""
    x = np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], np.float32).reshape(1, 3, 3, 1)
    y = ops.max_pool(x, (2, 2), (1, 1), "valid")
    assert y.shape == (1, 2, 2, 1) and y.dtype == np.float32
    assert y.numpy().reshape(2, 2).tolist() == [[5.0, 6.0], [8.0, 9.0]]
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    y = ops.max_pool(x, (2, 2), (2, 2), "valid")
    assert y.numpy().reshape(2, 2).tolist() == [[6.0, 8.0], [14.0, 16.0]]
    assert "shape=(1, 2, 2, 1), dtype=float32" in repr(y)


def test_same_average_pooling_excludes_padding():
    x = np.ones((1, 3, 3, 1), np.float32)
    y = ops.average_pool(x, 2, 2, "same").numpy()
    assert y.shape == (1, 2, 2, 1) and np.all(y == 1.0)


@pytest.mark.parametrize("call,message", [
    (lambda: ops.conv(np.zeros((1, 4, 4, 3)), np.zeros((5, 5, 3, 2))), "larger than the input"),
    (lambda: ops.conv(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 3, 2)), dilation_rate=2),
     "larger than the input"),
    (lambda: ops.conv(np.zeros((1, 4, 4, 3)), np.zeros((2, 2, 3, 2)), strides=0),
     "`strides` values must be >= 1"),
    (lambda: ops.conv(np.zeros((1, 4, 4, 3)), np.zeros((2, 2, 3, 2)), strides=-1),
     "`strides` values must be >= 1"),
    (lambda: ops.conv(np.zeros((1, 4, 4, 3)), np.zeros((2, 2, 3, 2)), dilation_rate=0),
     "`dilation_rate` values must be >= 1"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 3, 2)), strides=2, dilation_rate=2),
     "`strides` > 1 is not supported together with `dilation_rate` > 1"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 6)), np.zeros((2, 2, 4, 2))), "does not divide"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 2, 2))), "does not divide"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 4)), np.zeros((2, 2, 2, 3))), "not divisible by groups"),
    (lambda: ops.conv(np.zeros((8, 8, 3)), np.zeros((2, 2, 3, 2))), "must have rank >= 4"),
    (lambda: ops.conv(np.zeros((1, 8, 3)), np.zeros((2, 2))), "`kernel` must have rank 3, 4 or 5"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 3, 2)), padding="full"),
     "`padding` must be 'valid' or 'same'"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 3, 2)), padding="causal"),
     "`padding` must be 'valid' or 'same'"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 3, 2)), data_format="NHWC"),
     "`data_format` must be"),
    (lambda: ops.conv(np.zeros((1, 8, 8, 3)), np.zeros((2, 2, 3, 2)), bias=np.zeros(3)),
     "`bias` must have shape \\(2,\\)"),
    (lambda: ops.conv(np.array([["a"]]), np.zeros((2, 2, 3, 2))), "`inputs` must hold numbers"),
    (lambda: ops.conv(np.zeros((1, 0, 8, 3)), np.zeros((2, 2, 3, 2))), "empty spatial dimension"),
    (lambda: ops.max_pool(np.zeros((1, 2, 2, 1)), 3), "larger than the input"),
    (lambda: ops.max_pool(np.zeros((1, 4, 4, 1)), 2, 0), "`strides` values must be >= 1"),
    (lambda: ops.max_pool(np.zeros((4, 4)), 2), "must have rank 3, 4 or 5"),
    (lambda: ops.average_pool(np.zeros((1, 4, 4, 1)), (2, 2, 2, 2)), "`pool_size` must have 1, 2 or 3"),
    (lambda: ops.average_pool(np.zeros((1, 4, 4, 1)), (2, 2), padding="causal"), "`padding` must be"),
])
def test_bad_input_messages(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_empty_batch_gives_empty_output():
    y = ops.conv(np.zeros((0, 5, 5, 3), np.float32), np.zeros((3, 3, 3, 2), np.float32))
    assert y.shape == (0, 3, 3, 2)


def test_kernel_level_checks_refuse_inconsistent_sizes():
    geom = {"n": 1, "in": (1, 4, 4), "out": (1, 3, 3), "k": (1, 2, 2), "stride": (1, 1, 1),
            "dil": (1, 1, 1), "pad": (0, 0, 0), "cin": 3, "cout": 2, "groups": 1}
    x, w, y = np.zeros(48, np.float32), np.zeros(24, np.float32), np.zeros(18, np.float32)
    kc.forward(geom, x, w, None, y)
    with pytest.raises(ValueError, match="x has 47 elements, expected 48"):
        kc.forward(geom, x[:47], w, None, y)
    with pytest.raises(ValueError, match="fk_conv_check: invalid shape"):
        kc.forward(dict(geom, groups=2), x, w, None, y)
    with pytest.raises(ValueError, match="fk_conv_check: invalid argument"):
        kc.forward(dict(geom, stride=(1, 0, 1)), x, w, None, y)
    with pytest.raises(ValueError, match="fk_conv_check: invalid shape"):
        kc.forward(dict(geom, k=(1, 2**40, 2**40)), x, w, None, y)
    # window positions that would overflow int64 (found by the UBSan replay of the atheris
    # corpus: k * dilation with dilation 2**62)
    for bad in (dict(dil=(1, 2**62, 1)), dict(stride=(1, 2**62, 1)), dict(pad=(0, 2**62, 0))):
        with pytest.raises(ValueError, match="fk_conv_check: invalid shape"):
            kc.forward(dict(geom, **bad), x, w, None, y)
    pgeom = {"n": 1, "in": (1, 4, 4), "out": (1, 3, 3), "k": (1, 2, 2), "stride": (1, 2**62, 1),
             "pad": (0, 0, 0), "c": 3}
    with pytest.raises(ValueError, match="fk_pool_check: invalid shape"):
        kp.avg_forward(pgeom, x, np.zeros(27, np.float32))


def test_blas_is_reported():
    assert "OpenBLAS" in kc.blas_name() or "BLAS" in kc.blas_name()


@pytest.mark.parametrize("nd,vals,k,s,expected", [
    (1, [1, 1, 2, 2], 2, 2, [1, 0, 1, 0]),   # 1-D/2-D: the first maximum takes the gradient
    (2, [1, 1, 1, 1], 3, 1, [1, 1, 0, 0]),
    (3, [1, 1, 2, 2], 2, 2, [1, 1, 1, 1]),   # 3-D: every tied maximum does (TensorFlow's rule)
    (3, [1, 1, 1, 1], 3, 1, [1, 2, 2, 1]),
])
def test_max_pool_tie_rules_match_tensorflow(nd, vals, k, s, expected):
    x = fk.Variable(np.array(vals, np.float32).reshape((1,) + (1,) * (nd - 1) + (4, 1)))
    with fk.GradientTape() as tape:
        y = ops.max_pool(x, (1,) * (nd - 1) + (k,), (1,) * (nd - 1) + (s,))
        loss = ops.sum(y)
    assert tape.gradient(loss, x).numpy().ravel().tolist() == expected


def _direct_conv2d(x, w, pad):
    """Reference 2-D correlation in float64 (NHWC, 'valid' after explicit padding)."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw = w.shape[:2]
    ho, wo = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    return sum(np.einsum("nhwc,co->nhwo", xp[:, a:a + ho, b:b + wo, :], w[a, b].astype(np.float64))
               for a in range(kh) for b in range(kw))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding,shape", [("same", (3, 9, 7)), ("valid", (2, 8, 11)),
                                           ("same", (1, 1, 1)), ("same", (2, 2, 5))])
def test_winograd_path_matches_direct_products(rng, dtype, padding, shape, winograd_always):
    """3x3 stride-1 2-D convolutions with >= 8 channels take the Winograd F(2x2,3x3) path,
    forward and input gradient; compare both with float64 direct products."""
    n, h, w_ = shape
    x = rng.normal(size=(n, h, w_, 8)).astype(dtype)
    k = rng.normal(size=(3, 3, 8, 12)).astype(dtype)
    pad = 1 if padding == "same" else 0
    v = fk.Variable(x)
    dy = rng.normal(size=_direct_conv2d(x, k, pad).shape)
    with fk.GradientTape() as tape:
        y = ops.conv(v, k, 1, padding)
    gx = tape.gradient(y, v, output_gradients=[dy]).numpy()
    ref = _direct_conv2d(x, k, pad)
    # input gradient = correlation of dy with the flipped, transposed kernel
    ref_gx = _direct_conv2d(dy, k[::-1, ::-1].transpose(0, 1, 3, 2), 2 - pad)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), ref, **tol)
    np.testing.assert_allclose(gx, ref_gx, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding,shape", [("same", (3, 9, 7)), ("valid", (9, 8, 11)),
                                           ("same", (1, 1, 1)), ("same", (2, 2, 5))])
def test_winograd_kernel_gradient_matches_direct_products(rng, dtype, padding, shape,
                                                         winograd_always):
    n, h, w_ = shape
    x = rng.normal(size=(n, h, w_, 8)).astype(dtype)
    k = rng.normal(size=(3, 3, 8, 12)).astype(dtype)
    b = rng.normal(size=12).astype(dtype)
    pad = 1 if padding == "same" else 0
    dy = rng.normal(size=_direct_conv2d(x, k, pad).shape)
    vk, vb = fk.Variable(k), fk.Variable(b)
    with fk.GradientTape() as tape:
        y = ops.conv(x, vk, 1, padding, bias=vb)
    gk, gb = (g.numpy() for g in tape.gradient(y, [vk, vb], output_gradients=[dy]))
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ho, wo = dy.shape[1:3]
    ref = np.stack([np.stack([np.einsum("nhwc,nhwo->co", xp[:, a:a + ho, c:c + wo], dy)
                              for c in range(3)]) for a in range(3)])
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(gk, ref, **tol)
    np.testing.assert_allclose(gb, dy.sum(axis=(0, 1, 2)), **tol)


def test_convolution_algorithm_is_chosen_per_call_not_globally(rng):
    """The product algorithm travels in the geometry (no global state in C): im2col and
    Winograd agree to rounding, the choice ends with the block, bad names are refused."""
    from fastkeras.ops.convolution import ConvAlgorithm, conv_geometry, convolution_algorithm
    from fastkeras._kernels import conv as _kc

    x = rng.normal(size=(2, 6, 6, 8))
    k = rng.normal(size=(3, 3, 8, 8))
    outs = {}
    for algo in ("im2col", "winograd", ConvAlgorithm.AUTO):
        with convolution_algorithm(algo):
            assert conv_geometry(2, (6, 6), 8, k.shape, (1, 1), "same", (1, 1))[0]["algo"] == \
                int(ConvAlgorithm[algo.upper()] if isinstance(algo, str) else algo)
            outs[str(algo)] = ops.conv(x, k, 1, "same").numpy()
    assert conv_geometry(2, (6, 6), 8, k.shape, (1, 1), "same", (1, 1))[0]["algo"] == 0
    np.testing.assert_allclose(outs["winograd"], outs["im2col"], rtol=1e-12, atol=1e-12)
    assert not np.array_equal(outs["winograd"], outs["im2col"])  # two distinct paths ran
    with pytest.raises(ValueError, match="`algorithm` must be one of"):
        with convolution_algorithm("fft"):
            pass
    geom = dict(conv_geometry(1, (6, 6), 8, k.shape, (1, 1), "same", (1, 1))[0], algo=7)
    with pytest.raises(ValueError, match="fk_conv_check: invalid argument value"):
        _kc.forward(geom, np.zeros(6 * 6 * 8), np.zeros(k.size), None, np.zeros(6 * 6 * 8))
