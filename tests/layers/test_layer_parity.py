"""Every layer against tf.keras (Keras 3) with the same weights copied in: outputs,
and gradients with respect to the inputs and every trainable weight, for a random
upstream gradient. float32 at rtol 1e-5, float64 at 1e-10."""
import numpy as np
import pytest

import fastkeras as fk
from _layer_cases import CASES

TOL = {"float32": (1e-5, 1e-5), "float64": (1e-10, 1e-10)}

# float64 cases where TensorFlow itself is less precise than float64: its fused Gelu kernel
# (~5e-8 relative error) and tf.image.resize (computes bilinear resizing in float32)
F64_LOOSE = {"dense_gelu": 1e-7, "upsample2d_bilinear": 1e-6}
# TensorFlow has no float64 kernel for these on the CPU: the reference runs in float32
TF_NO_F64 = {"maxpool3d", "avgpool3d", "conv2d_channels_first"}


def _inputs(rng, shape, dtype):
    if isinstance(shape, list):
        return [rng.normal(size=s).astype(dtype) for s in shape]
    return rng.normal(size=shape).astype(dtype)


def _randomise_weights(tf_layer, rng):
    # non-trivial values everywhere (biases, BN statistics...) so every path is exercised
    new = []
    for w in tf_layer.get_weights():
        v = rng.normal(size=w.shape) * 0.5
        if "variance" in getattr(w, "name", ""):
            v = np.abs(v) + 0.5
        new.append(v.astype(w.dtype))
    names = [v.name for v in tf_layer.weights]
    for i, n in enumerate(names):
        if "variance" in n:
            new[i] = np.abs(new[i]) + 0.5
    tf_layer.set_weights(new)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras(tf, rng, case, dtype):
    import keras

    name, cls, kwargs, shape, training = case
    x = _inputs(rng, shape, dtype)
    ref_dtype = "float32" if dtype == "float64" and name in TF_NO_F64 else dtype
    ref_layer = getattr(keras.layers, cls)(dtype=ref_dtype, **kwargs)
    our_layer = getattr(fk.layers, cls)(dtype=dtype, **kwargs)
    ref_layer(x) if not isinstance(x, list) else ref_layer([tf.constant(v) for v in x])
    _randomise_weights(ref_layer, rng)
    our_layer(x)
    our_layer.set_weights(ref_layer.get_weights())

    xs = x if isinstance(x, list) else [x]
    tx = [tf.Variable(v.astype(ref_dtype)) for v in xs]
    with tf.GradientTape() as tape:
        y_ref = ref_layer(tx if isinstance(x, list) else tx[0], training=training)
        g = rng.normal(size=tuple(y_ref.shape)).astype(dtype)
        loss = tf.reduce_sum(y_ref * g)
    ref_grads = tape.gradient(loss, tx + list(ref_layer.trainable_weights))

    fx = [fk.Variable(v) for v in xs]
    with fk.GradientTape() as ftape:
        y = our_layer(fx if isinstance(x, list) else fx[0], training=training)
        floss = fk.ops.sum(fk.ops.multiply(y, g))
    our_grads = ftape.gradient(floss, fx + list(our_layer.trainable_weights))

    rtol, atol = TOL[ref_dtype]
    if dtype == "float64" and name in F64_LOOSE:
        rtol = atol = F64_LOOSE[name]
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), np.asarray(y_ref), rtol=rtol, atol=atol)
    assert len(our_grads) == len(ref_grads)
    for k, (a, b) in enumerate(zip(our_grads, ref_grads)):
        if b is None:
            assert a is None or np.allclose(a.numpy(), 0)
            continue
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=rtol, atol=atol * 10,
                                   err_msg=f"gradient {k}")
    # the non-trainable state (BatchNormalization's moving statistics) moves alike
    for a, b in zip(our_layer.non_trainable_weights, ref_layer.non_trainable_weights):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=rtol, atol=atol)


def test_embedding_matches_keras(tf, rng):
    import keras

    ids = rng.integers(0, 7, size=(3, 4))
    ref, ours = keras.layers.Embedding(7, 5), fk.layers.Embedding(7, 5)
    ref(ids)
    ours(ids)
    ours.set_weights(ref.get_weights())
    g = rng.normal(size=(3, 4, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ref(ids) * g)
    gr = tape.gradient(loss, ref.trainable_weights)[0]
    with fk.GradientTape() as ftape:
        floss = fk.ops.sum(ours(ids) * g)
    go = ftape.gradient(floss, ours.trainable_weights)[0]
    np.testing.assert_allclose(go.numpy(), tf.convert_to_tensor(gr).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours(ids).numpy(), ref(ids).numpy())
