"""Parity with tf.keras (tensorflow-cpu) on random inputs: values and gradients.

float32 at rtol 1e-5, float64 at rtol 1e-10, as the foundation issue requires.
"""
import numpy as np
import pytest

import fastkeras as fk

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def _probs(rng, shape, dtype):
    z = rng.normal(size=shape)
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(dtype)


def _inputs(rng, from_logits, shape, dtype):
    if from_logits:
        return (rng.normal(size=shape) * 3).astype(dtype)
    return _probs(rng, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape", [(64, 10), (7, 1000), (3, 5, 17), (5,)])
def test_sparse_function_values_and_grads(tf, rng, dtype, from_logits, shape):
    x = _inputs(rng, from_logits, shape, dtype)
    y = rng.integers(0, shape[-1], size=shape[:-1])
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.sparse_categorical_crossentropy(tf.constant(y), ref_v,
                                                              from_logits=from_logits)
    ref_g = tape.gradient(ref, ref_v).numpy()
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = fk.losses.sparse_categorical_crossentropy(y, v, from_logits=from_logits)
    g = tape.gradient(out, v).numpy()
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(g, ref_g, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("soft_targets", [False, True])
def test_dense_function_values_and_grads(tf, rng, dtype, from_logits, label_smoothing,
                                         soft_targets):
    shape = (33, 12)
    x = _inputs(rng, from_logits, shape, dtype)
    if soft_targets:
        t = _probs(rng, shape, dtype)
    else:
        t = np.eye(shape[1], dtype=dtype)[rng.integers(0, shape[1], size=shape[0])]
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.categorical_crossentropy(
            tf.constant(t), ref_v, from_logits=from_logits, label_smoothing=label_smoothing)
    ref_g = tape.gradient(ref, ref_v).numpy()
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = fk.losses.categorical_crossentropy(t, v, from_logits=from_logits,
                                                 label_smoothing=label_smoothing)
    g = tape.gradient(out, v).numpy()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(g, ref_g, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_axis_1(tf, rng, dtype):
    x = rng.normal(size=(4, 6, 5)).astype(dtype)
    t = _probs(rng, (4, 5, 6), dtype).transpose(0, 2, 1).copy()
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.categorical_crossentropy(tf.constant(t), ref_v, from_logits=True,
                                                       axis=1)
    ref_g = tape.gradient(ref, ref_v).numpy()
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = fk.losses.categorical_crossentropy(t, v, from_logits=True, axis=1)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(tape.gradient(out, v).numpy(), ref_g, **TOL[dtype])


def _weights(rng, kind, n):
    if kind is None:
        return None
    if kind == "vector":
        return rng.uniform(0.0, 2.0, size=n)
    if kind == "column":
        return rng.uniform(0.0, 2.0, size=(n, 1))
    return 0.5  # scalar


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean",
                                       "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weights", [None, "vector", "column", "scalar"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_class_reductions_and_weights(tf, rng, dtype, reduction, weights, from_logits):
    n, c = 50, 9
    x = _inputs(rng, from_logits, (n, c), dtype)
    y = rng.integers(0, c, size=n)
    sw = _weights(rng, weights, n)
    name = dtype.__name__
    ref_loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                             reduction=reduction, dtype=name)
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = ref_loss(tf.constant(y), ref_v, sample_weight=None if sw is None else tf.constant(sw))
    ref_g = tape.gradient(ref, ref_v).numpy()
    loss = fk.losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=reduction,
                                                   dtype=name)
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = loss(y, v, sample_weight=sw)
    g = tape.gradient(out, v).numpy()
    assert out.shape == tuple(ref.shape)
    assert out.dtype == np.dtype(name)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(g, ref_g, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_categorical_class(tf, rng, dtype, reduction, label_smoothing):
    n, c = 40, 7
    x = rng.normal(size=(n, c)).astype(dtype)
    t = np.eye(c, dtype=dtype)[rng.integers(0, c, size=n)]
    sw = rng.uniform(size=n)
    name = dtype.__name__
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=label_smoothing, reduction=reduction, dtype=name
        )(tf.constant(t), ref_v, sample_weight=tf.constant(sw))
    ref_g = tape.gradient(ref, ref_v).numpy()
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = fk.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=label_smoothing, reduction=reduction, dtype=name
        )(t, v, sample_weight=sw)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(tape.gradient(out, v).numpy(), ref_g, **TOL[dtype])


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_ignore_class(tf, rng, reduction):
    n, c = 30, 6
    x = rng.normal(size=(n, c)).astype(np.float64)
    y = rng.integers(0, c, size=n)
    y[::4] = -1
    ref_v = tf.Variable(x)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=-1, reduction=reduction, dtype="float64")(
            tf.constant(y), ref_v)
    ref_g = tape.gradient(ref, ref_v).numpy()
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        out = fk.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=-1, reduction=reduction, dtype="float64")(y, v)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(tape.gradient(out, v).numpy(), ref_g, **TOL[np.float64])


def test_default_loss_dtype_is_floatx_like_keras(tf, rng):
    x = rng.normal(size=(8, 4))  # float64 input, float32 loss (Keras 3 casts to floatx)
    y = rng.integers(0, 4, size=8)
    out = fk.losses.SparseCategoricalCrossentropy(from_logits=True)(y, x)
    ref = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(tf.constant(y),
                                                                           tf.constant(x))
    assert out.dtype == np.float32 and ref.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_through_a_chain(tf, rng, dtype):
    """Loss of (w * x + b): the fused op composes with other taped ops."""
    x = rng.normal(size=(16, 5)).astype(dtype)
    w0 = rng.normal(size=(5,)).astype(dtype)
    y = rng.integers(0, 5, size=16)
    tw = tf.Variable(w0)
    with tf.GradientTape() as tape:
        ref = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype.__name__)(
            tf.constant(y), tf.constant(x) * tw + 1.0)
    ref_g = tape.gradient(ref, tw).numpy()
    fw = fk.Variable(w0)
    with fk.GradientTape() as tape:
        out = fk.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype.__name__)(
            y, x * fw + 1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL[dtype])
    np.testing.assert_allclose(tape.gradient(out, fw).numpy(), ref_g, **TOL[dtype])
