"""Convolution and pooling vs TensorFlow: outputs and gradients, float32 and float64,
over a hypothesis grid of shapes and options."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import fastkeras as fk
from fastkeras import ops

TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def tf_conv(tf, x, k, strides, padding, dil, groups, data_format):
    """Reference: per-group tf.nn.convolution (causal = left padding + valid)."""
    if data_format == "channels_first":
        x = tf.experimental.numpy.moveaxis(x, 1, -1)
    if padding == "causal":
        pad = (k.shape[0] - 1) * dil[0]
        x = tf.pad(x, [[0, 0], [pad, 0], [0, 0]])
        padding = "valid"
    if padding == "same" and len(k.shape) == 5 and x.dtype == tf.float64:
        # TensorFlow's float64 Conv3D (Eigen) places "SAME" padding differently from its
        # float32 path and from its documented rule when a kernel dim is smaller than the
        # stride (in=3, k=1, s=3 reads x[1], float32 reads x[0]); pad explicitly by the rule.
        pads = [[0, 0]]
        for i in range(3):
            size, kk, s, d = x.shape[1 + i], k.shape[i], strides[i], dil[i]
            out = -(-size // s)
            total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
            pads.append([total // 2, total - total // 2])
        x = tf.pad(x, pads + [[0, 0]])
        padding = "valid"
    xs = tf.split(x, groups, axis=-1)
    ks = tf.split(k, groups, axis=-1)
    tfmt = {3: "NWC", 4: "NHWC", 5: "NDHWC"}[len(k.shape)]  # explicit: eager Conv3D grad needs it
    ys = [tf.nn.convolution(a, b, strides=list(strides), padding=padding.upper(),
                            dilations=list(dil), data_format=tfmt) for a, b in zip(xs, ks)]
    y = tf.concat(ys, axis=-1)
    if data_format == "channels_first":
        y = tf.experimental.numpy.moveaxis(y, -1, 1)
    return y


def numpy_conv(x, k, strides, padding, dil, groups, data_format):
    """Direct float64 convolution by its definition (the exact reference where TensorFlow's
    own kernel is wrong: its Conv3D returns zeros for some strided shapes, e.g. k=(1, 1, 2),
    strides=(1, 1, 2), input (1, 2, 3))."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    nd = k.ndim - 2
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    pads = []
    for i in range(nd):
        size, kk, s, d = x.shape[1 + i], k.shape[i], strides[i], dil[i]
        eff = (kk - 1) * d + 1
        if padding == "same":
            out = -(-size // s)
            total = max((out - 1) * s + eff - size, 0)
            pads.append((total // 2, total - total // 2))
        elif padding == "causal":
            pads.append((eff - 1, 0))
        else:
            pads.append((0, 0))
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    outs = [(xp.shape[1 + i] - ((k.shape[i] - 1) * dil[i] + 1)) // strides[i] + 1
            for i in range(nd)]
    cin_g, cout = k.shape[-2], k.shape[-1]
    cout_g = cout // groups
    y = np.zeros((x.shape[0],) + tuple(outs) + (cout,))
    for pos in np.ndindex(*k.shape[:nd]):
        sl = tuple(slice(p * d, p * d + (o - 1) * s + 1, s)
                   for p, d, o, s in zip(pos, dil, outs, strides))
        patch = xp[(slice(None),) + sl]
        for g in range(groups):
            y[..., g * cout_g:(g + 1) * cout_g] += \
                patch[..., g * cin_g:(g + 1) * cin_g] @ k[pos][:, g * cout_g:(g + 1) * cout_g]
    if data_format == "channels_first":
        y = np.moveaxis(y, -1, 1)
    return y


@st.composite
def conv_cases(draw):
    nd = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin_g = draw(st.integers(1, 3))
    cout_g = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilate = draw(st.booleans())
    strides = tuple(1 for _ in range(nd)) if dilate else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilate else (1,) * nd
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] if nd == 1 else [])))
    size_max = {1: 12, 2: 8, 3: 5}[nd]
    spatial = tuple(draw(st.integers((k[i] - 1) * dil[i] + 1, size_max + (k[i] - 1) * dil[i]))
                    for i in range(nd))
    batch = draw(st.integers(1, 3))
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    use_bias = draw(st.booleans())
    return nd, groups, cin_g, cout_g, k, strides, dil, padding, spatial, batch, fmt, dtype, use_bias


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conv_cases(), seed=st.integers(0, 2**31 - 1))
# TensorFlow 2.21's Conv3D returns zeros for half of this output (found by hypothesis)
@example(case=(3, 1, 1, 1, (1, 1, 2), (1, 1, 2), (1, 1, 1), "valid", (1, 2, 3), 2,
               "channels_last", np.float32, False), seed=0)
def test_conv_matches_tensorflow(tf, case, seed):
    """Outputs equal the direct definition; outputs and gradients equal TensorFlow's
    wherever TensorFlow's own output is right."""
    nd, groups, cin_g, cout_g, k, strides, dil, padding, spatial, batch, fmt, dtype, use_bias = case
    rng = np.random.default_rng(seed)
    cin, cout = cin_g * groups, cout_g * groups
    xshape = (batch,) + spatial + (cin,) if fmt == "channels_last" else (batch, cin) + spatial
    x = rng.normal(size=xshape).astype(dtype)
    w = rng.normal(size=k + (cin_g, cout)).astype(dtype)
    b = rng.normal(size=cout).astype(dtype)
    tx, tw, tb = tf.Variable(x), tf.Variable(w), tf.Variable(b)
    with tf.GradientTape() as tape:
        ref = tf_conv(tf, tx, tw, strides, padding, dil, groups, fmt)
        if use_bias:
            ref = ref + (tb if fmt == "channels_last" else tf.reshape(tb, (-1,) + (1,) * nd))
        r = rng.normal(size=ref.shape).astype(dtype)
        ref_loss = tf.reduce_sum(ref * r)
    ref_g = tape.gradient(ref_loss, [tx, tw, tb])
    fx, fw, fb = fk.Variable(x), fk.Variable(w), fk.Variable(b)
    with fk.GradientTape() as tape:
        if use_bias and fmt == "channels_last":
            out = ops.conv(fx, fw, strides, padding, fmt, dil, bias=fb)
        else:
            out = ops.conv(fx, fw, strides, padding, fmt, dil)
            if use_bias:
                out = out + ops.reshape(fb, (-1,) + (1,) * nd)
        loss = ops.sum(out * r)
    g = tape.gradient(loss, [fx, fw, fb])
    assert out.shape == tuple(ref.shape) and out.dtype == dtype
    exact = numpy_conv(x, w, strides, padding, dil, groups, fmt)
    if use_bias:
        exact = exact + (b if fmt == "channels_last" else b.reshape((-1,) + (1,) * nd))
    np.testing.assert_allclose(out.numpy(), exact, **TOL[dtype])
    if not np.allclose(ref.numpy(), exact, **TOL[dtype]):
        return  # TensorFlow's kernel is wrong for this shape (gradients: test_conv_gradcheck)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    for got, want in zip(g, ref_g):
        if want is None:
            continue
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_matches_tensorflow(tf, rng, dtype, multiplier):
    x = rng.normal(size=(2, 9, 9, 4)).astype(dtype)
    w = rng.normal(size=(3, 3, 4, multiplier)).astype(dtype)
    tx, tw = tf.Variable(x), tf.Variable(w)
    with tf.GradientTape() as tape:
        ref = tf.nn.depthwise_conv2d(tx, tw, [1, 2, 2, 1], "SAME")
        ref_loss = tf.reduce_sum(ref * ref)
    ref_g = tape.gradient(ref_loss, [tx, tw])
    fx, fw = fk.Variable(x), fk.Variable(w)
    with fk.GradientTape() as tape:
        out = ops.depthwise_conv(fx, fw, 2, "same")
        loss = ops.sum(out * out)
    g = tape.gradient(loss, [fx, fw])
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    for got, want in zip(g, ref_g):
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL[dtype])


@st.composite
def pool_cases(draw):
    nd = draw(st.sampled_from([1, 2, 3]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = draw(st.sampled_from(["valid", "same"]))
    size_max = {1: 12, 2: 8, 3: 5}[nd]
    spatial = tuple(draw(st.integers(k[i], size_max)) for i in range(nd))
    batch = draw(st.integers(1, 3))
    c = draw(st.integers(1, 5))
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    kind = draw(st.sampled_from(["max", "avg"]))
    ties = draw(st.booleans())
    return nd, k, strides, padding, spatial, batch, c, fmt, dtype, kind, ties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pool_cases(), seed=st.integers(0, 2**31 - 1))
def test_pool_matches_tensorflow(tf, case, seed):
    nd, k, strides, padding, spatial, batch, c, fmt, dtype, kind, ties = case
    rng = np.random.default_rng(seed)
    shape = (batch,) + spatial + (c,) if fmt == "channels_last" else (batch, c) + spatial
    # ties: small integers, so windows often hold several equal maxima; otherwise values
    # at least 0.05 apart (random normals can fall within 1e-5 of each other, where
    # TensorFlow's oneDNN max-pool gradient on bf16-capable CPUs picks the smaller one)
    if ties:
        x = rng.integers(0, 3, size=shape).astype(dtype)
    else:
        x = ((rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2) * 0.05
             ).astype(dtype)
    tfmt = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[nd]
    tol = TOL[dtype]
    xt = np.moveaxis(x, 1, -1) if fmt == "channels_first" else x
    if nd == 3 and dtype == np.float64:  # TensorFlow's 3-D pooling has no float64 kernel
        xt, tol = xt.astype(np.float32), TOL[np.float32]
    tx = tf.Variable(xt)
    with tf.GradientTape() as tape:
        fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
        ref = fn(tx, list(k), list(strides), padding.upper(), data_format=tfmt)
        r = rng.normal(size=ref.shape).astype(xt.dtype)
        ref_loss = tf.reduce_sum(ref * r)
    ref_g = tape.gradient(ref_loss, tx).numpy()
    ref_v = ref.numpy()
    if fmt == "channels_first":
        ref_v, ref_g, r = (np.moveaxis(a, -1, 1) for a in (ref_v, ref_g, r))
    fx = fk.Variable(x)
    with fk.GradientTape() as tape:
        fn = ops.max_pool if kind == "max" else ops.average_pool
        out = fn(fx, k, strides, padding, fmt)
        loss = ops.sum(out * r)
    g = tape.gradient(loss, fx).numpy()
    np.testing.assert_allclose(out.numpy(), ref_v, **tol)
    np.testing.assert_allclose(g, ref_g, **tol)


def test_causal_conv1d_matches_keras_layer(tf, rng):
    x = rng.normal(size=(3, 10, 4)).astype(np.float32)
    layer = tf.keras.layers.Conv1D(5, 3, padding="causal", dilation_rate=2)
    ref = layer(x).numpy()
    w, b = (v.numpy() for v in layer.weights)
    out = ops.conv(x, w, 1, "causal", dilation_rate=2, bias=b).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_global_pooling_matches_keras_layers(tf, rng, dtype, nd, fmt, kind):
    spatial = (5, 4, 3)[:nd]
    shape = (2,) + spatial + (3,) if fmt == "channels_last" else (2, 3) + spatial
    x = rng.integers(0, 3, size=shape).astype(dtype)  # ties in the max
    cls = {("avg", 1): "GlobalAveragePooling1D", ("avg", 2): "GlobalAveragePooling2D",
           ("avg", 3): "GlobalAveragePooling3D", ("max", 1): "GlobalMaxPooling1D",
           ("max", 2): "GlobalMaxPooling2D", ("max", 3): "GlobalMaxPooling3D"}[(kind, nd)]
    layer = getattr(tf.keras.layers, cls)(data_format=fmt, dtype=dtype.__name__)
    tx = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = layer(tx)
        r = rng.normal(size=ref.shape).astype(dtype)
        ref_loss = tf.reduce_sum(ref * r)
    ref_g = tape.gradient(ref_loss, tx).numpy()
    fx = fk.Variable(x)
    fn = ops.global_average_pool if kind == "avg" else ops.global_max_pool
    with fk.GradientTape() as tape:
        out = fn(fx, fmt, spatial_dims=nd)
        loss = ops.sum(out * r)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(tape.gradient(loss, fx).numpy(), ref_g, **TOL[dtype])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pool_windows_over_256_elements(tf, rng, padding):
    """Windows too large for the byte-sized argmax recompute the first maximum from x and y."""
    x = rng.integers(0, 3, size=(2, 20, 19, 3)).astype(np.float32)
    tx = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.nn.max_pool2d(tx, 17, 2, padding.upper())
        r = rng.normal(size=ref.shape).astype(np.float32)
        loss = tf.reduce_sum(ref * r)
    ref_g = tape.gradient(loss, tx).numpy()
    fx = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = ops.max_pool(fx, 17, 2, padding)
        floss = ops.sum(out * r)
    np.testing.assert_allclose(out.numpy(), ref.numpy())
    np.testing.assert_allclose(tape.gradient(floss, fx).numpy(), ref_g, rtol=1e-6, atol=1e-6)
